/**
 * Spam filtering on every node (issue 22 item 4): rspamd from Debian as a milter on port 25, its
 * learned state shared by every node through redis. Pure: no Pulumi, no I/O.
 *
 * - **Where it runs:** port 25 only (`smtpd_milters` in main.cf; submission sets its own milters).
 *   The message is judged once, by the MX that took it; the hop to the home is not scanned again.
 * - **The verdict:**
 *   - at `reject` and above: refused at the end of DATA (`554 5.7.1 Spam message rejected`), so no
 *     bounce is ever sent to a forged sender;
 *   - from `junk` up: rspamd adds `X-Spam: Yes`, and the home's global sieve script files the message
 *     into the user's Junk;
 *   - a filter that does not answer defers (postfix's `milter_default_action = tempfail`, 4xx): a node
 *     that cannot judge never lets through what the others would refuse.
 * - **The same verdict from every MX:**
 *   - the same configuration everywhere;
 *   - nothing that depends on the node: no greylisting, no rate limits in rspamd (submission has
 *     its own, ./sender-check.ts), no per-node history, no neural network training itself;
 *   - one Bayes state. It lives in redis: the directory's master holds the one writable copy, and
 *     every other node holds a read-only replica over the VPN. rspamd reads its local copy and
 *     writes (learns) to the master, which hands every learn to every replica.
 *   - When the master role moves (docs/switch-ldap-master.md), the next `up` points the replicas and
 *     the writes at the new master. Its replica already holds everything.
 *   - A replica cut off from the master keeps answering from what it has. The worst case is a few
 *     seconds of learning the verdicts do not yet agree on.
 * - **Training:** users move mail into Junk, or out of it, over IMAP on any node. The session is
 *   proxied to the home, and there dovecot's imapsieve pipes the message to `rspamc learn_spam` /
 *   `learn_ham`. rspamd's controller on the home writes the learn to the master.
 * - **Anonymity:**
 *   - rspamd logs through syslog, so the node's masks apply (planning/logs), in a format without the
 *     client's address, the envelope or the Message-ID;
 *   - no per-message history is kept (history_redis off);
 *   - nothing is sent to third parties: the fuzzy hashes of users' mail (fuzzy_check) and the URL
 *     redirector are off. DNS blocklists stay on: they ask about the sending server, not the users.
 * - **redis on the VPN** has no password, like LMTP and quota-status: the VPN is the boundary, and a
 *   revoked node is cut out of it. The commands that could reconfigure or empty a copy from the
 *   network (CONFIG, REPLICAOF, FLUSHALL, …) are renamed away.
 * - **Its data:** `<mount>/redis` (learned tokens come from users' mail), created only while the
 *   mount is mounted. redis is a mount unit: locking stops it, unlocking starts it.
 */
import type { DaemonContribution, DaemonFile } from "./contribution";
import type { SpamSettings } from "../config/types";

/** rspamd's milter (its proxy worker), loopback only. */
export const RSPAMD_MILTER_PORT = 11332;
/** rspamd's controller: rspamc's learns and statistics, loopback only. */
export const RSPAMD_CONTROLLER_PORT = 11334;
export const RSPAMD_MILTER = `inet:127.0.0.1:${RSPAMD_MILTER_PORT}`;
export const REDIS_PORT = 6379;
/** The header rspamd adds from the junk score up; the home's sieve files such mail into Junk. */
export const SPAM_HEADER = "X-Spam";
/**
 * Where the global sieve scripts live (one owner: `<node>-spam-filter`). The Junk script, run at
 * every delivery, is compiled here by `sievec` at each update: Debian's dovecot unit makes /usr
 * read-only to dovecot (ProtectSystem=full), so it could never save a binary itself and compiled the
 * script again at every delivery, logging two errors each time (seen on the lab under the mail
 * bench). `sievec` cannot compile the training scripts (it loads no sieve plugins, so it knows
 * neither imapsieve nor pipe): they are compiled when a move in or out of Junk runs them.
 */
