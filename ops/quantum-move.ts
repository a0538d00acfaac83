/**
 * Moving one user's quantum (today: the mailbox) from its home to another node, losing nothing.
 * docs/move-users.md tells the story; the order of the phases is what makes it safe:
 *
 *   bulk      `doveadm backup` old → new over the VPN while the user keeps working (repeated while
 *             dsync says "run again"); progress is the new copy's bytes over the old one's.
 *   freeze    the master routes the user to postfix's `retry` transport, dovecot refuses logins
 *             with "try again" and LMTP deliveries (deferred by the sender); wait until every replica
 *             shows it (a stale replica could still route to the old home), make every postfix
 *             forget cached routes, then wait until no queue manager is delivering to the user.
 *   kick      end the user's IMAP/POP sessions on every node (proxies included).
 *   final     a last `doveadm backup` (only what changed since the bulk copy), then compare both
 *             copies folder by folder (messages and size). A mismatch that a second sync does not
 *             mend unfreezes the user at the OLD home and fails the move.
 *   switch    the master writes the new home (still frozen); every replica must show it.
 *   unfreeze  the route and the state are cleared; every replica must show it; `postqueue -f` on
 *             every node delivers what waited, now to the new home.
 *
 * Resumable: the directory is the journal. A rerun reads the user's entry and continues — frozen at
 * the old home: from the freeze; frozen at the new home: from the unfreeze; at the new home and not
 * frozen: done. An interrupted move therefore leaves the user at one home, and a rerun never leaves
 * anyone frozen. The old copy stays until the grace period ends (removeOldCopy).
 */
import { activeDeliveries, copyDifferences, humanBytes, parseMailboxStatus } from "../planning/placement/moves";
import { moveStage, MoveStage } from "../planning/placement/carry-out";
import { DOVEADM_PORT, userStoreDir } from "../planning/mail/move-channel";
import { MAIL_USER } from "../planning/mail/routing";
import { logSinceCommand } from "../planning/logs";
import type { SshConnection } from "../transports/ssh";
import { sleep } from "../transports/ldap";
import { DirectoryUser, readDirectoryUser, setFrozen, setHome, waitReplicas } from "./directory-homes";
import { SlapdControl } from "./slapd-control";

/** One live node as a move sees it. */
export interface MoveNode {
  readonly name: string;
  readonly vpnAddress: string;
  readonly storePath: string;
  readonly conn: SshConnection;
  readonly slapd: SlapdControl;
}

export interface MoveContext {
  /** Every non-revoked node, by name (replicas to wait for, queues to flush, sessions to kick). */
  readonly nodes: ReadonlyMap<string, MoveNode>;
  readonly master: string;
  readonly suffix: string;
  readonly log: (line: string) => void;
}

export interface MoveReport {
  readonly user: string;
  readonly from: string;
  readonly to: string;
  /** Bytes of the new copy after the move. */
  readonly bytes: number;
  /** How the move started: fresh ("no"), or resumed from a phase an interrupted run reached (planning/placement/carry-out.ts). */
  readonly resumed: MoveStage;
  /** Milliseconds from the freeze to the unfreeze (mail deferred, logins refused). */
  readonly freezeMs: number;
  /** Where the freeze went, phase by phase (ms): what to look at when it is long. */
  readonly freezePhases?: Readonly<Record<string, number>>;
  readonly totalMs: number;
  /** An older copy found on the new home and moved out of the way (kept until its grace ends). */
  readonly setAside?: string;
}

const MAX_SYNC_ROUNDS = 20;
/** Rounds of "run again" after which the bulk copy checks whether the new copy went stale. */
const STUCK_ROUNDS = 3;
/** doveadm's "not perfectly synchronized, run again" (doveadm-sync(1)). */
const DSYNC_AGAIN = 2;
/**
 * EX_TEMPFAIL: a temporary failure, run again. Seen on the lab, whose encrypted mounts are Debian 12's
 * gocryptfs 2.3 run as root with -allow_other: about 1 file creation in 100 fails with EPERM
 * (rfjakob/gocryptfs#892, fixed in 2.5). Another round copies what the last one could not.
 */
