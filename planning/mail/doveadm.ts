/**
 * What dovecot's `doveadm` says, read: `doveadm backup` (dsync) exit codes and the state it prints,
 * `doveadm mailbox status` in its tab and flow formats, and the comparison of two copies' statuses.
 * Pure; the commands are run by ops/quantum/mailbox-copy.ts and ops/quantum/mail-store.ts.
 */

/** doveadm's "not perfectly synchronized, run again" (doveadm-sync(1)). */
export const DSYNC_AGAIN = 2;
/**
 * EX_TEMPFAIL: a temporary failure, run again. Seen on the lab, whose encrypted mounts are Debian 12's
 * gocryptfs 2.3 run as root with -allow_other: about 1 file creation in 100 fails with EPERM
 * (rfjakob/gocryptfs#892, fixed in 2.5). Another round copies what the last one could not.
 */
export const DSYNC_TEMPFAIL = 75;

/** What one `doveadm backup` round's exit code means: done, run again (asked, or a temporary failure), or failed. */
export type BackupOutcome = "clean" | "again" | "temporary failure" | "failed";

export function backupOutcome(code: number): BackupOutcome {
  if (code === 0) return "clean";
  if (code === DSYNC_AGAIN) return "again";
  if (code === DSYNC_TEMPFAIL) return "temporary failure";
  return "failed";
}

/** The state a clean stateful round (`-s`) printed last on stdout (undefined: none): the next round goes on from it. */
export function backupState(stdout: string): string | undefined {
  return stdout.trim().split("\n").pop() || undefined;
}

/** What a round said, for a message: its stderr's last lines (stdout's when it failed silently on stderr). */
export function backupComplaint(r: { readonly code: number; readonly stdout: string; readonly stderr: string }): string {
  return (r.stderr.trim() || (r.code !== 0 ? r.stdout.trim() : "")).split("\n").slice(-3).join(" ");
}

/** `doveadm -f flow mailbox status -u U guid INBOX` → the INBOX's GUID (undefined: none printed). */
export function parseInboxGuid(flow: string): string | undefined {
  return /guid=(\S+)/.exec(flow)?.[1];
}

/**
 * What the final comparison of two copies reads, per folder: only what each folder's index header
 * already holds, so it costs the same for 10 MB and 1 GB. `vsize` did not: it read every message
 * whose size the index lacked (4.6 s of a 1 GB user's 5.4 s freeze). dsync keeps UIDs, UIDVALIDITY
 * and the folder's GUID, so a copy that lacks a message, or holds one more, differs in `messages`
 * or `uidnext`; a folder recreated differs in `guid`/`uidvalidity`.
 */
export const COPY_IDENTITY_FIELDS = ["messages", "uidnext", "uidvalidity", "guid"] as const;

/** `doveadm -f tab mailbox status -u U "<COPY_IDENTITY_FIELDS>" "*"` → folder → "messages=…,uidnext=…,…". */
export function parseMailboxStatus(tab: string, fields: readonly string[] = COPY_IDENTITY_FIELDS): Record<string, string> {
  const lines = tab.split("\n").filter((l) => l.trim() !== "");
  const out: Record<string, string> = {};
  if (lines.length === 0) return out;
  const head = lines[0].split("\t");
  const iName = head.indexOf("mailbox");
  const at = fields.map((f) => head.indexOf(f));
  if (iName < 0 || at.some((i) => i < 0)) throw new Error(`unexpected doveadm mailbox status header: ${lines[0]} (expected mailbox, ${fields.join(", ")})`);
  for (const l of lines.slice(1)) {
    const f = l.split("\t");
    out[f[iName]] = fields.map((name, k) => `${name}=${f[at[k]]}`).join(",");
  }
  return out;
}

/** Folders whose identity differs between two copies ("INBOX: messages=120,uidnext=121,… vs messages=119,…"). */
export function copyDifferences(a: Record<string, string>, b: Record<string, string>): string[] {
  const folders = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  return folders.filter((f) => a[f] !== b[f]).map((f) => `${f}: ${a[f] ?? "missing"} vs ${b[f] ?? "missing"}`);
}
