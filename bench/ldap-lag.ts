/**
 * Replication lag measurement, shared by the local test and (to come) the lab benchmark: write on
 * the master, poll every replica until the entry is there, per write the time until the LAST
 * replica has it. Reads and writes go through whatever clients the caller gives (ldapi locally, SSH
 * channels on the lab).
 */
import type { Client } from "ldapts";
import { readEntry, sleep } from "../transports/ldap";

export interface LagResult {
  readonly writes: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/** `write(i)` adds entry `dnOf(i)` on the master; replicas are polled every `pollMs`. */
export async function measureLag(opts: { writes: number; write: (i: number) => Promise<void>; dnOf: (i: number) => string; replicas: readonly Client[]; pollMs?: number; timeoutMs?: number }): Promise<LagResult> {
  const lags: number[] = [];
  for (let i = 0; i < opts.writes; i++) {
    await opts.write(i);
    const t0 = process.hrtime.bigint();
    await Promise.all(
      opts.replicas.map(async (c) => {
        const until = Date.now() + (opts.timeoutMs ?? 10_000);
        while (!(await readEntry(c, opts.dnOf(i), ["uid"]))) {
          if (Date.now() > until) throw new Error(`write ${i} did not replicate within ${opts.timeoutMs ?? 10_000} ms`);
          if (opts.pollMs) await sleep(opts.pollMs);
        }
      }),
    );
    lags.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  const sorted = [...lags].sort((a, b) => a - b);
  return { writes: lags.length, p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted[sorted.length - 1] };
}