const DSYNC_TEMPFAIL = 75;

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

  let setAside: string | undefined;
  let frozenAt = Date.now();
  // dsync's state after the bulk copy; "" (a full final sync) when resuming a freeze.
  let state = "";
  const phases: Record<string, number> = {};
  let mark = Date.now();
  const lap = (phase: string) => {
    phases[phase] = Date.now() - mark;
    mark = Date.now();
  };
  // Frozen at the new home (from === to too: the work item of a user an interrupted run already
  // switched): only the unfreeze is left.
  if (resumed === "no" || resumed === "frozen-at-old-home") {
    if (resumed === "frozen-at-old-home") {
      say("resuming: frozen at the old home by an interrupted run");
    } else {
      setAside = await setAsideStaleCopy(src, dst, uid, say);
      state = await bulkCopy(src, dst, uid, say);
      frozenAt = mark = Date.now();
      say("freeze");
      await setFrozen(master.slapd, ctx.suffix, uid, true);
    }
    try {
      await waitReplicas(replicas, ctx.suffix, uid, { home: from, frozen: true });
      lap("replicas");
      await forgetRoutes(ctx);
      lap("routes");
      await waitDeliveries(ctx, user);
      lap("deliveries");
      await kick(ctx, uid);
      lap("kick");
      await finalSync(src, dst, uid, say, state, lap);
    } catch (e) {
      // Nothing has changed hands: the user goes back to work at the old home.
      say(`failed before the switch, unfreezing at ${from}: ${(e as Error).message}`);
      await setFrozen(master.slapd, ctx.suffix, uid, false);
      await flushQueues(ctx);
      throw e;
    }
    say("switch home");
    await setHome(master.slapd, ctx.suffix, uid, to);
    lap("switch");
  } else {
    say("resuming: frozen at the new home by an interrupted run");
  }
  await waitReplicas(replicas, ctx.suffix, uid, { home: to, frozen: true }).catch((e) => say(`${(e as Error).message}; unfreezing anyway (mail for ${uid} on those nodes waits in their queues)`));
  await setFrozen(master.slapd, ctx.suffix, uid, false);
  await waitReplicas(replicas, ctx.suffix, uid, { home: to, frozen: false }).catch((e) => say((e as Error).message));
  lap("unfreeze");
  const freezeMs = Date.now() - frozenAt;
  await forgetRoutes(ctx);
  await flushQueues(ctx);
  await repairOwnership(dst, uid, say);
  const bytes = await dirBytes(dst, uid);
  const where = resumed === "no" ? ` (${Object.entries(phases).map(([p, ms]) => `${p} ${ms}`).join(", ")})` : "";
  say(`done: ${humanBytes(bytes)}, frozen for ${freezeMs} ms${where}`);
  return { user: uid, from, to, bytes, resumed, freezeMs: resumed === "no" ? freezeMs : 0, ...(resumed === "no" ? { freezePhases: phases } : {}), totalMs: Date.now() - started, ...(setAside ? { setAside } : {}) };
}

function node(ctx: MoveContext, name: string): MoveNode {
  const n = ctx.nodes.get(name);
  if (!n) throw new Error(`node ${name} is not a live node of this stack`);
  return n;
}

/** `du -sb` of the user's directory on a node (0 when there is none yet). */
export async function dirBytes(n: MoveNode, uid: string): Promise<number> {
  const r = await n.conn.run(["sh", "-c", 'test -d "$1" || { echo 0; exit 0; }; du -sb -- "$1" | cut -f1', "sh", userStoreDir(n.storePath, uid)], { label: `du ${uid}` });
  return Number(r.stdout.trim()) || 0;
}

/**
 * One stateful `doveadm backup` from the old home to the new one over the VPN; the exit code says
 * whether to run again. `state` is what the last clean round printed ("" = a full sync): given it,
 * dsync looks only at what changed since (by modseq) instead of walking every message of both copies,
 * which is what kept the freeze of a big mailbox growing with its size.
 */
