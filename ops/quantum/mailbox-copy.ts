/**
 * Copying the mail part of a quantum (planning/quantum/parts.ts) from the old home to the new one:
 * `doveadm backup` (dsync) over the VPN in rounds until clean, the bulk copy while the user works,
 * the check that no delivery to the user is in flight, and the final sync with the comparison of
 * both copies, whose outcome the protocol decides (planning/quantum/protocol.ts). What doveadm and
 * postqueue print is read by planning/mail/doveadm.ts and planning/mail/postqueue.ts.
 */
import { backupComplaint, backupOutcome, BackupOutcome, backupState, COPY_IDENTITY_FIELDS, copyDifferences, parseMailboxStatus } from "../../planning/mail/doveadm";
import { DOVEADM_PORT } from "../../planning/mail/move-channel";
import { activeDeliveries } from "../../planning/mail/postqueue";
import { humanBytes } from "../../planning/placement/moves";
import { afterComparison, finalSyncState } from "../../planning/quantum/protocol";
import { logSinceCommand } from "../../planning/logs";
import { sleep } from "../../transports/ldap";
import type { DirectoryUser } from "./journal";
import { dirBytes, repairOwnership, setAsideStaleCopy } from "./mail-store";
import type { MoveContext, MoveNode } from "./node";

const MAX_SYNC_ROUNDS = 20;
/** Rounds of "run again" after which the bulk copy checks whether the new copy went stale. */
const STUCK_ROUNDS = 3;

/**
 * One stateful `doveadm backup` from the old home to the new one over the VPN; its outcome says
 * whether to run again. `state` is what the last clean round printed ("" = a full sync): given it,
 * dsync looks only at what changed since (by modseq) instead of walking every message of both copies,
 * which is what kept the freeze of a big mailbox growing with its size.
 */
async function backupOnce(src: MoveNode, dst: MoveNode, uid: string, state: string): Promise<{ outcome: BackupOutcome; said: string; state?: string }> {
  const r = await src.conn.run(["doveadm", "backup", "-s", state, "-u", uid, `tcp:${dst.vpnAddress}:${DOVEADM_PORT}`], { allowFailure: true, label: `doveadm backup ${uid} → ${dst.name}` });
  const said = backupComplaint(r);
  const outcome = backupOutcome(r.code);
  if (outcome === "failed") throw new Error(`[${src.name}] doveadm backup of ${uid} to ${dst.name} failed (exit ${r.code}): ${said}`);
  return { outcome, said, ...(outcome === "clean" ? { state: backupState(r.stdout) } : {}) };
}

/** Rounds until one is clean; returns the state that round printed (for the next, incremental sync). */
async function syncUntilClean(src: MoveNode, dst: MoveNode, uid: string, say: (s: string) => void, phase: string, state = "", recover?: () => Promise<boolean>): Promise<string> {
  let last = "";
  for (let round = 1; round <= MAX_SYNC_ROUNDS; round++) {
    const r = await backupOnce(src, dst, uid, state);
    if (r.outcome === "clean") return r.state ?? "";
    const { outcome, said } = r;
    last = said;
    say(`${phase}: ${outcome === "temporary failure" ? "a temporary failure" : "dsync asks for another round"} (round ${round})${said ? `: ${said}` : ""}`);
    if (outcome === "temporary failure") await Promise.all([repairOwnership(src, uid, say), repairOwnership(dst, uid, say)]);
    // Going round in circles: seen on the lab, a first round cut short (gocryptfs: DSYNC_TEMPFAIL, planning/mail/doveadm.ts)
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

/** The bulk copy; returns dsync's state after it (the final sync goes on from there). */
export async function bulkCopy(src: MoveNode, dst: MoveNode, uid: string, say: (s: string) => void): Promise<string> {
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
    // Before the switch the new copy is not the mailbox: one dsync cannot bring level is set aside (kept
    // until its grace ends) and the next round copies in full.
    return await syncUntilClean(src, dst, uid, say, "bulk copy", "", async () => (await setAsideStaleCopy(src, dst, uid, say, { evenIfSameMailbox: true })) !== undefined);
  } finally {
    copying = false;
    await progress;
  }
}

/** Until no queue manager on any node is delivering to the user (a delivery in flight may still reach the old home). */
export async function waitDeliveries(ctx: MoveContext, user: DirectoryUser, timeoutMs = 60_000): Promise<void> {
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

async function mailboxStatus(n: MoveNode, uid: string): Promise<Record<string, string>> {
  const r = await n.conn.run(["doveadm", "-f", "tab", "mailbox", "status", "-u", uid, COPY_IDENTITY_FIELDS.join(" "), "*"], { allowFailure: true, label: `doveadm mailbox status ${uid}` });
  if (r.code !== 0) throw new Error(`[${n.name}] cannot read ${uid}'s folders (exit ${r.code}): ${(r.stderr || r.stdout).trim()}`);
  return parseMailboxStatus(r.stdout);
}

/**
 * The last sync while frozen, then both copies compared folder by folder; what follows each
 * comparison is the protocol's (`afterComparison`): the switch, a second sync in full, or the move's
 * failure at the old home (this throws).
 */
export async function finalSync(src: MoveNode, dst: MoveNode, uid: string, say: (s: string) => void, state: string, lap: (phase: string) => void): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    // No ownership walk here: it grows with the mailbox, and the freeze must not (a failed round repairs).
    await syncUntilClean(src, dst, uid, say, "final sync", finalSyncState(attempt, state));
    lap(attempt === 1 ? "final sync" : "full sync");
    const [a, b] = await Promise.all([mailboxStatus(src, uid), mailboxStatus(dst, uid)]);
    lap(attempt === 1 ? "compare" : "compare again");
    const diff = copyDifferences(a, b);
    const next = afterComparison(attempt, diff);
    if (next === "switch") return;
    say(`copies differ after the final sync (${diff.join("; ")})${next === "sync again in full" ? ", syncing again in full" : ""}`);
    if (next === "copies differ: fail") throw new Error(`the copies of ${uid} on ${src.name} and ${dst.name} differ: ${diff.join("; ")}`);
  }
}
