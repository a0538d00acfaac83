/**
 * The lab end to end: refuse on a clashing route, up, SSH with pinned keys, reuse, add a node, down
 * leaves the host network byte-identical, and down after the nspawns were SIGKILLed. Needs root; it
 * tears down any lab first and leaves the lab DOWN (other suites use ensureLab()).
 */
import * as fs from "fs";
import { CGROUP_ROOTS, cgroupPids } from "../../lab/cgroup";
import { findProcesses, isAlive, run, waitFor } from "../../lab/exec";
import { labDown, labStackConfigPath, labUp, lockNode, readLabState, unlockNode } from "../../lab";
import { takeSnapshot, NetSnapshot } from "../../lab/network-safety";
import { KNOWN_HOSTS, SECRETS_DIR, STACK_STATE, STATE_FILE } from "../../lab/state";
import { readClusterConfig } from "../../stack-file/config";
import { closeAllSsh } from "../../transports/ssh";
import { knownHostsFile, openssh } from "./openssh";

const root = process.getuid?.() === 0;
const labTest = root ? describe : describe.skip;
const BUILD = 20 * 60_000; // a cold image build (debootstrap + packages) is part of the first up

const nspawnsAlive = () => findProcesses((argv) => (argv[0] ?? "").endsWith("systemd-nspawn"));
const labNetns = async () => (await run("ip", ["netns", "list"])).stdout.split("\n").filter((l) => l.startsWith("rplab-"));
const labCgroups = () => CGROUP_ROOTS.flatMap((r) => fs.readdirSync(r).filter((d) => d.startsWith("rplab-")));
const defaults = async () => (await run("ip", ["route"])).stdout.split("\n").filter((l) => l.startsWith("default")).join("\n") + (await run("ip", ["-6", "route"])).stdout.split("\n").filter((l) => l.startsWith("default")).join("\n");

/** Known hosts from the generated stack config: what the stack itself will pin. */
function stackKnownHosts(): { file: string; nodes: { name: string; host: string }[] } {
  const config = readClusterConfig({ stack: "lab", configFile: labStackConfigPath() });
  return { file: knownHostsFile(config.nodes.map((n) => n.ssh)), nodes: config.nodes.map((n) => ({ name: n.name, host: n.ssh.host })) };
}

