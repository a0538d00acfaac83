/**
 * Anonymity of submitted mail, as a contribution to the mail daemons (./contribution.ts): what a
 * recipient sees of a message a user submitted must not say where the user was, which client they
 * used, or which node is their home. See docs/anonymity.md. Pure: no Pulumi, no I/O.
 *
 * The path of an outgoing message: the user's client → port 587 of whichever node it reached (the
 * round-robin `smtp.<domain>`; any node accepts any user) → that node's smtpd adds a Received line
 * with the client's address → cleanup → queue → smtp(8) straight to the recipient's MX. So:
 * - The submission smtpd hands its mail to its own cleanup, `clean_submission`, whose header_checks
 *   REPLACE that Received line by one from `[127.0.0.1]` (LEAP's "received_anon", rewritten not
 *   deleted: the hop, its id and date stay for the recipient's postmaster) and remove client
 *   headers (User-Agent, X-Mailer, X-Originating-IP…). Only submission: mail arriving on port 25
 *   keeps its Received lines untouched.
 * - A contribution cannot change routing's `submission` service (two features defining one service
 *   differently is a conflict), so routing.ts must add `submissionAnonymityOptions()` to its
 *   `submission` options — the lead wires that (one line in routing.ts).
 * - Internal hops: today an outgoing message never crosses the VPN (it leaves from the node that
 *   accepted it). It will once a home forwards or answers (sieve redirect, vacation) mail that came
 *   in through another node: the home's dovecot LMTP line `Received: from <mx> ([<VPN address>]) by
 *   <home>` names the home and its VPN address. The minimal rule: smtp(8) — outbound only; internal
 *   LMTP deliveries keep every line — drops Received lines whose client address lies in a trust
 *   ring's VPN range. The egress node is named anyway (it connects, it signs); the home is not.
 * Needs Debian's postfix-pcre.
 */
import type { DaemonContribution, DaemonFile } from "./contribution";
import { cleanupService } from "./postfix-config";

export const ANONYMITY_FEATURE = "anonymity";
/** The cleanup service of the submission port (the anonymising one). */
export const SUBMISSION_CLEANUP = "clean_submission";
export const SUBMISSION_HEADER_CHECKS = "/etc/postfix/rplan/submission-header-checks.pcre";
export const OUTBOUND_HEADER_CHECKS = "/etc/postfix/rplan/outbound-header-checks.pcre";

export interface MailAnonymityInput {
  /** The trust rings' VPN ranges (IPv4 CIDRs): a Received line from one of them is an internal hop. */
  readonly vpnCidrs: readonly string[];
}

/** One line of a postfix pcre table: `/pattern/ action`. Postfix matches case-insensitively by default. */
export interface PcreRule {
  readonly pattern: string;
  readonly action: string;
  /** Why (a comment line above the rule). */
  readonly why: string;
}

/**
 * The smtpd Received line of an authenticated submission (`with ESMTPSA`/`ESMTPA`, RFC 3848), as
 * cleanup sees it: one logical header, continuation lines joined with "\n" and their indentation.
 * $1 is the white space before `by` (keeps the folding), $2 everything from `by` to the end. The
 * `from` part runs to the last `[address])` of the first line, so a HELO name made to look like an
 * address cannot keep the real one. Syntax common to PCRE and JavaScript (no POSIX classes).
 */
const SUBMITTED_RECEIVED = String.raw`^Received: from [^\n]*\[(?:IPv6:)?[0-9a-f.:]+\]\)[\s\S]*?(\s+)(by \S+ \([^)\n]*\) with E?SMTPS?A id [\s\S]*)$`;

/** Headers mail clients add that name the client, its version or the user's address. */
export const CLIENT_HEADERS = [
  "User-Agent",
  "X-Mailer",
  "X-Newsreader",
  "X-MimeOLE",
  "X-Originating-IP",
  "X-Originating-Host",
  "X-Forwarded-For",
  "X-Real-IP",
  "X-Client-IP",
  "X-Remote-Addr",
  "X-Remote-IP",
  "X-Sender-IP",
  "X-PHP-Originating-Script",
  "X-Enigmail-Version",
] as const;

export const SUBMISSION_RULES: readonly PcreRule[] = [
  { why: "the submission smtpd's Received line: the client's address becomes 127.0.0.1, the rest stays", pattern: SUBMITTED_RECEIVED, action: "REPLACE Received: from [127.0.0.1] (localhost [127.0.0.1])$1$2" },
  { why: "headers that name the client program or the user's address", pattern: `^(?:${CLIENT_HEADERS.join("|")}):`, action: "IGNORE" },
];

