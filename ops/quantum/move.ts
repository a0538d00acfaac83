/**
 * Moving one user's quantum (today: the mailbox, planning/quantum/parts.ts) from its home to another
 * node, losing nothing: the host side of the move protocol. Which steps run, in which order, from
 * which state of the journal, and what a step's failure does are the protocol's decisions
 * (planning/quantum/protocol.ts, where the steps are told); here each step is its I/O:
 *
 *   set aside   ./mail-store.ts: a copy on the new home from an earlier move away from it.
 *   bulk copy   ./mailbox-copy.ts: dsync old → new over the VPN; progress is the new copy's bytes.
 *   freeze      ./journal.ts: on the master, the user's route to postfix's `retry` transport, and
 *               dovecot refuses logins ("try again") and LMTP deliveries (deferred by the sender).
 *   quiesce     every replica shows the freeze (a stale one could still route to the old home),
 *               every postfix forgets cached routes, no queue manager is delivering to the user,
 *               and the user's IMAP/POP sessions end on every node (proxies included).
 *   final sync  ./mailbox-copy.ts: the last dsync (only what changed since the bulk copy), both
 *               copies compared; a mismatch that a full sync does not mend fails the move.
 *   switch      the master writes the new home (still frozen).
 *   unfreeze    the route and the state cleared; every replica should show it (waited for, not
 *               required: mail on a lagging node waits in its queue).
 *   finish      every postfix forgets routes, `postqueue -f` delivers what waited (now to the new
 *               home), the new copy's ownership repaired and its size measured.
 *
 * The old copy stays until the grace period ends (./mail-store.ts removeOldCopy, decided by
 * planning/placement/carry-out.ts).
 */
import { humanBytes } from "../../planning/placement/moves";
import { moveStage, MoveStage, onFailure, Step, stepsFrom } from "../../planning/quantum/protocol";
import { readDirectoryUser, setFrozen, setHome, waitReplicas } from "./journal";
import { bulkCopy, finalSync, waitDeliveries } from "./mailbox-copy";
import { dirBytes, repairOwnership, setAsideStaleCopy } from "./mail-store";
import type { MoveContext, MoveNode } from "./node";

export type { MoveContext, MoveNode };

export interface MoveReport {
  readonly user: string;
  readonly from: string;
  readonly to: string;
  /** Bytes of the new copy after the move. */
  readonly bytes: number;
  /** How the move started: fresh ("no"), or resumed from a phase an interrupted run reached (planning/quantum/protocol.ts). */
  readonly resumed: MoveStage;
  /** Milliseconds from the freeze to the unfreeze (mail deferred, logins refused). */
  readonly freezeMs: number;
  /** Where the freeze went, phase by phase (ms): what to look at when it is long. */
  readonly freezePhases?: Readonly<Record<string, number>>;
  readonly totalMs: number;
  /** An older copy found on the new home and moved out of the way (kept until its grace ends). */
  readonly setAside?: string;
}