labTest("lab lifecycle", () => {
  let before: NetSnapshot;
  let defaultsBefore: string;

  beforeAll(async () => {
    await labDown();
    before = await takeSnapshot();
    defaultsBefore = await defaults();
  }, 120_000);
  afterAll(async () => {
    await closeAllSsh();
    await labDown();
  }, 120_000);

  test("refuses, creating nothing, when a host route overlaps the lab network", async () => {
    // A blackhole inside the lab's own /24: harmless to the host, but it must stop the lab.
    await run("ip", ["route", "add", "blackhole", "198.51.100.128/25"]);
    try {
      await expect(labUp({ nodes: 1 })).rejects.toThrow(/lab network 198\.51\.100\.0\/24 overlaps host route 198\.51\.100\.128\/25/);
    } finally {
      await run("ip", ["route", "del", "blackhole", "198.51.100.128/25"]);
    }
    expect(await labNetns()).toEqual([]);
    expect(await takeSnapshot()).toEqual(before);
  });

  test("up: every node answers real OpenSSH with its pinned host key", async () => {
    await labUp({ nodes: 3 });
    const { file, nodes } = stackKnownHosts();
    expect(nodes.map((n) => n.name)).toEqual(["lab1", "lab2", "lab3"]);
    const seen = [];
    for (const n of nodes) {
      const r = await openssh(n.host, file, "hostname; cat /etc/machine-id; findmnt -n -o FSTYPE --mountpoint /srv/crypt; cat /proc/sys/net/unix/max_dgram_qlen");
      expect(r.stderr).toBe("");
      seen.push(r.stdout.trim().split("\n"));
    }
    expect(seen.map((s) => s[0])).toEqual(["lab1", "lab2", "lab3"]);
    expect(new Set(seen.map((s) => s[1])).size).toBe(3);
    expect(seen.map((s) => s[2])).toEqual(["fuse.gocryptfs", "fuse.gocryptfs", "fuse.gocryptfs"]);
    // As systemd sets on a real server: with a fresh namespace's 10, journald's forward to rsyslog dropped log lines (lab/net.ts).
    expect(seen.map((s) => s[3])).toEqual(["512", "512", "512"]);
  }, BUILD);

  test("a host key that is not pinned is refused", async () => {
    const s = readLabState()!;
    const wrong = knownHostsFile([{ host: s.nodes[0].address, hostKeys: s.nodes[1].hostKeys }]);
    const r = await openssh(s.nodes[0].address, wrong, "true");
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/Host key verification failed/);
  });

  test("nodes reach each other over 198.51.100.0/24; the host got no default route", async () => {
    const { file } = stackKnownHosts();
    for (const [from, to] of [["198.51.100.11", "198.51.100.13"], ["198.51.100.13", "198.51.100.12"]]) {
      const r = await openssh(from, file, `ping -c1 -W2 ${to}`);
      expect(r.code).toBe(0);
    }
    expect(await defaults()).toBe(defaultsBefore);
    const added = (await run("ip", ["route"])).stdout.split("\n").filter((l) => !before.route.includes(l));
    expect(added).toEqual(["198.51.100.0/24 dev rplab0 proto kernel scope link src 198.51.100.1 "]);
  });

  test("passphrases stay in the secrets dir; lock and unlock work", async () => {
    const config = fs.readFileSync(labStackConfigPath(), "utf8") + fs.readFileSync(STATE_FILE, "utf8");
    for (const f of fs.readdirSync(SECRETS_DIR)) {
      expect(fs.statSync(`${SECRETS_DIR}/${f}`).mode & 0o777).toBe(0o600);
      expect(config).not.toContain(fs.readFileSync(`${SECRETS_DIR}/${f}`, "utf8").trim());
    }
    const probe = () => openssh("198.51.100.12", KNOWN_HOSTS, "findmnt -n -o FSTYPE --mountpoint /srv/crypt");
    await lockNode("lab2");
    expect((await probe()).stdout.trim()).toBe("");
    await unlockNode("lab2");
    expect((await probe()).stdout.trim()).toBe("fuse.gocryptfs");
  });

  test("up again reuses the same lab", async () => {
    const first = readLabState()!;
    const again = await labUp({ nodes: 3 });
    expect(again.nodes.map((n) => [n.launcherPid, n.nspawnPid, n.hostKeys])).toEqual(first.nodes.map((n) => [n.launcherPid, n.nspawnPid, n.hostKeys]));
    expect(again.nodes.every((n) => isAlive(n.nspawnPid))).toBe(true);
  });

  test("adding a fourth node in a new country leaves the others running", async () => {
    const first = readLabState()!;
    const grown = await labUp({ nodes: 4 });
    expect(grown.nodes.slice(0, 3).map((n) => n.nspawnPid)).toEqual(first.nodes.map((n) => n.nspawnPid));
    const config = readClusterConfig({ stack: "lab", configFile: labStackConfigPath() });
    expect(config.nodes.map((n) => `${n.name}:${n.country}`)).toEqual(["lab1:NL", "lab2:DE", "lab3:SE", "lab4:IS"]);
    // by address: names come from the zone the stack's nodes serve (lab/node.ts), and no stack runs here
    const r = await openssh("198.51.100.11", stackKnownHosts().file, "ping -c1 -W2 198.51.100.14 >/dev/null && hostname");
    expect(r.stdout.trim()).toBe("lab1");
  });

  test("down restores ip route, ip -br a and ip netns byte for byte", async () => {
    await closeAllSsh();
    fs.writeFileSync(STACK_STATE, "{}"); // as a stack up on this lab would have left it
    await labDown();
    expect(await takeSnapshot()).toEqual(before);
    expect(nspawnsAlive()).toEqual([]);
    expect(labCgroups()).toEqual([]);
    expect(fs.existsSync(STATE_FILE)).toBe(false);
    expect(fs.existsSync(STACK_STATE)).toBe(false); // the next lab is new hosts: its stack starts empty
  }, 120_000);

  test("down after the nspawns were SIGKILLed stops the orphaned containers and cleans up", async () => {
    const state = await labUp({ nodes: 2 });
    await closeAllSsh();
    const inits = state.nodes.map((n) => Number(fs.readFileSync(`${n.cgroups[0]}/payload/init.scope/cgroup.procs`, "utf8").split("\n")[0]));
    for (const n of state.nodes) process.kill(n.nspawnPid, "SIGKILL");
    expect(await waitFor(() => nspawnsAlive().length === 0, 10_000)).toBe(true);
    expect(inits.every(isAlive)).toBe(true); // the hazard is real: the containers outlive nspawn
    await labDown();
    expect(inits.some(isAlive)).toBe(false);
    expect(state.nodes.flatMap((n) => n.cgroups).flatMap(cgroupPids).filter(isAlive)).toEqual([]);
    expect(await labNetns()).toEqual([]);
    expect(labCgroups()).toEqual([]);
    expect(await takeSnapshot()).toEqual(before);
  }, 120_000);
});