/** An IPv4 CIDR as a regular expression for its addresses (whole octets, alternation for a partial one). */
export function ipv4CidrPattern(cidr: string): string {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(cidr);
  if (!m || m.slice(1, 5).some((o) => Number(o) > 255) || Number(m[5]) > 32) throw new Error(`${JSON.stringify(cidr)} is not an IPv4 CIDR`);
  const octets = m.slice(1, 5).map(Number);
  const bits = Number(m[5]);
  const out: string[] = [];
  for (let i = 0; i < 4; i++) {
    const fixed = Math.max(0, Math.min(8, bits - 8 * i));
    if (fixed === 8) out.push(String(octets[i]));
    else if (fixed === 0) out.push(String.raw`\d{1,3}`);
    else {
      const base = octets[i] & (0xff << (8 - fixed)) & 0xff;
      out.push(`(?:${Array.from({ length: 1 << (8 - fixed) }, (_, k) => base + k).join("|")})`);
    }
  }
  return out.join(String.raw`\.`);
}

export function outboundRules(input: MailAnonymityInput): PcreRule[] {
  const ranges = input.vpnCidrs.map(ipv4CidrPattern).join("|");
  return [{ why: "an internal hop (a client address on the VPN) would name the sender's home node", pattern: String.raw`^Received: from [^\n]*\[(?:${ranges})\]`, action: "IGNORE" }];
}

/** A pcre table's text. */
export function renderPcreTable(title: string, rules: readonly PcreRule[]): string {
  return `# ${title}\n# Generated by rplan (feature ${ANONYMITY_FEATURE}); postfix pcre tables match case-insensitively.\n` + rules.map((r) => `# ${r.why}\n/${r.pattern}/ ${r.action}\n`).join("");
}

/** The `-o` options routing.ts must add to its `submission` service (the lead merges them there). */
export function submissionAnonymityOptions(): Record<string, string> {
  return { cleanup_service_name: SUBMISSION_CLEANUP };
}

/** Every problem with the input (the ranges end up in a regular expression). */
export function mailAnonymityProblems(input: MailAnonymityInput): string[] {
  const p: string[] = [];
  if (input.vpnCidrs.length === 0) p.push("no VPN range: internal hops could not be recognised");
  for (const c of input.vpnCidrs) {
    try {
      ipv4CidrPattern(c);
    } catch (e) {
      p.push((e as Error).message);
    }
  }
  return p;
}

/** What anonymity contributes to every live node's mail daemons (the same for every node). */
export function planMailAnonymity(input: MailAnonymityInput): DaemonContribution {
  const problems = mailAnonymityProblems(input);
  if (problems.length > 0) throw new Error(`cannot plan mail anonymity:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
  const cleanup = cleanupService(SUBMISSION_CLEANUP, { syslog_name: `postfix/${SUBMISSION_CLEANUP}`, header_checks: `pcre:${SUBMISSION_HEADER_CHECKS}` });
  const files: DaemonFile[] = [
    { path: SUBMISSION_HEADER_CHECKS, content: renderPcreTable("header_checks of mail submitted on port 587 (cleanup service clean_submission)", SUBMISSION_RULES) },
    { path: OUTBOUND_HEADER_CHECKS, content: renderPcreTable("smtp_header_checks: what leaves the cluster (smtp(8) only; internal LMTP keeps every line)", outboundRules(input)) },
  ];
  return {
    feature: ANONYMITY_FEATURE,
    postfix: {
      notes: [`mail submitted on port 587 goes through ${SUBMISSION_CLEANUP}: the client's address and client headers are removed (docs/anonymity.md)`],
      main: {
        // The default, set so that a feature turning it on conflicts at preview instead of leaking the login.
        smtpd_sasl_authenticated_header: "no",
        smtp_header_checks: `pcre:${OUTBOUND_HEADER_CHECKS}`,
      },
      master: [cleanup],
      files,
    },
    dovecot: {
      notes: ["login lines carry no client address (rip); see docs/anonymity.md"],
      settings: {
        // Debian's default without rip=%r: the user's address never reaches the journal.
        login_log_format_elements: "user=<%u> method=%m lip=%l mpid=%e %c session=<%{session}>",
        auth_verbose: "no",
        auth_verbose_passwords: "no",
        auth_debug: "no",
        verbose_proctitle: "no",
      },
    },
  };
}