async function backupOnce(src: MoveNode, dst: MoveNode, uid: string, state: string): Promise<{ code: number; said: string; state?: string }> {
  const r = await src.conn.run(["doveadm", "backup", "-s", state, "-u", uid, `tcp:${dst.vpnAddress}:${DOVEADM_PORT}`], { allowFailure: true, label: `doveadm backup ${uid} → ${dst.name}` });
  const said = (r.stderr.trim() || (r.code !== 0 ? r.stdout.trim() : "")).split("\n").slice(-3).join(" ");
  if (r.code !== 0 && r.code !== DSYNC_AGAIN && r.code !== DSYNC_TEMPFAIL) throw new Error(`[${src.name}] doveadm backup of ${uid} to ${dst.name} failed (exit ${r.code}): ${said}`);
  const printed = r.stdout.trim().split("\n").pop();
  return { code: r.code, said, ...(r.code === 0 && printed ? { state: printed } : {}) };
}

/** Rounds until one is clean; returns the state that round printed (for the next, incremental sync). */
async function syncUntilClean(src: MoveNode, dst: MoveNode, uid: string, say: (s: string) => void, phase: string, state = "", recover?: () => Promise<boolean>): Promise<string> {
  let last = "";
  for (let round = 1; round <= MAX_SYNC_ROUNDS; round++) {
    const r = await backupOnce(src, dst, uid, state);
    if (r.code === 0) return r.state ?? "";
    const { code, said } = r;
    last = said;
    say(`${phase}: ${code === DSYNC_TEMPFAIL ? "a temporary failure" : "dsync asks for another round"} (round ${round})${said ? `: ${said}` : ""}`);
    if (code === DSYNC_TEMPFAIL) await Promise.all([repairOwnership(src, uid, say), repairOwnership(dst, uid, say)]);
    // Going round in circles: seen on the lab, a first round cut short (gocryptfs, see DSYNC_TEMPFAIL)
    // left the new copy's INBOX with a GUID of its own, which dsync cannot delete to recreate
    // ("INBOX can't be deleted"), so every round asks for another. `recover` may set that copy aside;
    // then the next round is a full sync.
    if (recover && round === STUCK_ROUNDS && (await recover())) state = "";
    await sleep(Math.min(200 * round, 2000));
  }
  // The server side's reason is in the new home's log, not in the client's output. The log masks the
  // user (`doveadm(*)`): these are the last doveadm lines of anyone, read while this move holds the user.
  if (!last) last = (await dst.conn.run(["sh", "-c", `${logSinceCommand("-5min")} | grep -E ' dovecot(\\[[0-9]+\\])?: ' | grep -F 'doveadm(' | grep -iv debug | tail -3 | cut -d' ' -f3-`], { allowFailure: true, label: "dovecot log" })).stdout.trim().replace(/\n/g, " ");
  throw new Error(`doveadm backup of ${uid} to ${dst.name} did not finish cleanly in ${MAX_SYNC_ROUNDS} rounds${last ? ` (last: ${last})` : ""}`);
}

/** The user's INBOX GUID on a node (undefined when the node has no copy). */
async function inboxGuid(n: MoveNode, uid: string): Promise<string | undefined> {
  if ((await dirBytes(n, uid)) === 0) return undefined;
  const r = await n.conn.run(["doveadm", "-f", "flow", "mailbox", "status", "-u", uid, "guid", "INBOX"], { allowFailure: true, label: `INBOX guid of ${uid}` });
  return /guid=(\S+)/.exec(r.stdout)?.[1];
}

/**
 * Whether `n` holds a copy of the mailbox the user's home holds: the same INBOX GUID, which dsync
 * keeps (a mailbox created anew, e.g. by a delivery after a home was changed by hand, has its own).
 */
export async function holdsCopyOf(n: MoveNode, home: MoveNode, uid: string): Promise<boolean> {
  const there = await inboxGuid(n, uid);
  return there !== undefined && there === (await inboxGuid(home, uid));
}

/**
 * A copy the new home already holds is either an interrupted bulk copy of this move (same mailbox
 * GUIDs: dsync goes on from it) or a copy left by an earlier move away from this node (other GUIDs:
 * dsync would have to delete the INBOX, which it cannot). The latter is set aside, not deleted: it
 * is kept like any old copy until its grace period ends. Returns where it went.
 */