export const SPAM_LIB = "/usr/local/lib/rplan/spam";
export const JUNK_SCRIPT = `${SPAM_LIB}/junk.sieve`;
export const LEARN_SPAM_SCRIPT = `${SPAM_LIB}/learn-spam.sieve`;
export const LEARN_HAM_SCRIPT = `${SPAM_LIB}/learn-ham.sieve`;
/** Outside SPAM_LIB: the programs rplan's scripts may pipe to stay root's alone. */
export const LEARN_BIN_DIR = "/usr/local/lib/rplan/spam-bin";
export const LEARN_COMMAND = "rplan-learn";
export const RSPAMD_LOCAL = "/etc/rspamd/local.d";
/** The milter's settings: without them rspamd's proxy is Debian's, with none of rplan's choices. */
export const RSPAMD_PROXY_CONF = `${RSPAMD_LOCAL}/worker-proxy.inc`;
export const REDIS_CONF = "/etc/redis/redis.conf";
export const REDIS_DROP_IN = "/etc/systemd/system/redis-server.service.d/rplan.conf";
/** redis's memory for the learned state: beyond it, the oldest tokens rspamd set to expire go first. */
export const REDIS_MAXMEMORY = "256mb";
/**
 * rspamd modules that are off: node-dependent verdicts, per-message history, third parties; and
 * DKIM signing, which is opendkim's (./dkim.ts) — rspamd's would try, for mail from the node's own
 * addresses, keys rplan never puts where it looks, and log an error for each such message.
 */
export const RSPAMD_MODULES_OFF = ["greylist", "ratelimit", "history_redis", "fuzzy_check", "url_redirector", "replies", "neural", "dkim_signing"];
/** Commands no client of redis may send (renamed to nothing). */
export const REDIS_COMMANDS_OFF = ["CONFIG", "DEBUG", "MODULE", "REPLICAOF", "SLAVEOF", "FLUSHALL", "FLUSHDB", "SHUTDOWN", "MIGRATE", "RESTORE"];

/** How long an update waits for rspamd to answer after its restart. */
export const RSPAMD_START_SECONDS = 180;
/**
 * Waits ($1 seconds at most) until rspamd's controller answers: its workers are up then (the main
 * process binds every worker's socket, the milter's too, before it starts them).
 */
const RSPAMD_READY = [
  'i=0; while [ "$i" -lt "$1" ]; do',
  `  if rspamc -h 127.0.0.1:${RSPAMD_CONTROLLER_PORT} -t 2 stat >/dev/null 2>&1; then exit 0; fi`,
  "  i=$((i+1)); sleep 1",
  "done",
  `echo "rspamd does not answer on 127.0.0.1:${RSPAMD_MILTER_PORT} $1 s after its restart: port 25 defers all mail until it does (journalctl -u rspamd)" >&2; exit 1`,
].join("\n");

export interface SpamFilterInput {
  readonly node: string;
  readonly vpnAddress: string;
  /** The node's encrypted mount: the learned state lives in `<mount>/redis`. */
  readonly mountPath: string;
  /** The directory's master: its redis takes the writes. */
  readonly master: { readonly name: string; readonly vpnAddress: string };
  /** The VPN's systemd unit: redis listens on the VPN address, which exists once it is up. */
  readonly vpnUnit: string;
  readonly settings: SpamSettings;
}

export interface SpamFilterFiles {
  readonly files: DaemonFile[];
  /** Run after the files changed (as root, in order). */
  readonly reload: string[][];
}

const IPV4 = /^(\d{1,3}\.){3}\d{1,3}$/;
const PATH = /^\/[A-Za-z0-9._/-]+$/;

/** Every problem with the input at once (addresses and paths end up in configuration files). */
export function spamFilterProblems(input: SpamFilterInput): string[] {
  const p: string[] = [];
  if (!IPV4.test(input.vpnAddress)) p.push(`${input.node}: VPN address ${JSON.stringify(input.vpnAddress)} must be IPv4`);
  if (!IPV4.test(input.master.vpnAddress)) p.push(`the master ${input.master.name}: VPN address ${JSON.stringify(input.master.vpnAddress)} must be IPv4`);
  if (!PATH.test(input.mountPath) || input.mountPath === "/" || input.mountPath.split("/").includes("..")) p.push(`${input.node}: encrypted mount ${JSON.stringify(input.mountPath)} is not a safe absolute path`);
  if (!/^[A-Za-z0-9@._-]+\.service$/.test(input.vpnUnit)) p.push(`VPN unit ${JSON.stringify(input.vpnUnit)} is not a systemd service name`);
  const { reject, junk } = input.settings;
  if (!(junk > 0 && junk < reject)) p.push(`the junk score (${junk}) must be above 0 and below the reject score (${reject})`);
  return p;
}

const generated = (what: string) => `# ${what}. Generated by rplan (planning/mail/spam.ts, resource <node>-spam-filter): the next \`up\` rewrites it.`;

