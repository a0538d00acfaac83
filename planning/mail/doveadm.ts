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

/** `doveadm -f tab mailbox status -u U "messages vsize" "*"` → folder → "messages/vsize". */
export function parseMailboxStatus(tab: string): Record<string, string> {
  const lines = tab.split("\n").filter((l) => l.trim() !== "");
  const out: Record<string, string> = {};
  if (lines.length === 0) return out;
  const head = lines[0].split("\t");
  const [iName, iMsgs, iSize] = ["mailbox", "messages", "vsize"].map((h) => head.indexOf(h));
  if (iName < 0 || iMsgs < 0 || iSize < 0) throw new Error(`unexpected doveadm mailbox status header: ${lines[0]}`);
  for (const l of lines.slice(1)) {
    const f = l.split("\t");
    out[f[iName]] = `${f[iMsgs]}/${f[iSize]}`;
  }
  return out;
}

/** Folders whose message count or size differ between two copies ("INBOX: 120/3400 vs 119/3300"). */
export function copyDifferences(a: Record<string, string>, b: Record<string, string>): string[] {
  const folders = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  return folders.filter((f) => a[f] !== b[f]).map((f) => `${f}: ${a[f] ?? "missing"} vs ${b[f] ?? "missing"}`);
}
