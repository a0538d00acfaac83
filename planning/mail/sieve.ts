/**
 * Users' filters and vacation replies: dovecot's Pigeonhole (Debian's dovecot-sieve and
 * dovecot-managesieved) on every node. Pure: no Pulumi, no I/O.
 *
 * - **The scripts are in the quantum.** They live in the user's dovecot home on the home node
 *   (`<store>/<uid>/sieve/`, the active one linked as `<store>/<uid>/.dovecot.sieve`), beside the
 *   Maildir, inside the encrypted mount. dsync carries them: Pigeonhole's doveadm plugin hands the
 *   scripts to `doveadm backup` as mailbox attributes. So a move and the standby copy take them
 *   with the mail, and nothing else copies them.
 * - **The home runs them** when its LMTP delivers (`protocol lmtp { mail_plugins = … sieve }`).
 *   Every MX routes to the home, so the script runs once, whichever MX took the message.
 * - **ManageSieve on every node** (port 4190, STARTTLS before a password), proxied to the home over
 *   the VPN by the same passdb that proxies IMAP (./routing.ts): a user edits the scripts the home
 *   runs, wherever they connect.
 * - **What ManageSieve refuses:** an upload that does not compile, with the compiler's message (the
 *   old script stays active); one larger than SIEVE_MAX_SCRIPT_SIZE or beyond the user's script
 *   quota; a script that asks for `reject` (refusing after the MX accepted is a bounce).
 * - **Vacation** answers one sender at most once every VACATION_DAYS days (the user may ask for
 *   fewer). Pigeonhole never answers lists, bulk mail, auto-replies or the null sender. The reply
 *   leaves by `sendmail`, so it goes through postfix's local pickup. rplan gives pickup a cleanup of
 *   its own that has opendkim sign what it carries, as on submission (./dkim.ts). What leaves the
 *   cluster passes the outbound header checks like all mail (./anonymity.ts).
 */
import type { DaemonContribution, DovecotSection, MasterService } from "./contribution";
import { localSigningCleanup, LOCAL_CLEANUP } from "./dkim";

/** ManageSieve's port (RFC 5804), on every address of every node. */
export const MANAGESIEVE_PORT = 4190;
/** Where a user's scripts are, relative to their dovecot home (the quantum's folder). */
export const SIEVE_DIR = "sieve";
/** The link to the active script, in the user's dovecot home. */
export const SIEVE_ACTIVE = ".dovecot.sieve";
/** The largest script ManageSieve takes. */
export const SIEVE_MAX_SCRIPT_SIZE = "64K";
/** How many scripts a user may keep, and their total size. */
export const SIEVE_MAX_SCRIPTS = 20;
export const SIEVE_MAX_STORAGE = "1M";
/** Sieve extensions no script may use (see sieveContribution). */
export const SIEVE_REFUSED_EXTENSIONS = ["reject"];
/** Vacation's default period between two replies to the same sender (the user may ask for fewer, never under a day). */
export const VACATION_DAYS = 3;

/** dovecot's part on every node, and postfix's: pickup signs what sieve sends. */
export function sieveContribution(): DaemonContribution {
  const sections: DovecotSection[] = [
    {
      name: "plugin",
      settings: {
        sieve: `file:~/${SIEVE_DIR};active=~/${SIEVE_ACTIVE}`,
        sieve_max_script_size: SIEVE_MAX_SCRIPT_SIZE,
        sieve_quota_max_scripts: String(SIEVE_MAX_SCRIPTS),
        sieve_quota_max_storage: SIEVE_MAX_STORAGE,
        // The MX accepted the message before the home runs the script: a sieve `reject` would be
        // a bounce (backscatter). A script that needs it does not compile; `discard` and
        // `fileinto` remain. (Pigeonhole 0.5 does not offer `ereject` at all.)
        sieve_extensions: SIEVE_REFUSED_EXTENSIONS.map((e) => `-${e}`).join(" "),
        sieve_vacation_min_period: "1d",
        sieve_vacation_default_period: `${VACATION_DAYS}d`,
        sieve_vacation_max_period: "30d",
        // A redirected message's bounces go back to the user who redirected it, not to a sender
        // whose domain never sent it from here.
        sieve_redirect_envelope_from: "recipient",
      },
    },
    { name: "protocol lmtp", settings: { mail_plugins: "$mail_plugins sieve" } },
    { name: "service managesieve-login", sections: [{ name: "inet_listener sieve", settings: { port: String(MANAGESIEVE_PORT) } }] },
  ];
  const pickup: MasterService = { service: "pickup", type: "unix", private: "n", unpriv: "-", chroot: "y", wakeup: "60", maxproc: "1", command: "pickup", options: { cleanup_service_name: LOCAL_CLEANUP } };
  return {
    feature: "sieve",
    dovecot: {
      notes: [`users' sieve filters run on their home at delivery; ManageSieve on port ${MANAGESIEVE_PORT}, proxied to the home like IMAP (docs/mail.md)`],
      settings: { protocols: "imap pop3 lmtp sieve" },
      sections,
    },
    postfix: {
      notes: [`mail a node sends itself (vacation replies, sieve redirects) goes through ${LOCAL_CLEANUP}, which has opendkim sign it`],
      master: [pickup, localSigningCleanup()],
    },
  };
}
