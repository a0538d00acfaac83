/** One lab node: its overlay upper (identity written before boot), its nspawn relaunch loop, its stop. */
import * as crypto from "crypto";
import { spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { cmdline, findProcesses, isAlive, run, signal, waitFor } from "./exec";
import { cgroupDirs, cgroupPids, containerInit, joinCgroupsSh, makeCgroups, removeCgroup } from "./cgroup";
import { LAB_DOMAIN } from "./stack-config";
import { nodeAddress, nodeDir, NODES_DIR } from "./state";

const SIGRTMIN_4 = 38; // glibc SIGRTMIN (34) + 4: systemd's "poweroff now"
const LAUNCHER = "rplan-lab-launcher";

/** The node's own names only: every other name a node looks up comes from the zone the nodes serve. */
export function hostsFile(self: number): string {
  return ["127.0.0.1\tlocalhost", "::1\tlocalhost ip6-localhost ip6-loopback", `${nodeAddress(self)}\tlab${self}.${LAB_DOMAIN} lab${self}`, ""].join("\n");
}

/**
 * The lab's resolvers: the nodes' own knot servers (the cluster's zone, components/dns.ts), so names
 * of the cluster resolve through the served zone, not host files. No recursion: the lab reaches
 * nothing else. glibc asks the first three.
 */
export function resolvConf(indexes: number[]): string {
  return ["# the lab: the cluster's zone as its nodes serve it (lab/node.ts)", ...indexes.slice(0, 3).map((i) => `nameserver ${nodeAddress(i)}`), "options timeout:1 attempts:2", ""].join("\n");
}

function mkdirs(root: string, dirs: [string, number][]): void {
  for (const [d, mode] of dirs) {
    fs.mkdirSync(path.join(root, d), { recursive: true });
    fs.chmodSync(path.join(root, d), mode); // the upper dir's mode wins over the image's in the overlay
  }
}

/** Fresh upper layer with the node's identity; returns its public host keys ("type base64"). */
export async function prepareNode(name: string, files: { hosts: string; resolvConf: string }, authorizedKey: string): Promise<string[]> {
  const dir = nodeDir(name);
  fs.rmSync(dir, { recursive: true, force: true });
  const up = path.join(dir, "upper");
  mkdirs(up, [["etc/ssh", 0o755], ["root/.ssh", 0o700], ["srv", 0o755]]);
  fs.chmodSync(path.join(up, "etc"), 0o755);
  fs.chmodSync(path.join(up, "root"), 0o700);
  fs.writeFileSync(path.join(up, "etc/hostname"), `${name}\n`);
  fs.writeFileSync(path.join(up, "etc/machine-id"), crypto.randomBytes(16).toString("hex") + "\n", { mode: 0o444 });
  fs.writeFileSync(path.join(up, "etc/hosts"), files.hosts);
  fs.writeFileSync(path.join(up, "etc/resolv.conf"), files.resolvConf);
  fs.writeFileSync(path.join(up, "root/.ssh/authorized_keys"), authorizedKey, { mode: 0o600 });
  const keys: string[] = [];
  for (const type of ["ed25519", "ecdsa"]) {
    const f = path.join(up, `etc/ssh/ssh_host_${type}_key`);
    await run("ssh-keygen", ["-q", "-t", type, "-N", "", "-C", "", "-f", f]);
    keys.push(fs.readFileSync(`${f}.pub`, "utf8").trim().split(/\s+/).slice(0, 2).join(" "));
  }
  return keys;
}

export function nspawnArgs(name: string, image: string, netns: string): string[] {
  return [
    ...["systemd-nspawn", "-q", "-D", image, `--overlay=${image}:${path.join(nodeDir(name), "upper")}:/`, "--boot"],
    // --resolv-conf=off: the node's own /etc/resolv.conf (the nodes' name servers, see resolvConf), not
    // the host's resolver, which nspawn would otherwise copy in.
    ...["--register=no", "--keep-unit", `--machine=${name}`, `--hostname=${name}`, "--link-journal=no", "--resolv-conf=off"],
    ...["--capability=CAP_NET_ADMIN", "--bind=/dev/fuse", `--network-namespace-path=/run/netns/${netns}`, "--console=read-only"],
  ];
}

/**
 * Starts the node's relaunch loop detached (the lab outlives the CLI that started it). The loop joins
 * the node's cgroups, relaunches on exit 133 (a reboot inside the container), and stops when the
 * `stop` file exists. Returns the loop's PID; the current nspawn PID is in `<node dir>/nspawn.pid`.
 */
export function launchNode(name: string, image: string, netns: string): number {
  const dir = nodeDir(name);
  fs.rmSync(path.join(dir, "stop"), { force: true });
  fs.rmSync(path.join(dir, "nspawn.pid"), { force: true });
  makeCgroups(cgroupDirs(name));
  const loop = `set -u; dir=$1; shift; ${joinCgroupsSh(cgroupDirs(name))} || exit 1
while [ ! -e "$dir/stop" ]; do
  "$@" </dev/null &
  echo $! > "$dir/nspawn.pid"
  wait $!; rc=$?
  [ "$rc" = 133 ] || break
done`;
  const logFd = fs.openSync(path.join(dir, "console.log"), "a"); // the loop's own errors and the container's console
  const child = spawn("sh", ["-c", loop, LAUNCHER, dir, ...nspawnArgs(name, image, netns)], { detached: true, stdio: ["ignore", logFd, logFd] });
  fs.closeSync(logFd);
  child.unref();
  if (!child.pid) throw new Error(`${name}: could not start its launcher`);
  return child.pid;
}

export function currentNspawnPid(name: string): number | undefined {
  try {
    const pid = Number(fs.readFileSync(path.join(nodeDir(name), "nspawn.pid"), "utf8"));
    return isNspawnOf(pid, name) ? pid : undefined;
  } catch {
    return undefined;
  }
}

const nspawnArgv = (argv: string[], name: string) =>
  path.basename(argv[0] ?? "") === "systemd-nspawn" && argv.includes(`--machine=${name}`) && argv.some((a) => a.includes(NODES_DIR));
const launcherArgv = (argv: string[], name: string) => argv.includes(LAUNCHER) && argv.includes(`--machine=${name}`);
const isNspawnOf = (pid: number, name: string) => nspawnArgv(cmdline(pid), name);
const isLauncherOf = (pid: number, name: string) => launcherArgv(cmdline(pid), name);
const findNspawns = (name: string) => findProcesses((argv) => nspawnArgv(argv, name));
const findLaunchers = (name: string) => findProcesses((argv) => launcherArgv(argv, name));

/** Machine names of every nspawn/launcher of ours still running (cleanup without state.json). */
export function strayMachines(): string[] {
  const names = findProcesses((argv) => argv.some((a) => a.includes(NODES_DIR)) && argv.some((a) => a.startsWith("--machine=")));
  return [...new Set(names.map((pid) => cmdline(pid).find((a) => a.startsWith("--machine="))!.slice(10)))];
}

export function nodeRunning(name: string, launcherPid: number): boolean {
  return isAlive(launcherPid) && isLauncherOf(launcherPid, name) && currentNspawnPid(name) !== undefined;
}

/**
 * Stops a node whatever state it is in. Normally: SIGTERM to nspawn (clean shutdown); its launcher,
 * seeing the stop file, reaps it and exits (an orphaned nspawn would linger as a zombie here, where
 * PID 1 reaps late). If nspawn was SIGKILLed earlier its container still runs: poweroff its init
 * (SIGRTMIN+4). Whatever still remains in the node's cgroups gets SIGKILL.
 */
export async function stopNode(name: string, pids: number[] = []): Promise<void> {
  const dir = nodeDir(name);
  if (fs.existsSync(dir)) fs.writeFileSync(path.join(dir, "stop"), "");
  const cgs = cgroupDirs(name);
  const inCgroup = () => cgs.flatMap(cgroupPids).filter(isAlive);
  const launchers = [...pids.filter((p) => isLauncherOf(p, name)), ...findLaunchers(name)];
  const nspawns = [...pids.filter((p) => isNspawnOf(p, name)), ...findNspawns(name)];
  nspawns.forEach((p) => signal(p, "SIGTERM"));
  if (nspawns.length) await waitFor(() => ![...nspawns, ...launchers].some(isAlive) && inCgroup().length === 0, 20_000);
  const init = containerInit(cgs);
  if (init && isAlive(init)) {
    signal(init, SIGRTMIN_4);
    await waitFor(() => inCgroup().length === 0, 15_000);
  }
  const rest = [...inCgroup(), ...nspawns.filter(isAlive), ...launchers.filter(isAlive)];
  if (rest.length) {
    rest.forEach((p) => signal(p, "SIGKILL"));
    if (!(await waitFor(() => inCgroup().length === 0, 5_000))) throw new Error(`${name}: processes survive in ${cgs.join(", ")}`);
  }
  cgs.forEach(removeCgroup);
}

/** Kernel tail of the node's console, to explain a node that never came up. */
export function consoleTail(name: string, lines = 20): string {
  try {
    return fs.readFileSync(path.join(nodeDir(name), "console.log"), "utf8").split("\n").slice(-lines).join("\n");
  } catch {
    return "(no console output)";
  }
}
