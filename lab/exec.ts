/** Small process helpers for the lab: argv only, no shell strings built from data. */
import { spawn } from "child_process";
import * as fs from "fs";

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** Don't throw on a non-zero exit; the caller looks at `code`. */
  check?: boolean;
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
}

export function run(cmd: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: opts.env ?? process.env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    const timer = opts.timeoutMs ? setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs) : undefined;
    child.stdout.on("data", (d: Buffer) => {
      stdout += d;
    });
    child.stderr.on("data", (d: Buffer) => {
      stderr += d;
    });
    child.on("error", reject);
    child.on("close", (code, signal) => {
      if (timer) clearTimeout(timer);
      const res = { code: code ?? 128, stdout, stderr };
      if (opts.check !== false && res.code !== 0) {
        // argv may be long (nspawn); the tail of stderr is what explains the failure.
        const why = (stderr.trim() || stdout.trim()).split("\n").slice(-15).join("\n");
        reject(new Error(`${cmd} ${args.slice(0, 6).join(" ")} failed (${signal ?? `exit ${code}`}):\n${why}`));
      } else resolve(res);
    });
  });
}

/** Like run() but returns stdout and throws on failure. */
export async function out(cmd: string, args: string[], opts: RunOptions = {}): Promise<string> {
  return (await run(cmd, args, opts)).stdout;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));


/** A live (not zombie) process; kill(pid, 0) alone says yes to zombies we have not reaped. */
export function isAlive(pid: number | undefined): boolean {
  if (!pid) return false;
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    return !/^\d+ \(.*\) Z/.test(stat);
  } catch {
    return false;
  }
}

export function cmdline(pid: number): string[] {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean);
  } catch {
    return [];
  }
}

/** All live PIDs whose argv matches `pred`. */
export function findProcesses(pred: (argv: string[]) => boolean): number[] {
  return fs
    .readdirSync("/proc")
    .filter((d) => /^\d+$/.test(d))
    .map(Number)
    .filter((pid) => pid !== process.pid && isAlive(pid) && pred(cmdline(pid)));
}

export function signal(pid: number, sig: NodeJS.Signals | number): void {
  try {
    process.kill(pid, sig);
  } catch {
    /* already gone */
  }
}

/** Poll `cond` until true or `ms` elapse; returns the last value. */
export async function waitFor(cond: () => boolean | Promise<boolean>, ms: number, stepMs = 100): Promise<boolean> {
  const end = Date.now() + ms;
  for (;;) {
    if (await cond()) return true;
    if (Date.now() > end) return false;
    await sleep(stepMs);
  }
}

/** Write a file atomically with a mode, so readers never see it half written or too open. */
export function writeFileAtomic(file: string, data: string, mode = 0o644): void {
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, data, { mode });
  fs.chmodSync(tmp, mode);
  fs.renameSync(tmp, file);
}
