/**
 * Per-node cgroups. The host runs no systemd, so every nspawn would share one cgroup tree and the
 * containers' units would collide; each node's launcher moves itself into its own cgroup first.
 */
import * as fs from "fs";
import * as path from "path";

/**
 * The hierarchies a node's launcher joins: the named systemd and the unified (v2) ones on a hybrid
 * host like ours (LAB.md); on a pure cgroup2 host, its root.
 */
export const CGROUP_ROOTS = ["/sys/fs/cgroup/systemd", "/sys/fs/cgroup/unified"].filter((d) => fs.existsSync(path.join(d, "cgroup.procs")));
if (!CGROUP_ROOTS.length && fs.existsSync("/sys/fs/cgroup/cgroup.procs")) CGROUP_ROOTS.push("/sys/fs/cgroup");

export const cgroupDirs = (name: string) => CGROUP_ROOTS.map((r) => path.join(r, `rplab-${name}`));

export function makeCgroups(dirs: string[]): void {
  for (const d of dirs) fs.mkdirSync(d, { recursive: true });
}

/** Shell prefix that moves the current shell into the cgroups; the nspawn it execs inherits them. */
export const joinCgroupsSh = (dirs: string[]) => dirs.map((d) => `echo $$ > '${d}/cgroup.procs'`).join(" && ");

function subdirs(dir: string): string[] {
  try {
    return fs
      .readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => path.join(dir, e.name));
  } catch {
    return [];
  }
}

/** Every PID anywhere under the cgroup. */
export function cgroupPids(dir: string): number[] {
  let pids: number[] = [];
  try {
    pids = fs.readFileSync(path.join(dir, "cgroup.procs"), "utf8").split("\n").filter(Boolean).map(Number);
  } catch {
    return [];
  }
  for (const d of subdirs(dir)) pids.push(...cgroupPids(d));
  return pids;
}

/** The container's init, which keeps running if its nspawn was SIGKILLed. */
export function containerInit(dirs: string[]): number | undefined {
  for (const d of dirs) {
    try {
      const pid = Number(fs.readFileSync(path.join(d, "payload", "init.scope", "cgroup.procs"), "utf8").split("\n")[0]);
      if (pid) return pid;
    } catch {
      /* not in this hierarchy */
    }
  }
  return undefined;
}

/** Removes the cgroup tree bottom-up (cgroup dirs are removed with rmdir, never rm -r). */
export function removeCgroup(dir: string): void {
  for (const d of subdirs(dir)) removeCgroup(d);
  try {
    fs.rmdirSync(dir);
  } catch (e: any) {
    if (e.code !== "ENOENT") throw new Error(`cannot remove cgroup ${dir}: ${e.message}`);
  }
}

/** Our node cgroups found on disk, for cleanup after a crash that lost state.json. */
export function strayCgroupNodes(): string[] {
  const names = new Set<string>();
  for (const r of CGROUP_ROOTS) {
    for (const d of subdirs(r)) {
      const m = /^rplab-(lab\d+)$/.exec(path.basename(d));
      if (m) names.add(m[1]);
    }
  }
  return [...names];
}
