/**
 * Platform benchmark on the lab: first `up` and a no-op preview through the stack runner, and the SSH
 * connections an `up` opens per node, counted by the nodes' own sshd ("Accepted publickey").
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ensureLab, labDown } from "../lab";
import type { LabState } from "../lab";
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
  return Number(labRun(address, `${logSinceCommand("@0")} | grep -c ' sshd\\[[0-9]*\\]: Accepted publickey' || true`).trim());
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

/** What differs between the fresh labs a start bench compares: the engine's parallelism, or the lab before its first up. */
export interface FreshStartVariant {
  readonly label: string;
  readonly parallel?: number;
  /** Run on the fresh lab before its first up. */
  readonly prepare?: (lab: LabState) => void;
}

/** One `npm start` apply on a fresh lab under one variant. */
export interface FreshStartRun {
  readonly round: number;
  readonly variant: string;
  readonly runner: RunnerTimings;
}

/**
 * `npm start`'s stack apply and a no-op preview under each variant, alternating on a fresh 3-node lab
 * each time (the lab is taken down between runs).
 */
export async function benchFreshStarts(variants: readonly FreshStartVariant[], rounds = 2, log: (line: string) => void = console.log): Promise<FreshStartRun[]> {
  const out: FreshStartRun[] = [];
  for (let round = 1; round <= rounds; round++) {
    for (const v of variants) {
      await closeAllSsh();
      await labDown();
      const lab = await ensureLab({ nodes: 3 });
      v.prepare?.(lab);
      const stateFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "rplan-bench-")), "state.json");
      const runner = await benchRunner({ stack: "lab", stackFiles: LAB_STACK_FILES, stateFile, env: { RPLAN_SSH_KEY: LAB_SSH_KEY }, ...(v.parallel ? { parallel: v.parallel } : {}) });
      out.push({ round, variant: v.label, runner });
      log(`npm start apply, round ${round}, ${v.label}: ${JSON.stringify(runner)}`);
    }
  }
  await closeAllSsh();
  return out;
}

export const PARALLELISM_VARIANTS: readonly FreshStartVariant[] = [{ label: "default parallelism" }, { label: "--parallel 1", parallel: 1 }];

/**
 * The lab image holds rspamd's compiled multipattern cache (lab/image.ts, WARM_RSPAMD); taken off
 * each node before the first up, rspamd compiles it there, as a production node's first start does.
 */
export const RSPAMD_CACHE_VARIANTS: readonly FreshStartVariant[] = [
  { label: "rspamd's cache from the image" },
  { label: "compiled on each node", prepare: (lab) => lab.nodes.forEach((n) => labRun(n.address, "rm -f /var/lib/rspamd/*.hsmp /var/lib/rspamd/*.hsmc")) },
];

function labRun(address: string, command: string): string {
  return execFileSync("ssh", ["-i", LAB_SSH_KEY, "-o", `UserKnownHostsFile=${KNOWN_HOSTS}`, "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes", `root@${address}`, command]).toString();
}

/** Rows [measure, first variant, second variant, ratio] of the medians over rounds. */
export function freshStartRows(runs: readonly FreshStartRun[], variants: readonly Pick<FreshStartVariant, "label">[]): string[][] {
  const [a, b] = variants.map((v) => v.label);
  const med = (xs: number[]) => {
    const s = [...xs].sort((x, y) => x - y);
    return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  };
  const measures: Array<[string, (r: RunnerTimings) => number]> = [
    ["first up on a fresh lab (preview + apply)", (r) => r.upSeconds],
    ["  of which the apply", (r) => r.upApplySeconds],
    ["no-op preview", (r) => r.noopPreviewSeconds],
  ];
  const of = (v: string, f: (r: RunnerTimings) => number) => med(runs.filter((r) => r.variant === v).map((r) => f(r.runner)));
  return [
    [`npm start (${runs[0]?.runner.resources ?? "?"} resources), median of ${Math.max(...runs.map((r) => r.round), 0)} rounds`, a, b, "ratio"],
    ...measures.map(([name, f]) => {
      const [x, y] = [of(a, f), of(b, f)];
      return [name, `${x.toFixed(2)} s`, `${y.toFixed(2)} s`, Number.isFinite(x / y) ? (x / y).toFixed(2) : "n/a"];
    }),
  ];
}