function rspamdFiles(input: SpamFilterInput): DaemonFile[] {
  const isMaster = input.master.name === input.node;
  const local = (name: string, what: string, lines: string[]): DaemonFile => ({ path: `${RSPAMD_LOCAL}/${name}`, content: [generated(what), ...lines, ""].join("\n") });
  return [
    local("worker-proxy.inc", "The milter postfix asks on port 25", [`bind_socket = "127.0.0.1:${RSPAMD_MILTER_PORT}";`, "milter = yes;", "timeout = 120s;", `spam_header = "${SPAM_HEADER}";`, 'upstream "local" {', "  default = yes;", "  self_scan = yes;", "}"]),
    local("worker-controller.inc", "rspamc's learns and statistics, from this node only", [`bind_socket = "127.0.0.1:${RSPAMD_CONTROLLER_PORT}";`, 'secure_ip = "127.0.0.1";']),
    local("worker-normal.inc", "The proxy scans itself (self_scan): no separate scanner", ["enabled = false;"]),
    local("actions.conf", "What a score does: refused, or into Junk", [`reject = ${input.settings.reject};`, `add_header = ${input.settings.junk};`, "greylist = null;", "rewrite_subject = null;"]),
    local("redis.conf", isMaster ? "The learned state: this node's redis (the directory's master) takes the writes" : `The learned state: read from this node's replica, written to ${input.master.name} (the directory's master)`, [
      `read_servers = "127.0.0.1:${REDIS_PORT}";`,
      `write_servers = "${isMaster ? "127.0.0.1" : input.master.vpnAddress}:${REDIS_PORT}";`,
      "timeout = 5s;",
    ]),
    local("classifier-bayes.conf", "Bayes learns only what users train (no autolearn): every node learns the same", ["autolearn = false;"]),
    local("logging.inc", "Through syslog, so the node's log masks apply; no client address, envelope or Message-ID", [
      'type = "syslog";',
      'level = "notice";',
      // Not a line of regular-expression statistics after every message: log volume, and each line costs CPU (npm run bench mail).
      "log_re_cache = false;",
      'log_format = "$if_qid{qid: <$>, }(default: $is_spam ($action): [$scores] [$symbols]), len: $len, time: $time_real";',
    ]),
    local("options.inc", input.settings.testPatterns ? "Test patterns ON (rplan:spam.testPatterns): a test cluster" : "Test patterns off", [`enable_test_patterns = ${input.settings.testPatterns};`]),
    ...RSPAMD_MODULES_OFF.map((m) => local(`${m}.conf`, `${m}: off (see planning/mail/spam.ts)`, ["enabled = false;"])),
  ];
}

function redisFiles(input: SpamFilterInput): DaemonFile[] {
  const isMaster = input.master.name === input.node;
  const conf = [
    generated(isMaster ? "redis: the spam filter's learned state, the writable copy (this node is the directory's master)" : `redis: the spam filter's learned state, a read-only replica of ${input.master.name}'s`),
    `bind 127.0.0.1 ${input.vpnAddress}`,
    // No password on the VPN, like LMTP: the VPN is the boundary (see above).
    "protected-mode no",
    `port ${REDIS_PORT}`,
    "supervised systemd",
    "daemonize no",
    "pidfile /run/redis/redis-server.pid",
    "loglevel notice",
    'logfile ""',
    "syslog-enabled yes",
    "syslog-ident redis",
    `dir ${input.mountPath}/redis`,
    "dbfilename learned.rdb",
    "save 300 1",
    "appendonly no",
    `maxmemory ${REDIS_MAXMEMORY}`,
    "maxmemory-policy volatile-ttl",
    ...(isMaster ? [] : [`replicaof ${input.master.vpnAddress} ${REDIS_PORT}`, "replica-read-only yes", "replica-serve-stale-data yes"]),
    ...REDIS_COMMANDS_OFF.map((c) => `rename-command ${c} ""`),
    "",
  ].join("\n");
  const dropIn = ["# Generated by rplan (planning/mail/spam.ts): listen on the VPN address once it exists; write the data in the mount.", "[Unit]", `After=${input.vpnUnit}`, "[Service]", `ReadWritePaths=${input.mountPath}/redis`, ""].join("\n");
  return [
    { path: REDIS_CONF, content: conf, mode: "0640", owner: "redis:redis" },
    { path: REDIS_DROP_IN, content: dropIn },
  ];
}