async function setAsideStaleCopy(src: MoveNode, dst: MoveNode, uid: string, say: (s: string) => void): Promise<string | undefined> {
  const there = await inboxGuid(dst, uid);
  if (there === undefined || there === (await inboxGuid(src, uid))) return undefined;
  const aside = `${dst.storePath}/.${uid}.old-${Date.now()}`;
  await dst.conn.run(["mv", "-T", "--", userStoreDir(dst.storePath, uid), aside], { label: `set aside the old copy of ${uid}` });
  say(`an older copy on ${dst.name} was set aside (${aside})`);
  return aside;
}

/**
 * Every file of a mail store belongs to the mail user; one that does not cannot be read by dsync or
 * by the user's IMAP session. Seen on the lab: Debian 12's gocryptfs 2.3 (root, -allow_other)
 * sometimes fails the chown that follows a file's creation (rfjakob/gocryptfs#892), leaving a
 * delivered message owned by root. The move repairs that in the copy it reads before the bulk copy,
 * in both copies after a round that failed, and in the new copy at the end (never inside the
 * freeze: the walk grows with the mailbox), retrying as the chown itself can fail the same way.
 */
async function repairOwnership(n: MoveNode, uid: string, say: (s: string) => void): Promise<void> {
  const script =
    'test -d "$1" || exit 0; n=$(find "$1" ! -user "$2" | wc -l); [ "$n" = 0 ] && exit 0; echo "$n"; ' +
    'i=0; while [ $i -lt 10 ]; do i=$((i+1)); find "$1" ! -user "$2" -exec chown "$2:$2" {} + 2>/dev/null && exit 0; done; ' +
    'left=$(find "$1" ! -user "$2" | wc -l); [ "$left" = 0 ] || { echo "$left files of $1 still not owned by $2" >&2; exit 1; }';
  const r = await n.conn.run(["sh", "-c", script, "sh", userStoreDir(n.storePath, uid), MAIL_USER], { label: `ownership of ${uid}'s store` });
  if (r.stdout.trim() !== "") say(`${r.stdout.trim()} file(s) on ${n.name} were not owned by ${MAIL_USER}: repaired`);
}

/** The bulk copy; returns dsync's state after it (the final sync goes on from there). */
async function bulkCopy(src: MoveNode, dst: MoveNode, uid: string, say: (s: string) => void): Promise<string> {
  await repairOwnership(src, uid, say);
  const total = await dirBytes(src, uid);
  say(`bulk copy of ${humanBytes(total)} while the user keeps working`);
  let copying = true;
  const progress = (async () => {
    while (copying) {
      await sleep(2000);
      if (copying) say(`bulk copy ${humanBytes(await dirBytes(dst, uid).catch(() => 0))} / ${humanBytes(total)}`);
    }
  })();
  try {
    // Before the switch nothing but this move writes the new copy: a stale one can be set aside safely.
    return await syncUntilClean(src, dst, uid, say, "bulk copy", "", async () => (await setAsideStaleCopy(src, dst, uid, say)) !== undefined);
  } finally {
    copying = false;
    await progress;
  }
}

/** Until no queue manager on any node is delivering to the user (a delivery in flight may still reach the old home). */
async function waitDeliveries(ctx: MoveContext, user: DirectoryUser, timeoutMs = 60_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const busy = await Promise.all(
      [...ctx.nodes.values()].map(async (n) => {
        const r = await n.conn.run(["postqueue", "-j"], { allowFailure: true, label: "postqueue -j" });
        return r.code === 0 && activeDeliveries(r.stdout, user.addresses).length > 0 ? n.name : undefined;
      }),
    );
    const nodes = busy.filter((b) => b !== undefined);
    if (nodes.length === 0) return;
    if (Date.now() > until) throw new Error(`deliveries to ${user.uid} still in flight on ${nodes.join(", ")} after ${timeoutMs} ms`);
    await sleep(100);
  }
}

