/** The lock that keeps two mutating runs off one state file. */
import * as fs from "fs";
import * as path from "path";

/**
 * One mutating run per state file at a time (Pulumi's backends lock a stack during an update too).
 * The lock names its process; a lock whose process is gone is taken over with a warning.
 */
export function lockState(file: string, what: string, log: (line: string) => void): () => void {
  const lock = `${file}.lock`;
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const body = JSON.stringify({ pid: process.pid, what, since: new Date().toISOString() });
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.writeFileSync(lock, body, { flag: "wx", mode: 0o600 });
      return () => fs.rmSync(lock, { force: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      const held = readLock(lock);
      if (held.pid && isAlive(held.pid)) {
        throw new Error(`the stack's state ${file} is locked by a running ${held.what ?? "run"} (pid ${held.pid}, since ${held.since}); wait for it, or remove ${lock} if that process is gone`);
      }
      log(`warning: taking over the lock of a run that is gone (pid ${held.pid}, ${held.what ?? "run"} since ${held.since})`);
      fs.rmSync(lock, { force: true });
    }
  }
  throw new Error(`cannot lock ${file}`);
}

/** A lock cut short by a crash names no process, so it is taken over like one whose process is gone. */
function readLock(lock: string): { pid?: number; what?: string; since?: string } {
  try {
    return JSON.parse(fs.readFileSync(lock, "utf8") || "{}") as { pid?: number; what?: string; since?: string };
  } catch {
    return {};
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
  return !isZombie(pid);
}

/**
 * A killed run whose parent was killed with it (a crash, `kill -9` of its process group) keeps its
 * pid as a zombie until init reaps it, which can take seconds: it runs no more, so its lock is gone.
 */
export function isZombie(pid: number, procDir = "/proc"): boolean {
  try {
    const stat = fs.readFileSync(`${procDir}/${pid}/stat`, "utf8");
    // "<pid> (<comm>) <state> …": the command may hold spaces and parentheses, the state follows the last ")".
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) === "Z";
  } catch {
    return false;
  }
}
