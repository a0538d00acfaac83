/**
 * The lab: N Debian 12 servers (systemd-nspawn, one netns each) reachable over SSH at
 * 198.51.100.(10+i), described by a generated Pulumi.lab.yaml. See docs/ARCHITECTURE.md and LAB.md.
 */
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { isAlive, run, sleep, waitFor, writeFileAtomic } from "./exec";
import { cgroupDirs, strayCgroupNodes } from "./cgroup";
import { isUnlocked, lockNode, setupNodeCrypt, unlockNode } from "./crypt";
import { ensureHostTools, ensureImage } from "./image";
import { ensureBridge, ensureNodeNet, listLabNetns, removeLabLinks, removeNodeNet, vethName } from "./net";
import { assertNetworkSafe, diffSnapshots, takeSnapshot } from "./network-safety";
import { consoleTail, currentNspawnPid, hostsFile, launchNode, nodeRunning, prepareNode, resolvConf, stopNode, strayMachines } from "./node";
import { ensureLabPlacement, renderStackYaml } from "./stack-config";
import { sshConnection, SshTarget } from "../transports/ssh";
import { ensureLabKey, knownHostsLines, labSshTarget, sshBanner } from "./ssh";
import * as S from "./state";
import type { LabNode, LabState } from "./state";

export type { LabNode, LabState, SshTarget };
export { labSshTarget, lockNode, unlockNode };
export const readLabState = S.readLabState;
export const labStackConfigPath = () => S.STACK_CONFIG;

const log = (m: string) => process.stderr.write(`[lab] ${m}\n`);
const secs = (t: number) => `${((Date.now() - t) / 1000).toFixed(1)} s`;

/** Brings the lab up with at least `nodes` nodes; reuses a healthy lab and only adds missing nodes. */
export async function labUp(opts: { nodes?: number } = {}): Promise<LabState> {
  const want = opts.nodes ?? 3;
  if (!Number.isInteger(want) || want < 1 || want > S.MAX_NODES) throw new Error(`--nodes must be 1..${S.MAX_NODES}, got ${opts.nodes}`);
  return withLock(() => upUnlocked(want));
}

/** For tests: a running lab with at least `nodes` nodes (an unhealthy one is rebuilt from scratch). */
export const ensureLab = (opts: { nodes?: number } = {}) => labUp(opts);

export function labDown(): Promise<void> {
  return withLock(downUnlocked);
}

async function upUnlocked(want: number): Promise<LabState> {
  const t0 = Date.now();
  await ensureHostTools();
  await assertNetworkSafe(); // ignores the lab's own bridge/veths, so adding to a running lab passes
  let state = S.readLabState();
  if (state && !(await healthy(state))) {
    log("the lab left behind is not healthy: tearing it down first");
    await downUnlocked();
    state = undefined;
  }
  const fresh = !state;
  if (!state) {
    await downUnlocked(); // leftovers without state.json (crash during an earlier up)
    const image = await ensureImage(log);
    state = { version: 1, image, nodeCount: 0, network: await takeSnapshot(), nodes: [], ...(process.env.RPLAN_LAB_RUN ? { broughtUpBy: process.env.RPLAN_LAB_RUN } : {}) };
    S.writeLabState(state);
  }
  const have = state.nodes.length;
  if (want < have) log(`the lab has ${have} nodes; keeping them (down first to shrink)`);
  if (want > have) {
    await addNodes(state, want).catch((e: Error) => {
      throw new Error(`${e.message}\n(the lab is left as it is for a look; \`npm run lab -- down\` removes it)`);
    });
  }
  for (const n of state.nodes) n.nspawnPid = currentNspawnPid(n.name) ?? n.nspawnPid; // a reboot relaunches nspawn
  S.writeLabState(state);
  await Promise.all(state.nodes.map((n) => setupNodeCrypt(n.name))); // also unlocks mounts a reboot locked
  writeStackFiles(state, fresh);
  log(`${state.nodes.length} nodes up in ${secs(t0)}`);
  return state;
}

async function addNodes(state: LabState, want: number): Promise<void> {
  const t = Date.now();
  const pub = await ensureLabKey();
  const all = Array.from({ length: want }, (_, k) => k + 1);
  const added = all.slice(state.nodes.length);
  await ensureBridge();
  const nodes = await Promise.all(
    added.map(async (i): Promise<LabNode> => {
      const name = S.nodeName(i);
      fs.rmSync(S.secretFile(name), { force: true }); // its cipher dir is gone with the old upper
      const hostKeys = await prepareNode(name, { hosts: hostsFile(i), resolvConf: resolvConf(all) }, pub);
      const netns = S.netnsName(name);
      await ensureNodeNet(netns, name, S.nodeAddress(i));
      const launcherPid = launchNode(name, state.image, netns);
      return { name, index: i, address: S.nodeAddress(i), netns, veth: vethName(name), launcherPid, nspawnPid: 0, cgroups: cgroupDirs(name), hostKeys };
    }),
  );
  state.nodes.push(...nodes);
  state.nodeCount = state.nodes.length;
  S.writeLabState(state); // before waiting: a crash from here on is still cleaned up from state
  await Promise.all(nodes.map(waitForSshd));
  writeKnownHosts(state);
  // Existing nodes learn the new resolvers (the names themselves come from the zone); nothing else changes.
  const old = state.nodes.filter((n) => !nodes.includes(n));
  await Promise.all(old.map(async (n) => (await sshConnection(labSshTarget(n.name))).writeFile("/etc/resolv.conf", resolvConf(all))));
  log(`started ${nodes.map((n) => n.name).join(", ")} in ${secs(t)}`);
}

