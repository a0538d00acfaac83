/**
 * Logs that keep no client IP address and no full user mail address, on disk or in RAM. See
 * docs/anonymity.md. Pure: no Pulumi, no I/O — the files and commands below are written and run by
 * each node's `<node>-log-anonymity` HostFiles (components/node.ts).
 *
 * The path of a log line: a daemon → journald, which keeps nothing (`Storage=none`: a server seized
 * while running can have its RAM read, so not even a volatile journal) and forwards every line to
 * rsyslog → rsyslog's first rule (`00-…`, before Debian's rules) anonymises every message and writes
 * it to one file, then `stop`s it, so Debian's /var/log/syslog, mail.log and auth.log never receive a
 * raw line.
 * - IP addresses: rsyslog's mmanon (8.2302), zero mode, all 32 IPv4 bits and all 128 IPv6 bits
 *   (its defaults, 16 and 96, keep the network part).
 * - Mail addresses and logins: RainerScript has no regex replace (`replace()` is literal,
 *   `re_extract()` only extracts one match), and postfix has no option to hide addresses in its log,
 *   so the line goes through omprog to GNU sed (line-buffered), whose output omprog appends to the
 *   file. The local part is masked, the domain kept (internal or external is what one debugs).
 *   Message-IDs pass whole: `npm run mail -- trace` follows them across nodes.
 * - wtmp, btmp and lastlog (login records with the SSH client's address, written by sshd and PAM,
 *   not through syslog) become symlinks to /dev/null.
 */

export interface LogAnonymityInput {
  /** Days the anonymised file is kept (default 7). */
  readonly fileRetentionDays?: number;
}

export interface LogFile {
  readonly path: string;
  readonly content: string;
  /** Octal, default "0644". */
  readonly mode?: string;
}

/** A setting a daemon's own configuration must carry, and who writes it. */
export interface DaemonLogSetting {
  readonly daemon: "postfix" | "dovecot" | "sshd" | "slapd" | "tinc" | "knot" | "journald";
  readonly setting: string;
  readonly value: string;
  readonly why: string;
  /** Where it is (or must be) applied. */
  readonly appliedBy: string;
}

export interface LogAnonymityPlan {
  readonly files: LogFile[];
  readonly settings: readonly DaemonLogSetting[];
  /** Debian packages a node needs (Debian 12's minimal installs have no syslog daemon; logrotate is only rsyslog's Recommends). */
  readonly packages: string[];
  /** argv lists run after the files change, in order. */
  readonly commands: string[][];
}

export const RSYSLOG_DROP_IN = "/etc/rsyslog.d/00-rplan-anonymity.conf";
export const JOURNALD_DROP_IN = "/etc/systemd/journald.conf.d/rplan-anonymity.conf";
export const MASK_SED = "/etc/rplan/log-mask.sed";
export const ANONYMISED_LOG = "/var/log/rplan.log";
export const LOGROTATE_FILE = "/etc/logrotate.d/rplan-anonymity";
/** The only writer of log lines on disk, and the rotation of its file (only rsyslog's Recommends). */
export const LOG_PACKAGES = ["rsyslog", "logrotate"] as const;
/** Login records sshd and PAM write straight to files (with the client's address): pointed at /dev/null. */
export const LOGIN_RECORDS = ["/var/log/wtmp", "/var/log/btmp", "/var/log/lastlog"] as const;

/** One substitution of the mask (POSIX ERE as GNU sed -E reads it; applied to every match in the line). */
export interface MaskRule {
  readonly ere: string;
  readonly replacement: string;
  readonly why: string;
}

/**
 * Stands for the `@` of a Message-ID while the address rule runs. rsyslog escapes control characters
 * on receipt (`#001`), so no logged line holds this byte itself.
 */
const AT = "\\x01";

