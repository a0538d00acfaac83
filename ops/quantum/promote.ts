/**
 * Promotion: users whose home was revoked (seized) are given their new home in the directory, without
 * contacting the old home: nothing can be copied from it. On a standby the mailbox is already there (the
 * replicator kept it, planning/quantum/standby-sync.ts); elsewhere the user starts from an empty mailbox.
 * Then every node forgets its cached routes and delivers what its queue held for those users: the mail
 * that waited while the home was gone reaches the new home at once. What reached the seized home after
 * the standby's last round comes from the survivors' spare copies (./held.ts), handed over next.
 */
import { readDirectoryUsers, setHomesUnfrozen, waitReplicasAll } from "./journal";
import { dirsBytes } from "./mail-store";
import { flushQueues, forgetRoutes } from "./move";
import type { MoveContext } from "./node";

export interface PromotionReport {
  readonly user: string;
  readonly from: string;
  readonly to: string;
  /** Bytes of the mailbox on the new home when it took over (0: an empty start). */
  readonly bytes: number;
  /** From the start of the promotions until this user's home was written on the master. */
  readonly ms: number;
}

/**
 * Promote each user onto its new home (`to`, a live node); `from` is never contacted. Batched, so a
 * seized node's hundreds of users cost a few round trips, not a few per user: one directory read and
 * one write on the master, one `du` per new home, one wait for every replica.
 */
export async function promoteUsers(ctx: MoveContext, work: readonly { uid: string; from: string; to: string }[]): Promise<PromotionReport[]> {
  if (work.length === 0) return [];
  const master = ctx.nodes.get(ctx.master);
  if (!master) throw new Error(`the directory master ${ctx.master} is not a live node`);
  const started = Date.now();
  for (const w of work) {
    if (!ctx.nodes.has(w.to)) throw new Error(`cannot promote ${w.uid} onto ${w.to}: not a live node`);
    if (ctx.nodes.has(w.from)) throw new Error(`refusing to promote ${w.uid}: its home ${w.from} is live (a move copies from it instead)`);
  }
  const directory = await readDirectoryUsers(master.slapd, ctx.suffix);
  const absent = work.filter((w) => !directory.has(w.uid)).map((w) => w.uid);
  if (absent.length > 0) throw new Error(`cannot promote ${absent.join(", ")}: not in the directory`);
  // A user frozen by a move its seized home was part of: the move cannot finish, the promotion replaces it.
  await setHomesUnfrozen(
    master.slapd,
    ctx.suffix,
    work.map((w) => ({ uid: w.uid, home: w.to, frozen: directory.get(w.uid)!.frozen })).filter((u) => directory.get(u.uid)!.home !== u.home || u.frozen),
  );
  const switched = Date.now() - started;
  // Where the time goes, phase by phase (ms), in the last log line.
  const phases: string[] = [`switch ${switched}`];
  let mark = Date.now();
  const lap = (phase: string) => (phases.push(`${phase} ${Date.now() - mark}`), (mark = Date.now()));
  const byHome = new Map<string, string[]>();
  for (const w of work) byHome.set(w.to, [...(byHome.get(w.to) ?? []), w.uid]);
  const bytes = new Map<string, number>();
  await Promise.all([...byHome].map(async ([to, uids]) => (await dirsBytes(ctx.nodes.get(to)!, uids)).forEach((b, u) => bytes.set(u, b))));
  const reports = work.map((w) => {
    const b = bytes.get(w.uid) ?? 0;
    ctx.log(`[promote] ${w.uid}: ${w.from} (revoked) → ${w.to}, ${b > 0 ? `its standby copy (${b} bytes)` : "an empty mailbox (no standby copy there)"}`);
    return { user: w.uid, from: w.from, to: w.to, bytes: b, ms: switched };
  });
  lap("sizes");
  const replicas = [...ctx.nodes.values()].map((n) => n.slapd);
  const want = new Map(work.map((w) => [w.uid, { home: w.to, frozen: false }]));
  await waitReplicasAll(replicas, ctx.suffix, want).catch((e: Error) => ctx.log(`[promote] ${e.message}; mail for those users on those nodes waits in their queues`));
  lap("replicas");
  // Routes are cached for 30 s by each postfix (forgetRoutes says why); then the queues go out.
  await forgetRoutes(ctx);
  lap("routes");
  await flushQueues(ctx);
  lap("queues");
  ctx.log(`[promote] ${work.length} user(s) on their new homes in ${Date.now() - started} ms (${phases.join(", ")})`);
  return reports;
}