function sieveFiles(): DaemonFile[] {
  const learn = ["#!/bin/sh", "# Generated by rplan (planning/mail/spam.ts): a message moved into or out of Junk, handed to rspamd's controller on this node.", 'case "$1" in spam|ham) ;; *) echo "usage: rplan-learn spam|ham" >&2; exit 64 ;; esac', `exec /usr/bin/rspamc -h 127.0.0.1:${RSPAMD_CONTROLLER_PORT} "learn_$1"`, ""].join("\n");
  return [
    { path: JUNK_SCRIPT, content: ["# Generated by rplan: mail rspamd marked goes to the user's Junk (before the user's own script).", 'require ["fileinto", "mailbox"];', `if header :is "${SPAM_HEADER}" "Yes" { fileinto :create "Junk"; stop; }`, ""].join("\n") },
    { path: LEARN_SPAM_SCRIPT, content: ["# Generated by rplan: a message moved into Junk is learned as spam.", 'require ["vnd.dovecot.pipe", "copy", "imapsieve"];', `pipe :copy "${LEARN_COMMAND}" ["spam"];`, ""].join("\n") },
    {
      path: LEARN_HAM_SCRIPT,
      content: [
        "# Generated by rplan: a message moved out of Junk (not to Trash) is learned as ham.",
        'require ["vnd.dovecot.pipe", "copy", "imapsieve", "environment", "variables"];',
        'if environment :matches "imap.mailbox" "*" { set "to" "${1}"; }',
        'if string "${to}" "Trash" { stop; }',
        `pipe :copy "${LEARN_COMMAND}" ["ham"];`,
        "",
      ].join("\n"),
    },
    { path: `${LEARN_BIN_DIR}/${LEARN_COMMAND}`, content: learn, mode: "0755" },
  ];
}

/** The files of `<node>-spam-filter` and what runs after them: rspamd's, redis's, the global sieve scripts. */
export function renderSpamFilter(input: SpamFilterInput, mailUser: string): SpamFilterFiles {
  const problems = spamFilterProblems(input);
  if (problems.length > 0) throw new Error(`cannot plan the spam filter:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
  const data = `${input.mountPath}/redis`;
  return {
    files: [...rspamdFiles(input), ...redisFiles(input), ...sieveFiles()],
    reload: [
      // The learned state only inside the mount: never created on the disk beneath it.
      ["sh", "-c", 'mountpoint -q "$1" || { echo "the encrypted mount $1 is not mounted: unlock the node first" >&2; exit 1; }; install -d -o redis -g redis -m 0700 -- "$2"', "sh", input.mountPath, data],
      ["install", "-d", "-o", mailUser, "-g", mailUser, "-m", "0755", SPAM_LIB],
      ["sievec", JUNK_SCRIPT],
      ["systemctl", "daemon-reload"],
      ["systemctl", "enable", "--quiet", "redis-server", "rspamd"],
      ["systemctl", "restart", "redis-server"],
      ["rspamadm", "configtest"],
      ["systemctl", "restart", "rspamd"],
      // Until rspamd answers, port 25 defers everything (tempfail): the update ends only once it does
      // (its first start on a node loads and compiles its rules for a while).
      ["sh", "-c", RSPAMD_READY, "sh", String(RSPAMD_START_SECONDS)],
    ],
  };
}

/** What the spam filter contributes to postfix (port 25's milter) and dovecot (Junk and training). */
export function spamContribution(): DaemonContribution {
  return {
    feature: "spam",
    postfix: {
      notes: [`port 25 asks rspamd (${RSPAMD_MILTER}); a filter that does not answer defers (docs/mail.md "Spam")`],
      // main.cf: port 25's smtpd. Submission names its own milters (-o smtpd_milters=…).
      main: { smtpd_milters: RSPAMD_MILTER, milter_default_action: "tempfail" },
    },
    dovecot: {
      notes: ["rspamd's mark files mail into Junk; moving mail into or out of Junk over IMAP trains rspamd (docs/mail.md \"Spam\")"],
      // Compiled again against the configuration dovecot runs with (see SPAM_LIB; the spam filter's
      // update compiles it too, when the script changes).
      commands: [["sievec", JUNK_SCRIPT]],
      sections: [
        {
          name: "plugin",
          settings: {
            sieve_before: JUNK_SCRIPT,
            sieve_plugins: "sieve_imapsieve sieve_extprograms",
            // Only rplan's global scripts may pipe; users' scripts cannot.
            sieve_global_extensions: "+vnd.dovecot.pipe",
            sieve_pipe_bin_dir: LEARN_BIN_DIR,
            imapsieve_mailbox1_name: "Junk",
            imapsieve_mailbox1_causes: "COPY APPEND",
            imapsieve_mailbox1_before: `file:${LEARN_SPAM_SCRIPT}`,
            imapsieve_mailbox2_name: "*",
            imapsieve_mailbox2_from: "Junk",
            imapsieve_mailbox2_causes: "COPY",
            imapsieve_mailbox2_before: `file:${LEARN_HAM_SCRIPT}`,
          },
        },
        { name: "protocol imap", settings: { mail_plugins: "$mail_plugins imap_sieve" } },
      ],
    },
  };
}