export const MASK_RULES: readonly MaskRule[] = [
  // First: a Message-ID is no user's address (the trace follows it across nodes, postfix's
  // `message-id=<…>`, dovecot's `msgid=<…>`); its `@` is hidden from the address rule and restored last.
  { why: "a Message-ID keeps its @ (hidden from the address rule)", ere: "((message-id|msgid)=<[^@>]*)@", replacement: `\\1${AT}` },
  { why: "dovecot's login (user=<alice>)", ere: "(user=<)[^>]*>", replacement: "\\1*>" },
  { why: "postfix's SASL login (sasl_username=alice)", ere: "(sasl_(username|sender)=)[^, ]+", replacement: "\\1*" },
  { why: "a refused sender's login (553 … not owned by user alice; the From header check's 550 likewise)", ere: "(not owned by user )[^ ;,]+", replacement: "\\1*" },
  // header_checks log the header they act on (the original Received line: the client's HELO and
  // reverse name): its value goes, the action and the replacement stay.
  { why: "a header a header_checks action logs (replace: header Received: VALUE from client; from=…)", ere: "(: [a-z]+: header [A-Za-z-]+: ).*( from [^ ]*\\[[^]]*\\]; from=<)", replacement: "\\1*\\2" },
  { why: "a client's HELO name (helo=<laptop.example>)", ere: "(helo=<)[^>]*>", replacement: "\\1*>" },
  // A client's reverse-DNS name often spells its address (dsl-1-2-3-4.isp.example): mmanon zeroes
  // only the address in brackets.
  { why: "postfix's client name (connect from NAME[addr], client=NAME[addr], RCPT from NAME[addr])", ere: "(from |client=)[A-Za-z0-9._-]+\\[", replacement: "\\1*[" },
  { why: "postfix's failed forward check (warning: hostname NAME does not resolve to address)", ere: "(warning: hostname )[^ ]+", replacement: "\\1*" },
  { why: "dovecot's per-user log prefix (imap(alice), lmtp(alice), proxy(alice), ldap(alice,…))", ere: "\\b(imap|pop3|lmtp|submission|managesieve|doveadm|proxy|auth-worker|ldap|passwd-file)\\([^)]*\\)", replacement: "\\1(*)" },
  // mmanon zeroes an IPv4 address written backwards too (a DNS blocklist or PTR query rspamd logs when
  // it fails), but not an IPv6 address in nibbles: 1.0.0.0.….ip6.arpa, or ….zen.spamhaus.org.
  { why: "a client's IPv6 address in nibbles (a reverse or blocklist query rspamd logs)", ere: "\\b([0-9a-fA-F]\\.){16,}", replacement: "*." },
  // Last, so that the logins above go whole. `=` is left out of the local part: `sender=a@b` keeps
  // its key, and an SRS address keeps its hash and original domain but loses the original user.
  { why: "a mail address: the local part goes, the domain stays", ere: "[A-Za-z0-9._%+-]+@([A-Za-z0-9-]+(\\.[A-Za-z0-9-]+)+)", replacement: "*@\\1" },
  { why: "a Message-ID's @ restored", ere: AT, replacement: "@" },
];