/** End the user's sessions everywhere (a proxy's session is on a node that is not the home). */
async function kick(ctx: MoveContext, uid: string): Promise<void> {
  await Promise.all([...ctx.nodes.values()].map((n) => n.conn.run(["doveadm", "kick", uid], { allowFailure: true, label: `doveadm kick ${uid}` })));
}

async function mailboxStatus(n: MoveNode, uid: string): Promise<Record<string, string>> {
  const r = await n.conn.run(["doveadm", "-f", "tab", "mailbox", "status", "-u", uid, "messages vsize", "*"], { allowFailure: true, label: `doveadm mailbox status ${uid}` });
  if (r.code !== 0) throw new Error(`[${n.name}] cannot read ${uid}'s folders (exit ${r.code}): ${(r.stderr || r.stdout).trim()}`);
  return parseMailboxStatus(r.stdout);
}

/**
 * The last sync while frozen, then both copies compared folder by folder. The first try goes on
 * from the bulk copy's state (only the changes since); if the copies then differ, the second is a
 * full sync, so a state that missed something cannot lose it.
 */
async function finalSync(src: MoveNode, dst: MoveNode, uid: string, say: (s: string) => void, state: string, lap: (phase: string) => void): Promise<void> {
  for (let attempt = 1; attempt <= 2; attempt++) {
    // No ownership walk here: it grows with the mailbox, and the freeze must not (a failed round repairs).
    await syncUntilClean(src, dst, uid, say, "final sync", attempt === 1 ? state : "");
    lap(attempt === 1 ? "final sync" : "full sync");
    const [a, b] = await Promise.all([mailboxStatus(src, uid), mailboxStatus(dst, uid)]);
    lap(attempt === 1 ? "compare" : "compare again");
    const diff = copyDifferences(a, b);
    if (diff.length === 0) return;
    say(`copies differ after the final sync (${diff.join("; ")})${attempt === 1 ? ", syncing again in full" : ""}`);
    if (attempt === 2) throw new Error(`the copies of ${uid} on ${src.name} and ${dst.name} differ: ${diff.join("; ")}`);
  }
}

/**
 * `postfix reload` on every node. Postfix's address resolver client (in qmgr and smtpd) keeps its
 * last answer for 30 seconds (resolve_clnt.c): without this, a node that just routed a message for
 * the user keeps routing to the old home through the freeze and after the switch (seen in the lab:
 * deliveries to the old home 20 s after the switch). A reload restarts qmgr and trivial-rewrite;
 * connections in progress are not dropped.
 */
async function forgetRoutes(ctx: MoveContext): Promise<void> {
  await Promise.all([...ctx.nodes.values()].map((n) => n.conn.run(["postfix", "reload"], { allowFailure: true, label: "postfix reload" })));
}

/** `postqueue -f` on every node: what was deferred during the freeze goes out now, not in minutes. */
async function flushQueues(ctx: MoveContext): Promise<void> {
  await Promise.all([...ctx.nodes.values()].map((n) => n.conn.run(["postqueue", "-f"], { allowFailure: true, label: "postqueue -f" })));
}

/**
 * Remove the copy a move left behind, once its grace period is over — only if the directory (the
 * node's own replica) no longer names that node as the user's home.
 */
export async function removeOldCopy(n: MoveNode, suffix: string, uid: string, path?: string): Promise<"removed" | "kept: home again"> {
  if (path !== undefined) {
    // A copy set aside under a name no user can have (uids never start with a dot).
    if (!path.startsWith(`${n.storePath}/.${uid}.old-`) || path.includes("/../")) throw new Error(`refusing to remove ${path}: not a set-aside copy of ${uid}`);
    await n.conn.run(["rm", "-rf", "--", path], { label: `remove the old copy of ${uid}` });
    return "removed";
  }
  const u = await readDirectoryUser(n.slapd, suffix, uid);
  if (u && u.home === n.name) return "kept: home again";
  await n.conn.run(["rm", "-rf", "--", userStoreDir(n.storePath, uid)], { label: `remove the old copy of ${uid}` });
  return "removed";
}
