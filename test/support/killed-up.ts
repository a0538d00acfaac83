/**
 * A runner killed at a chosen moment: `up` through the CLI, its whole process group (the runner and
 * its dynamic-provider hosts) sent SIGKILL as soon as its output matches `line` — what a crash or a
 * pulled plug does to an update. Resolves with what it printed; rejects if it ended on its own.
 */
import { ChildProcess, spawn } from "child_process";
import { RPLAN_PROJECT_DIR } from "../../runner";

export interface KilledUpArgs {
  /** The stack's state file and config file, as `cli/stack.ts` takes them. */
  readonly stateFile: string;
  readonly configFile: string;
  /** Extra environment (the lab's SSH key). */
  readonly env?: Record<string, string>;
}

export function upKilledAt(line: RegExp, a: KilledUpArgs): Promise<string> {
  return new Promise((resolve, reject) => {
    const child: ChildProcess = spawn("npx", ["ts-node", "cli/stack.ts", "up", "--stack", "lab", "--state", a.stateFile, "--config", a.configFile], { cwd: RPLAN_PROJECT_DIR, env: { ...process.env, ...a.env }, detached: true });
    let out = "";
    const watch = (d: Buffer) => {
      out += d.toString();
      if (line.test(out) && child.pid) process.kill(-child.pid, "SIGKILL");
    };
    child.stdout!.on("data", watch);
    child.stderr!.on("data", watch);
    child.on("exit", (_code, signal) => {
      if (signal !== "SIGKILL") return reject(new Error(`up was not killed at ${line}:\n${out.slice(-3000)}`));
      // The next run must not meet the killed one's pass still holding the state's lock: wait until
      // its whole process group is gone (killed processes whose parents died with them linger as
      // zombies until init reaps them; the runner takes over a zombie's lock anyway).
      groupGone(child.pid!, 30_000).then(() => resolve(out));
    });
  });
}

/** Resolves once no process of group `pgid` is left (or after `timeoutMs`). */
async function groupGone(pgid: number, timeoutMs: number): Promise<void> {
  for (const end = Date.now() + timeoutMs; Date.now() < end; await new Promise((r) => setTimeout(r, 100))) {
    try {
      process.kill(-pgid, 0);
    } catch {
      return;
    }
  }
}
