/**
 * Platform benchmark on the lab: first `up` and a no-op preview through the stack runner, and the SSH
 * connections an `up` opens per node, counted by the nodes' own sshd ("Accepted publickey").
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ensureLab, labDown } from "../lab";
import { logSinceCommand } from "../planning/logs";
import { KNOWN_HOSTS, SSH_KEY as LAB_SSH_KEY } from "../lab/state";
import { LAB_STACK_FILES } from "../lab/stack-files";
import { closeAllSsh } from "../transports/ssh";
import { benchRunner, RunnerTimings } from "./runner";

/**
 * sshd's count of accepted logins in a node's log, read with the real OpenSSH client (one login
 * itself). The log exists only once the stack's log anonymity is applied and the journal keeps
 * nothing: on a fresh lab, the logins of the first up before that point are counted nowhere.
 */
function acceptedLogins(address: string): number {
  const out = execFileSync("ssh", ["-i", LAB_SSH_KEY, "-o", `UserKnownHostsFile=${KNOWN_HOSTS}`, "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes", `root@${address}`, `${logSinceCommand("@0")} | grep -c ' sshd\\[[0-9]*\\]: Accepted publickey' || true`]);
  return Number(out.toString().trim());
}

export interface PlatformBench {
  readonly runner: RunnerTimings;
  /** node → SSH connections the up opened to it. */
  readonly connectionsPerNode: Record<string, number>;
}

export async function benchPlatform(nodes = 3): Promise<PlatformBench> {
  const lab = await ensureLab({ nodes });
  await closeAllSsh();
  const before = Object.fromEntries(lab.nodes.map((n) => [n.name, acceptedLogins(n.address)]));
  const stateFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "rplan-bench-")), "state.json");
  const runner = await benchRunner({ stack: "lab", stackFiles: LAB_STACK_FILES, stateFile, env: { RPLAN_SSH_KEY: LAB_SSH_KEY } });
  // after − before − 1: the "before" count's own login happened before it was counted.
  const connectionsPerNode = Object.fromEntries(lab.nodes.map((n) => [n.name, acceptedLogins(n.address) - before[n.name] - 1]));
  return { runner, connectionsPerNode };
}

/** One `npm start` apply under a parallelism: a fresh lab, its first up, then a no-op preview. */
export interface ParallelismRun {
  readonly round: number;
  readonly parallel: number | "default";
  readonly runner: RunnerTimings;
}

/**
 * `npm start`'s stack apply and a no-op preview under the engine's default parallelism and under
 * `--parallel 1`, alternating on a fresh 3-node lab each time (the lab is taken down between runs).
 */
export async function benchStartParallelism(rounds = 2, log: (line: string) => void = console.log): Promise<ParallelismRun[]> {
  const out: ParallelismRun[] = [];
  for (let round = 1; round <= rounds; round++) {
    for (const parallel of [undefined, 1]) {
      await closeAllSsh();
      await labDown();
      await ensureLab({ nodes: 3 });
      const stateFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "rplan-bench-")), "state.json");
      const runner = await benchRunner({ stack: "lab", stackFiles: LAB_STACK_FILES, stateFile, env: { RPLAN_SSH_KEY: LAB_SSH_KEY }, ...(parallel ? { parallel } : {}) });
      out.push({ round, parallel: parallel ?? "default", runner });
      log(`npm start apply, round ${round}, --parallel ${parallel ?? "default"}: ${JSON.stringify(runner)}`);
    }
  }
  await closeAllSsh();
  return out;
}

/** Rows [measure, default, --parallel 1, ratio] of the medians over rounds. */
export function startParallelismRows(runs: readonly ParallelismRun[]): string[][] {
  const med = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  };
  const measures: Array<[string, (r: RunnerTimings) => number]> = [
    ["first up on a fresh lab (preview + apply)", (r) => r.upSeconds],
    ["  of which the apply", (r) => r.upApplySeconds],
    ["no-op preview", (r) => r.noopPreviewSeconds],
  ];
  const of = (p: ParallelismRun["parallel"], f: (r: RunnerTimings) => number) => med(runs.filter((r) => r.parallel === p).map((r) => f(r.runner)));
  return [
    [`npm start (${runs[0]?.runner.resources ?? "?"} resources), median of ${Math.max(...runs.map((r) => r.round), 0)} rounds`, "default parallelism", "--parallel 1", "ratio"],
    ...measures.map(([name, f]) => {
      const [d, one] = [of("default", f), of(1, f)];
      return [name, `${d.toFixed(2)} s`, `${one.toFixed(2)} s`, Number.isFinite(d / one) ? (d / one).toFixed(2) : "n/a"];
    }),
  ];
}