/** The sed program: one `s###g` per rule (`#` is in no rule; a rule containing it would be refused). */
export function renderMaskSed(rules: readonly MaskRule[] = MASK_RULES): string {
  const bad = rules.filter((r) => /[#\n]/.test(r.ere + r.replacement + r.why));
  if (bad.length > 0) throw new Error(`mask rules cannot hold "#" or a newline: ${bad.map((r) => r.why).join("; ")}`);
  return "# Generated by rplan: masks mail addresses and logins in every log line before it is written (docs/anonymity.md).\n" + rules.map((r) => `# ${r.why}\ns#${r.ere}#${r.replacement}#g\n`).join("");
}

function rsyslogConf(): string {
  const mmanon = [
    'type="mmanon"',
    'ipv4.enable="on" ipv4.mode="zero" ipv4.bits="32"',
    'ipv6.enable="on" ipv6.anonmode="zero" ipv6.bits="128"',
    'embeddedipv4.enable="on" embeddedipv4.anonmode="zero" embeddedipv4.bits="128"',
  ].join(" ");
  return [
    "# Generated by rplan (docs/anonymity.md). Every message, whatever its source:",
    'module(load="mmanon")',
    'module(load="omprog")',
    "# 1. whole IP addresses zeroed (mmanon's defaults would keep 16 IPv4 and 32 IPv6 bits),",
    `action(${mmanon})`,
    "# 2. mail addresses and logins masked by sed (RainerScript has no regex replace), appended to one file,",
    `action(type="omprog" name="rplan-mask" binary="/usr/bin/sed -u -E -f ${MASK_SED}" output="${ANONYMISED_LOG}" fileCreateMode="0640" template="RSYSLOG_FileFormat")`,
    "# 3. and nothing else: Debian's rules after this file (syslog, mail.log, auth.log) never see a raw line.",
    "stop",
    "",
  ].join("\n");
}

/** Every problem with the input, at once. */
export function logAnonymityProblems(input: LogAnonymityInput): string[] {
  const p: string[] = [];
  const { fileRetentionDays: d, ...rest } = input as LogAnonymityInput & Record<string, unknown>;
  // The journal keeps nothing: a retention for it is a mistake, not a setting.
  for (const k of Object.keys(rest)) p.push(`unknown log anonymity setting ${k}${k === "journalRetentionSec" ? " (the journal keeps nothing: Storage=none)" : ""}`);
  if (d !== undefined && (!Number.isInteger(d) || d < 1 || d > 90)) p.push(`log file retention ${d} must be whole days between 1 and 90`);
  return p;
}

/** The files, per-daemon settings, packages and commands of log anonymity on one node. */
export function planLogAnonymity(input: LogAnonymityInput = {}): LogAnonymityPlan {
  const problems = logAnonymityProblems(input);
  if (problems.length > 0) throw new Error(`cannot plan log anonymity:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
  const days = input.fileRetentionDays ?? 7;
  const journald = "# Generated by rplan (docs/anonymity.md): the journal keeps nothing, not even in RAM; rsyslog writes the anonymised copy.\n[Journal]\nStorage=none\nForwardToSyslog=yes\n";
  // Rotated every day, even when empty (an unrotated file would keep its lines past the limit), and
  // `days - 1` old files beside the current one: no line is kept longer than `days` days.
  const logrotate = `${ANONYMISED_LOG} {\n\tdaily\n\trotate ${days - 1}\n\tmissingok\n\tifempty\n\tcompress\n\tdelaycompress\n\tpostrotate\n\t\t/usr/lib/rsyslog/rsyslog-rotate\n\tendscript\n}\n`;
  return {
    files: [
      { path: JOURNALD_DROP_IN, content: journald },
      { path: RSYSLOG_DROP_IN, content: rsyslogConf() },
      { path: MASK_SED, content: renderMaskSed() },
      { path: LOGROTATE_FILE, content: logrotate },
    ],
    settings: DAEMON_SETTINGS,
    packages: [...LOG_PACKAGES],
    // Each one idempotent: HostFiles reruns them all after an interrupted up.
    commands: [
      ["rsyslogd", "-N1"],
      // Debian 12 ships rsyslog enabled, but images (the lab's) may keep it off until configured.
      ["systemctl", "enable", "rsyslog"],
      // rsyslog (and syslog.socket, which it requires) listening before journald forwards to it.
      ["systemctl", "restart", "rsyslog"],
      ["systemctl", "restart", "systemd-journald"],
      // Raw lines journald kept before (Debian 12's default is persistent, then the RAM journal): gone.
      ["rm", "-rf", "--", "/var/log/journal", "/run/log/journal"],
      ...LOGIN_RECORDS.map((f) => ["ln", "-sfn", "/dev/null", f]),
    ],
  };
}

/** What each daemon itself logs, and why it is enough. */
export const DAEMON_SETTINGS: readonly DaemonLogSetting[] = [
  { daemon: "postfix", setting: "(none)", value: "-", why: "postfix has no option to leave addresses or client IPs out of its log; rsyslog masks them before the file, the journal keeps nothing", appliedBy: "-" },
  { daemon: "postfix", setting: "maillog_file", value: "(unset)", why: "postfix logs only through syslog (no file of its own that would bypass the mask)", appliedBy: "Debian default, not set by any contribution" },
  { daemon: "dovecot", setting: "login_log_format_elements", value: "user=<%u> method=%m lip=%l mpid=%e %c session=<%{session}>", why: "Debian's default without rip=%r: no client address in login lines", appliedBy: "planning/mail/anonymity.ts (contribution)" },
  { daemon: "dovecot", setting: "auth_verbose, auth_verbose_passwords, auth_debug, verbose_proctitle", value: "no", why: "no per-attempt auth lines (they carry the client address), no address in the process title", appliedBy: "planning/mail/anonymity.ts (contribution)" },
  { daemon: "dovecot", setting: "mail_log_prefix", value: "(Debian default, with %u)", why: "kept for the daemon's own use; the mask turns the user into * before the file", appliedBy: "-" },
  { daemon: "sshd", setting: "LogLevel", value: "INFO (default)", why: "login lines reach the file with the address zeroed; counting them proves which nodes an up contacted", appliedBy: "-" },
  { daemon: "sshd", setting: "wtmp, btmp, lastlog", value: "symlinks to /dev/null", why: "sshd and PAM write the client's address there directly, not through syslog", appliedBy: "the commands of planLogAnonymity" },
  { daemon: "slapd", setting: "olcLogLevel", value: "none", why: "stats would log every connection's IP= and bind DN (a user's uid at each login)", appliedBy: "planning/ldap/slapd-config.ts (already)" },
  { daemon: "tinc", setting: "debug level", value: "0 (no -d)", why: "connection lines name peers' public addresses, which are no client's; mmanon zeroes them anyway", appliedBy: "the tinc unit (to check: no -d)" },
  { daemon: "knot", setting: "log any", value: "info", why: "zone loads and errors; knot logs no queries without the dnstap module", appliedBy: "planning/dns/knot.ts" },
  { daemon: "journald", setting: "Storage, ForwardToSyslog", value: "none, yes", why: "nothing kept, not even in RAM; every line forwarded to rsyslog, which writes only the anonymised copy", appliedBy: JOURNALD_DROP_IN },
];