export async function moveUser(ctx: MoveContext, uid: string, from: string, to: string): Promise<MoveReport> {
  const started = Date.now();
  const master = node(ctx, ctx.master);
  const src = node(ctx, from);
  const dst = node(ctx, to);
  const say = (what: string) => ctx.log(`[move] ${uid} ${from} → ${to}: ${what}`);
  const user = await readDirectoryUser(master.slapd, ctx.suffix, uid);
  if (!user) throw new Error(`cannot move ${uid}: not in the directory`);
  const replicas = [...ctx.nodes.values()].map((n) => n.slapd);

  let resumed: MoveStage;
  try {
    resumed = moveStage(user, from, to);
  } catch (e) {
    throw new Error(`cannot move ${uid} from ${from}: ${(e as Error).message}`);
  }
  if (resumed === "already-done") {
    say("already at the new home");
    return { user: uid, from, to, bytes: await dirBytes(dst, uid), resumed, freezeMs: 0, totalMs: Date.now() - started };
  }
  if (resumed !== "no") say(`resuming: frozen at the ${resumed === "frozen-at-old-home" ? "old" : "new"} home by an interrupted run`);

  // What the steps learn on the way: the copy set aside, dsync's state after the bulk copy ("" when
  // resuming a freeze: a full final sync), when the freeze began, and where its time went.
  const m = { setAside: undefined as string | undefined, state: "", frozenAt: Date.now(), freezeMs: 0, mark: Date.now(), phases: {} as Record<string, number>, bytes: 0 };
  const lap = (phase: string) => {
    m.phases[phase] = Date.now() - m.mark;
    m.mark = Date.now();
  };
  const steps: Record<Step, () => Promise<void>> = {
    "set aside": async () => {
      m.setAside = await setAsideStaleCopy(src, dst, uid, say);
    },
    "bulk copy": async () => {
      m.state = await bulkCopy(src, dst, uid, say);
    },
    freeze: async () => {
      m.frozenAt = m.mark = Date.now();
      say("freeze");
      await setFrozen(master.slapd, ctx.suffix, uid, true);
    },
    quiesce: async () => {
      await waitReplicas(replicas, ctx.suffix, uid, { home: from, frozen: true });
      lap("replicas");
      await forgetRoutes(ctx);
      lap("routes");
      await waitDeliveries(ctx, user);
      lap("deliveries");
      await kick(ctx, uid);
      lap("kick");
    },
    "final sync": () => finalSync(src, dst, uid, say, m.state, lap),
    switch: async () => {
      say("switch home");
      await setHome(master.slapd, ctx.suffix, uid, to);
      lap("switch");
    },
    unfreeze: async () => {
      await waitReplicas(replicas, ctx.suffix, uid, { home: to, frozen: true }).catch((e) => say(`${(e as Error).message}; unfreezing anyway (mail for ${uid} on those nodes waits in their queues)`));
      await setFrozen(master.slapd, ctx.suffix, uid, false);
      await waitReplicas(replicas, ctx.suffix, uid, { home: to, frozen: false }).catch((e) => say((e as Error).message));
      lap("unfreeze");
      m.freezeMs = Date.now() - m.frozenAt;
    },
    finish: async () => {
      await forgetRoutes(ctx);
      await flushQueues(ctx);
      await repairOwnership(dst, uid, say);
      m.bytes = await dirBytes(dst, uid);
    },
  };
  for (const step of stepsFrom(resumed)) {
    try {
      await steps[step]();
    } catch (e) {
      if (onFailure(step) === "unfreeze at the old home") {
        // Nothing has changed hands: the user goes back to work at the old home.
        say(`failed before the switch, unfreezing at ${from}: ${(e as Error).message}`);
        await setFrozen(master.slapd, ctx.suffix, uid, false);
        await flushQueues(ctx);
      }
      throw e;
    }
  }
  const fresh = resumed === "no";
  const where = fresh ? ` (${Object.entries(m.phases).map(([p, ms]) => `${p} ${ms}`).join(", ")})` : "";
  say(`done: ${humanBytes(m.bytes)}, frozen for ${m.freezeMs} ms${where}`);
  return { user: uid, from, to, bytes: m.bytes, resumed, freezeMs: fresh ? m.freezeMs : 0, ...(fresh ? { freezePhases: m.phases } : {}), totalMs: Date.now() - started, ...(m.setAside ? { setAside: m.setAside } : {}) };
}

function node(ctx: MoveContext, name: string): MoveNode {
  const n = ctx.nodes.get(name);
  if (!n) throw new Error(`node ${name} is not a live node of this stack`);
  return n;
}

/** End the user's sessions everywhere (a proxy's session is on a node that is not the home). */
async function kick(ctx: MoveContext, uid: string): Promise<void> {
  await Promise.all([...ctx.nodes.values()].map((n) => n.conn.run(["doveadm", "kick", uid], { allowFailure: true, label: `doveadm kick ${uid}` })));
}

/**
 * `postfix reload` on every node. Postfix's address resolver client (in qmgr and smtpd) keeps its
 * last answer for 30 seconds (resolve_clnt.c): without this, a node that just routed a message for
 * the user keeps routing to the old home through the freeze and after the switch (seen in the lab:
 * deliveries to the old home 20 s after the switch). A reload restarts qmgr and trivial-rewrite;
 * connections in progress are not dropped.
 */
export async function forgetRoutes(ctx: MoveContext): Promise<void> {
  await Promise.all([...ctx.nodes.values()].map((n) => n.conn.run(["postfix", "reload"], { allowFailure: true, label: "postfix reload" })));
}

/** `postqueue -f` on every node: what was deferred during the freeze goes out now, not in minutes. */
export async function flushQueues(ctx: MoveContext): Promise<void> {
  await Promise.all([...ctx.nodes.values()].map((n) => n.conn.run(["postqueue", "-f"], { allowFailure: true, label: "postqueue -f" })));
}