async function waitForSshd(n: LabNode): Promise<void> {
  const ok = await waitFor(async () => {
    if (!isAlive(n.launcherPid)) throw new Error(`${n.name} exited during boot:\n${consoleTail(n.name)}`);
    return sshBanner(n.address);
  }, 90_000, 150);
  if (!ok) throw new Error(`${n.name}: sshd did not answer on ${n.address}:22 within 90 s:\n${consoleTail(n.name)}`);
}

async function healthy(state: LabState): Promise<boolean> {
  const checks = await Promise.all(state.nodes.map(async (n) => nodeRunning(n.name, n.launcherPid) && (await sshBanner(n.address))));
  return state.nodes.length > 0 && checks.every(Boolean);
}

function writeKnownHosts(state: LabState): void {
  writeFileAtomic(S.KNOWN_HOSTS, state.nodes.map((n) => knownHostsLines(labSshTarget(n.name))).join(""), 0o644);
}

function writeStackFiles(state: LabState, freshLab: boolean): void {
  const previous = fs.existsSync(S.STACK_CONFIG) ? fs.readFileSync(S.STACK_CONFIG, "utf8") : undefined;
  const yaml = renderStackYaml(state.nodes, previous);
  writeFileAtomic(S.STACK_CONFIG, yaml, 0o644);
  writeFileAtomic(path.join(S.CHECKOUT, "Pulumi.lab.yaml"), yaml, 0o644);
  if (ensureLabPlacement(S.CHECKOUT, freshLab)) log("wrote an empty placement.lab.yaml for the new lab (fill it with `npm run placement -- sync`)");
  if (!fs.existsSync(S.STACK_PASSPHRASE)) writeFileAtomic(S.STACK_PASSPHRASE, crypto.randomBytes(32).toString("base64url") + "\n", 0o600);
}

/** Removes everything the lab made, found from state.json and by name (rplab-* netns, rplab0, cgroups, our nspawns). */
async function downUnlocked(): Promise<void> {
  const state = S.readLabState();
  const netns = await listLabNetns();
  const names = new Set([
    ...(state?.nodes.map((n) => n.name) ?? []),
    ...strayCgroupNodes(),
    ...strayMachines(),
    ...netns.map((ns) => ns.replace(/^rplab-/, "")),
  ]);
  const pids = (name: string) => state?.nodes.filter((n) => n.name === name).flatMap((n) => [n.launcherPid, n.nspawnPid]) ?? [];
  await Promise.all([...names].map((name) => stopNode(name, pids(name))));
  for (const name of names) await removeNodeNet(S.netnsName(name), name);
  for (const ns of await listLabNetns()) await run("ip", ["netns", "del", ns]);
  await removeLabLinks();
  // The stack state goes with the hosts it describes: a new lab has new host keys and empty mounts,
  // and an `up` against the old state would find none of the keys it records.
  const stale = [S.NODES_DIR, S.SECRETS_DIR, S.KNOWN_HOSTS, S.STATE_FILE, S.STACK_STATE, `${S.STACK_STATE}.journal`];
  for (const p of stale) fs.rmSync(p, { recursive: true, force: true });
  if (state) {
    const diff = diffSnapshots(state.network, await takeSnapshot());
    if (diff.length) log(`warning: the host network differs from before the lab:\n${diff.join("\n")}`);
  }
}

export interface NodeStatus {
  node: string;
  address: string;
  pid: number | undefined;
  sshd: boolean;
  unlocked: boolean;
}

export async function labStatus(): Promise<NodeStatus[]> {
  const state = S.readLabState();
  return Promise.all(
    (state?.nodes ?? []).map(async (n) => {
      const sshd = await sshBanner(n.address);
      return { node: n.name, address: n.address, pid: currentNspawnPid(n.name), sshd, unlocked: sshd && (await isUnlocked(n.name)) };
    }),
  );
}

/** One lab operation at a time, across processes; a lock left by a dead process is taken over. */
async function withLock<T>(fn: () => Promise<T>): Promise<T> {
  fs.mkdirSync(S.LAB_DIR, { recursive: true, mode: 0o700 });
  const lock = path.join(S.LAB_DIR, "lock");
  for (const end = Date.now() + 15 * 60_000; ; ) {
    try {
      fs.writeFileSync(lock, String(process.pid), { flag: "wx" });
      break;
    } catch {
      let owner = 0;
      try {
        owner = Number(fs.readFileSync(lock, "utf8"));
      } catch {
        continue; // released meanwhile
      }
      if (!isAlive(owner)) fs.rmSync(lock, { force: true });
      else if (Date.now() > end) throw new Error(`the lab is locked by process ${owner}`);
      else await sleep(500);
    }
  }
  try {
    return await fn();
  } finally {
    fs.rmSync(lock, { force: true });
  }
}
