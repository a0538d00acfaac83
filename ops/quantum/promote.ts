/**
 * Promotion: users whose home was revoked (seized) are given their new home in the directory, without
 * contacting the old home: nothing can be copied from it. On a standby the mailbox is already there (the
 * replicator kept it, planning/quantum/standby-sync.ts); elsewhere the user starts from an empty mailbox.
 * Then every node forgets its cached routes and delivers what its queue held for those users: the mail
 * that waited while the home was gone reaches the new home at once.
 */
import { readDirectoryUser, setFrozen, setHome, waitReplicas } from "./journal";
import { dirBytes } from "./mail-store";
import { flushQueues, forgetRoutes } from "./move";
import type { MoveContext } from "./node";

export interface PromotionReport {
  readonly user: string;
  readonly from: string;
  readonly to: string;
  /** Bytes of the mailbox on the new home when it took over (0: an empty start). */
  readonly bytes: number;
  readonly ms: number;
}

/** Promote each user onto its new home (`to`, a live node); `from` is never contacted. */
export async function promoteUsers(ctx: MoveContext, work: readonly { uid: string; from: string; to: string }[]): Promise<PromotionReport[]> {
  const master = ctx.nodes.get(ctx.master);
  if (!master) throw new Error(`the directory master ${ctx.master} is not a live node`);
  const started = Date.now();
  const reports: PromotionReport[] = [];
  for (const w of work) {
    const to = ctx.nodes.get(w.to);
    if (!to) throw new Error(`cannot promote ${w.uid} onto ${w.to}: not a live node`);
    if (ctx.nodes.has(w.from)) throw new Error(`refusing to promote ${w.uid}: its home ${w.from} is live (a move copies from it instead)`);
    const t0 = Date.now();
    const user = await readDirectoryUser(master.slapd, ctx.suffix, w.uid);
    if (!user) throw new Error(`cannot promote ${w.uid}: not in the directory`);
    // A user frozen by a move its seized home was part of: the move cannot finish, the promotion replaces it.
    if (user.home !== w.to) await setHome(master.slapd, ctx.suffix, w.uid, w.to);
    if (user.frozen) await setFrozen(master.slapd, ctx.suffix, w.uid, false);
    const bytes = await dirBytes(to, w.uid);
    ctx.log(`[promote] ${w.uid}: ${w.from} (revoked) → ${w.to}, ${bytes > 0 ? `its standby copy (${bytes} bytes)` : "an empty mailbox (no standby copy there)"}`);
    reports.push({ user: w.uid, from: w.from, to: w.to, bytes, ms: Date.now() - t0 });
  }
  if (work.length === 0) return reports;
  const replicas = [...ctx.nodes.values()].map((n) => n.slapd);
  await Promise.all(work.map((w) => waitReplicas(replicas, ctx.suffix, w.uid, { home: w.to, frozen: false }).catch((e: Error) => ctx.log(`[promote] ${e.message}; mail for ${w.uid} on those nodes waits in their queues`))));
  // Routes are cached for 30 s by each postfix (forgetRoutes says why); then the queues go out.
  await forgetRoutes(ctx);
  await flushQueues(ctx);
  ctx.log(`[promote] ${work.length} user(s) on their new homes in ${Date.now() - started} ms`);
  return reports;
}
