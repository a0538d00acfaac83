/**
 * A writer that keeps adding users every `intervalMs` to whichever node takes writes, the way an
 * admin tool follows a master switch: on a refusal (frozen, or a referral) it records the message
 * and tries the other candidate next. Shared by the lab test and the benchmark.
 */
import type { Client } from "ldapts";
import { writeUser } from "../ops/ldap-users";
import { sleep } from "../transports/ldap";

export interface WriterResult {
  /** uids whose write was acknowledged. */
  readonly acked: string[];
  /** Refusal messages, in order. */
  readonly refused: string[];
  /** Longest time between two acknowledged writes (ms): the write outage a user would see. */
  readonly longestGapMs: number;
}

export function startWriter(opts: { clients: Readonly<Record<string, Client>>; first: string; suffix: string; intervalMs: number; prefix?: string }): { stop: () => Promise<WriterResult> } {
  const nodes = Object.keys(opts.clients);
  const acked: string[] = [];
  const refused: string[] = [];
  let target = opts.first;
  let stopped = false;
  let last = Date.now();
  let longestGapMs = 0;
  const loop = (async () => {
    for (let i = 0; !stopped; i++) {
      const uid = `${opts.prefix ?? "w"}${i}`;
      try {
        const master = { node: target, ssh: { host: "", port: 22, user: "root", hostKeys: [] } };
        await writeUser(opts.clients[target], { uid, mail: `${uid}@example.org`, home: target, suffix: opts.suffix, master });
        acked.push(uid);
        const now = Date.now();
        longestGapMs = Math.max(longestGapMs, now - last);
        last = now;
      } catch (e) {
        refused.push((e as Error).message);
        target = nodes[(nodes.indexOf(target) + 1) % nodes.length];
      }
      await sleep(opts.intervalMs);
    }
  })();
  return {
    stop: async () => {
      stopped = true;
      await loop;
      return { acked, refused, longestGapMs };
    },
  };
}
