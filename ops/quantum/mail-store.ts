/**
 * The mail part of a quantum (planning/quantum/parts.ts) in one node's mail store: its size, whose
 * mailbox it is a copy of, a stale copy set aside, files owned by the mail user, an old copy
 * removed. Host procedures over SSH; what doveadm prints is read by planning/mail/doveadm.ts.
 */
import { parseInboxGuid } from "../../planning/mail/doveadm";
import { MAIL_USER } from "../../planning/mail/routing";
import { mailDir } from "../../planning/quantum/parts";
import { readDirectoryUser } from "./journal";
import type { MoveNode } from "./node";

/** `du -sb` of the user's directory on a node (0 when there is none yet). */
export async function dirBytes(n: MoveNode, uid: string): Promise<number> {
  const r = await n.conn.run(["sh", "-c", 'test -d "$1" || { echo 0; exit 0; }; du -sb -- "$1" | cut -f1', "sh", mailDir(n.storePath, uid)], { label: `du ${uid}` });
  return Number(r.stdout.trim()) || 0;
}

/** `du -sb` of several users' directories on a node in one command (0 for a user with none yet). */
export async function dirsBytes(n: MoveNode, uids: readonly string[]): Promise<Map<string, number>> {
  const out = new Map(uids.map((u) => [u, 0]));
  if (uids.length === 0) return out;
  const script = 'for d in "$@"; do if test -d "$d"; then du -sb -- "$d"; else printf "0\\t%s\\n" "$d"; fi; done';
  const dirs = uids.map((u) => mailDir(n.storePath, u));
  const r = await n.conn.run(["sh", "-c", script, "sh", ...dirs], { label: `du of ${uids.length} users` });
  const byDir = new Map(r.stdout.split("\n").filter(Boolean).map((l) => [l.slice(l.indexOf("\t") + 1), Number(l.split("\t")[0]) || 0]));
  uids.forEach((u, i) => out.set(u, byDir.get(dirs[i]) ?? 0));
  return out;
}

/** The user's INBOX GUID on a node (undefined when the node has no copy). */
async function inboxGuid(n: MoveNode, uid: string): Promise<string | undefined> {
  if ((await dirBytes(n, uid)) === 0) return undefined;
  const r = await n.conn.run(["doveadm", "-f", "flow", "mailbox", "status", "-u", uid, "guid", "INBOX"], { allowFailure: true, label: `INBOX guid of ${uid}` });
  return parseInboxGuid(r.stdout);
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
 * is kept like any old copy until its grace period ends. Returns where it went. `evenIfSameMailbox`:
 * also a copy of this mailbox that dsync cannot bring level (it diverged: a copy left on a node that
 * was revoked and came back, a tampered standby); before the switch the new copy is never the mailbox.
 */
export async function setAsideStaleCopy(src: MoveNode, dst: MoveNode, uid: string, say: (s: string) => void, opts: { readonly evenIfSameMailbox?: boolean } = {}): Promise<string | undefined> {
  const there = await inboxGuid(dst, uid);
  if (there === undefined || (!opts.evenIfSameMailbox && there === (await inboxGuid(src, uid)))) return undefined;
  const aside = `${dst.storePath}/.${uid}.old-${Date.now()}`;
  await dst.conn.run(["mv", "-T", "--", mailDir(dst.storePath, uid), aside], { label: `set aside the old copy of ${uid}` });
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
export async function repairOwnership(n: MoveNode, uid: string, say: (s: string) => void): Promise<void> {
  const script =
    'test -d "$1" || exit 0; n=$(find "$1" ! -user "$2" | wc -l); [ "$n" = 0 ] && exit 0; echo "$n"; ' +
    'i=0; while [ $i -lt 10 ]; do i=$((i+1)); find "$1" ! -user "$2" -exec chown "$2:$2" {} + 2>/dev/null && exit 0; done; ' +
    'left=$(find "$1" ! -user "$2" | wc -l); [ "$left" = 0 ] || { echo "$left files of $1 still not owned by $2" >&2; exit 1; }';
  const r = await n.conn.run(["sh", "-c", script, "sh", mailDir(n.storePath, uid), MAIL_USER], { label: `ownership of ${uid}'s store` });
  if (r.stdout.trim() !== "") say(`${r.stdout.trim()} file(s) on ${n.name} were not owned by ${MAIL_USER}: repaired`);
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
  await n.conn.run(["rm", "-rf", "--", mailDir(n.storePath, uid)], { label: `remove the old copy of ${uid}` });
  return "removed";
}
