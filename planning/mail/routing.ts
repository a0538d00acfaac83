/**
 * Mail routing, planned purely: what every active node's postfix and dovecot need so that each
 * node is an MX for the cluster's domain, each user's mail reaches the user's home node over the
 * VPN, and IMAP/POP and submission work on any node. See docs/mail.md. No Pulumi, no I/O.
 *
 * - postfix validates recipients against the node's own LDAP replica (over its ldapi socket; an
 *   unknown recipient gets 5xx at RCPT, an unreachable replica 4xx) and picks the transport from the
 *   user's home: this node → the local dovecot LMTP socket; another node → that node's dovecot LMTP
 *   on its VPN address (never the public one); a revoked or unknown home → `retry` (deferred). The
 *   internal LMTP transport runs with `soft_bounce`: whatever the home answers, nothing accepted is
 *   bounced — it stays queued on the node that accepted it and is retried.
 * - dovecot authenticates from the local replica. Its passdbs are one per home node: the home's
 *   own serves locally, every other proxies the login over the VPN to the home (`proxy_maybe`). Its
 *   LMTP delivers only to users homed here (the userdb filter), so a message the MX routed by a
 *   replica that disagrees for a moment is deferred (and retried), never looped or bounced.
 */
import { isIP } from "net";
import { NODE_NAME as NODE } from "../names";
import type { DaemonContribution, DaemonFile, DovecotSection, MasterService } from "./contribution";
import { submissionAnonymityOptions } from "./anonymity";
import { dkimSubmissionOptions } from "./dkim";
import { SENDER_CHECK_MILTER } from "./sender-check";
import { isLive, servesMail } from "../node-roles";
import { postfixDropIn, queueCommand, queueDirOf } from "./queue";
import { HELD_DOMAIN, HELD_TRANSPORT_MAP, heldDirOf, heldMainSettings, heldTransport } from "./held";
import { QUOTA_RULE_ATTR, quotaPostfix } from "./quota";

export interface MailNode {
  readonly name: string;
  readonly state: "active" | "draining" | "revoked";
  readonly vpnAddress: string;
  readonly publicAddress: string;
  /** Where this node keeps its users' Maildirs (inside its encrypted mount). */
  readonly storePath: string;
  /** The node's encrypted mount: the store is only created while it is mounted. */
  readonly mountPath: string;
}

export interface MailRoutingInput {
  readonly domain: string;
  /** The directory suffix (`dc=example,dc=org`): users live in `ou=people,<suffix>`. */
  readonly suffix: string;
  /** The local slapd's ldapi socket: lookups never leave the node. */
  readonly ldapiSocket: string;
  /** Every node of the config, revoked ones included (so their users' mail is deferred, not lost). */
  readonly nodes: readonly MailNode[];
  /** VPN CIDRs of the trust rings: peers' LMTP and proxied logins come from there. */
  readonly vpnCidrs: readonly string[];
  /** The VPN's systemd unit (`tinc@rplan.service`): dovecot starts after it. */
  readonly vpnUnit: string;
}

/** `postconf -d proxy_read_maps` of postfix 3.7 (Debian 12). */
export const POSTFIX_DEFAULT_PROXY_READ_MAPS =
  "$local_recipient_maps $mydestination $virtual_alias_maps $virtual_alias_domains $virtual_mailbox_maps $virtual_mailbox_domains $relay_recipient_maps $relay_domains $canonical_maps $sender_canonical_maps $recipient_canonical_maps $relocated_maps $transport_maps $mynetworks $smtpd_sender_login_maps $sender_bcc_maps $recipient_bcc_maps $smtp_generic_maps $lmtp_generic_maps $alias_maps $smtpd_client_restrictions $smtpd_helo_restrictions $smtpd_sender_restrictions $smtpd_relay_restrictions $smtpd_recipient_restrictions";

/**
 * Timeouts of the internal hop, far below postfix's defaults (up to 10 minutes per phase): a peer on
 * the VPN answers in milliseconds, and a home cut off mid-delivery (a revocation) must not hold the
 * message in "still being delivered" for minutes — it is deferred, and the next try goes to the
 * user's new home. Generous for the home's own work (storing a large message on its mount).
 */
export const INTERNAL_LMTP_TIMEOUTS = {
  lmtp_connect_timeout: "10s",
  lmtp_lhlo_timeout: "30s",
  lmtp_mail_timeout: "30s",
  lmtp_rcpt_timeout: "30s",
  lmtp_data_init_timeout: "30s",
  lmtp_data_xfer_timeout: "60s",
  lmtp_data_done_timeout: "120s",
  lmtp_rset_timeout: "10s",
  lmtp_quit_timeout: "10s",
} as const;

/** The postfix transport name of internal deliveries (lmtp with soft_bounce). */
export const INTERNAL_LMTP = "rplan-lmtp";
/**
 * dovecot's sockets for postfix: LMTP (local deliveries) and SASL (submission), in dovecot's run
 * directory (a tmpfs). Not in postfix's queue directory, which lies in the encrypted mount
 * (./queue.ts): there, once, on the lab's gocryptfs, the LMTP socket came back from a dovecot reload
 * refusing every connection while dovecot still listened on it, and mail for the node's own users
 * waited in its queue until dovecot restarted (whether FUSE or the reload is to blame is not
 * proven; a socket holds no mail, so nothing needs it in the mount). postfix's clients of these
 * sockets (the internal lmtp transport, the submission smtpd) therefore run outside the chroot.
 */
export const LMTP_SOCKET = "/run/dovecot/lmtp-postfix";
export const AUTH_SOCKET = "/run/dovecot/auth-postfix";
/** dovecot's base_dir: its listeners there are named relative to it (doveconf warns otherwise). */
const DOVECOT_BASE_DIR = "/run/dovecot/";
export const LMTP_PORT = 24;
/** The system user owning the Maildirs (Debian's `mail`, uid 8). */
export const MAIL_USER = "mail";
export const MAIL_UID = 8;

const RPLAN = "/etc/postfix/rplan";
export const POSTFIX_MAPS = {
  aliases: `${RPLAN}/ldap-aliases.cf`,
  mailboxes: `${RPLAN}/ldap-mailboxes.cf`,
  route: `${RPLAN}/ldap-route.cf`,
  home: `${RPLAN}/ldap-home.cf`,
  senders: `${RPLAN}/ldap-senders.cf`,
  held: `${RPLAN}/ldap-held.cf`,
  heldMaildirs: `${RPLAN}/ldap-held-maildirs.cf`,
} as const;
const dovecotArgs = (home: string) => `/etc/dovecot/rplan/ldap-home-${home}.conf.ext`;
const DOVECOT_USERDB = "/etc/dovecot/rplan/ldap-userdb.conf.ext";
const FROZEN_PASSDB = "/etc/dovecot/rplan/ldap-moving.conf.ext";

/** `/var/run/slapd/ldapi` → `ldapi://%2Fvar%2Frun%2Fslapd%2Fldapi` */
export function ldapiUrl(socket: string): string {
  return `ldapi://${socket.replace(/\//g, "%2F")}`;
}

/** Users the daemons may serve: rplan users not disabled. `%s`/`%u` are escaped by the daemons. */
const ACTIVE_USER = "(objectClass=rplanUser)(!(rplanUserState=disabled))";

function ldapTable(input: MailRoutingInput, filter: string, result: string, purpose: string, domain = input.domain): string {
  return (
    `# ${purpose}\n# Looked up in this node's own replica over its ldapi socket; a failing lookup defers (4xx), never bounces.\n` +
    `server_host = ${ldapiUrl(input.ldapiSocket)}\nversion = 3\nbind = no\n` +
    `search_base = ou=people,${input.suffix}\nscope = one\ndomain = ${domain}\ntimeout = 5\n` +
    `query_filter = ${filter}\nresult_attribute = ${result}\n`
  );
}

/** The transport for mail homed on `home`, as seen from `self`. */
export function homeTransport(self: MailNode, home: MailNode): string {
  if (!isLive(home)) return `retry:home node ${home.name} is revoked`;
  if (home.name === self.name) return `${INTERNAL_LMTP}:unix:${LMTP_SOCKET}`;
  return `${INTERNAL_LMTP}:inet:[${home.vpnAddress}]:${LMTP_PORT}`;
}

function postfixPart(input: MailRoutingInput, self: MailNode) {
  const homes = [...input.nodes].sort((a, b) => (a.name < b.name ? -1 : 1)).map((n) => `{${n.name}=${homeTransport(self, n)}}`);
  // Each recipient's quota is asked of its home at RCPT (./quota.ts).
  const quota = quotaPostfix(input.nodes.filter(isLive), (filter, result, purpose) => ldapTable(input, filter, result, purpose), ACTIVE_USER);
  const proxied = [...Object.values(POSTFIX_MAPS), quota.file.path].map((m) => `proxy:ldap:${m}`);
  const files: DaemonFile[] = [
    { path: POSTFIX_MAPS.aliases, content: ldapTable(input, `(&${ACTIVE_USER}(rplanMailAlias=%s))`, "mail", "further addresses (rplanMailAlias) → the user's primary address") },
    { path: POSTFIX_MAPS.mailboxes, content: ldapTable(input, `(&${ACTIVE_USER}(mail=%s))`, "uid", "the cluster's users: an address not found here is refused at RCPT (5xx)") },
    { path: POSTFIX_MAPS.route, content: ldapTable(input, `(&${ACTIVE_USER}(mail=%s))`, "rplanMailRoute", "an explicit transport (e.g. retry: while the user's mailbox moves)") },
    { path: POSTFIX_MAPS.home, content: ldapTable(input, `(&${ACTIVE_USER}(mail=%s))`, "rplanHome", "the user's home node (the transport follows from it)") },
    {
      path: POSTFIX_MAPS.senders,
      content: ldapTable(input, `(&${ACTIVE_USER}(|(mail=%s)(rplanMailAlias=%s)))`, "uid", "who may send as an address: the user it belongs to (mail or rplanMailAlias) → its login (uid)"),
    },
    {
      path: POSTFIX_MAPS.held,
      content:
        ldapTable(input, `(&${ACTIVE_USER}(|(mail=%s)(rplanMailAlias=%s))(!(rplanHome=${self.name})))`, "uid", "a recipient homed on another node → the address of its spare copy on this node (./held.ts)") +
        `result_format = %s@${HELD_DOMAIN}\n`,
    },
    {
      path: POSTFIX_MAPS.heldMaildirs,
      content: ldapTable(input, "(&(objectClass=rplanUser)(uid=%u))", "uid", "a spare's address (<uid>@held.rplan.invalid) → its Maildir under the spares' directory (./held.ts)", HELD_DOMAIN) + "result_format = %s/\n",
    },
    quota.file,
  ];
  const submission: MasterService = {
    service: "submission",
    type: "inet",
    private: "n",
    // Not chrooted: dovecot's SASL socket (AUTH_SOCKET) is outside the queue directory.
    chroot: "n",
    command: "smtpd",
    options: {
      syslog_name: "postfix/submission",
      smtpd_tls_security_level: "encrypt",
      smtpd_sasl_auth_enable: "yes",
      smtpd_sasl_type: "dovecot",
      smtpd_sasl_path: AUTH_SOCKET,
      smtpd_client_restrictions: "permit_sasl_authenticated,reject",
      smtpd_relay_restrictions: "permit_sasl_authenticated,reject",
      smtpd_recipient_restrictions: `reject_non_fqdn_recipient,reject_unlisted_recipient,${quota.restriction},permit`,
      // Nobody sends as someone else: the envelope sender must be an address of the logged-in user
      // (its mail or an alias), read from this node's replica — else 553 at MAIL FROM, before
      // anything is signed with the domain's key. The login is the uid (dovecot's passdb sets user=uid).
      smtpd_sender_login_maps: `proxy:ldap:${POSTFIX_MAPS.senders}`,
      smtpd_sender_restrictions: "reject_sender_login_mismatch,permit",
      // Its own cleanup strips the client's address and client headers (./anonymity.ts).
      ...submissionAnonymityOptions(),
      // The From header checked like the envelope sender (./sender-check.ts), then signed with the
      // node's own DKIM key; a milter not answering defers (4xx), never sends unchecked or unsigned (./dkim.ts).
      ...dkimSubmissionOptions([SENDER_CHECK_MILTER]),
    },
  };
  // Not chrooted: dovecot's LMTP socket (LMTP_SOCKET) is outside the queue directory.
  const lmtp: MasterService = { service: INTERNAL_LMTP, type: "unix", chroot: "n", command: "lmtp", options: { syslog_name: `postfix/${INTERNAL_LMTP}`, soft_bounce: "yes", ...INTERNAL_LMTP_TIMEOUTS } };
  const queueDir = queueDirOf(self.mountPath);
  return {
    notes: [
      `every node is an MX for ${input.domain}; mail goes to the home node's dovecot LMTP over the VPN (docs/mail.md)`,
      `the queue is inside the encrypted mount (${queueDir}): no message text on the plain disk (docs/seizure.md)`,
      "every message for a user homed elsewhere leaves a spare copy in the mount for an hour: a seizure loses nothing to the standby's lag (docs/seizure.md)",
    ],
    commands: [queueCommand(self.mountPath, queueDir), storeCommand({ storePath: heldDirOf(self.mountPath), mountPath: self.mountPath })],
    dropIns: [{ ...postfixDropIn(self.mountPath, self.name), mode: "0644", owner: "root:root" }],
    main: {
      queue_directory: queueDir,
      virtual_mailbox_domains: input.domain,
      virtual_alias_maps: `proxy:ldap:${POSTFIX_MAPS.aliases}`,
      virtual_mailbox_maps: `proxy:ldap:${POSTFIX_MAPS.mailboxes}`,
      transport_maps: `${HELD_TRANSPORT_MAP}, proxy:ldap:${POSTFIX_MAPS.route}, pipemap:{proxy:ldap:${POSTFIX_MAPS.home}, inline:{ ${homes.join(", ")} }}`,
      // A home the directory names but this config does not know: the local LMTP finds no such
      // user here and (soft_bounce) the message waits in the queue until the config knows the home.
      // Not `retry:` — smtpd would then answer 4xx at RCPT to unknown users instead of 5xx.
      virtual_transport: `${INTERNAL_LMTP}:unix:${LMTP_SOCKET}`,
      // Every message for a user homed elsewhere leaves a spare copy here for an hour (./held.ts).
      ...heldMainSettings(`proxy:ldap:${POSTFIX_MAPS.held}`),
      // Debian's list (local recipients and aliases go through proxymap too) plus the directory's tables.
      proxy_read_maps: `${POSTFIX_DEFAULT_PROXY_READ_MAPS} ${proxied.join(" ")}`,
      // Antispam that needs no outside lookup (antispam runs locally).
      smtpd_helo_required: "yes",
      disable_vrfy_command: "yes",
      smtpd_recipient_restrictions: `reject_non_fqdn_recipient, reject_unlisted_recipient, ${quota.restriction}`,
      // A full mailbox: 552 at RCPT from every MX, asked of the home; the home not answering: 4xx.
      ...quota.main,
      // International mail is delivered or refused in the dialogue, never accepted and then stuck:
      // dovecot's LMTP (2.3) does not announce SMTPUTF8, so a message whose client asked for it would
      // wait in the queue for good ("SMTPUTF8 is required, but was not offered"). Without SMTPUTF8,
      // such a client gets 555 at MAIL FROM on every MX alike; a UTF-8 sender or UTF-8 headers
      // without it are delivered as 8-bit, which dovecot stores as they are.
      smtputf8_enable: "no",
      // Internal hops use [address] nexthops: no DNS needed.
      lmtp_host_lookup: "native",
      // A deferred message is retried within a minute or two, not five (homes come back quickly).
      queue_run_delay: "60s",
      minimal_backoff_time: "60s",
      maximal_backoff_time: "600s",
    },
    master: [submission, lmtp, heldTransport(self.mountPath, MAIL_UID, `proxy:ldap:${POSTFIX_MAPS.heldMaildirs}`)],
    files,
  };
}

function passdbFor(input: MailRoutingInput, self: MailNode, home: MailNode): { section: DovecotSection; file: DaemonFile } {
  const local = home.name === self.name;
  const attrs = local ? "uid=user" : `uid=user, =proxy_maybe=y, =host=${home.vpnAddress}`;
  return {
    section: { name: `passdb home-${home.name}`, settings: { driver: "ldap", args: dovecotArgs(home.name) } },
    file: {
      path: dovecotArgs(home.name),
      content:
        `# users homed on ${home.name}: ${local ? "served here" : `logins proxied over the VPN to ${home.vpnAddress}`}\n` +
        `uris = ${ldapiUrl(input.ldapiSocket)}\nldap_version = 3\nbase = ou=people,${input.suffix}\nscope = onelevel\n` +
        // The password is checked by binding as the user: the node needs no read access to hashes.
        "auth_bind = yes\n" +
        `pass_filter = (&${ACTIVE_USER}(rplanHome=${home.name})(|(uid=%u)(mail=%u)))\npass_attrs = ${attrs}\n`,
    },
  };
}

/**
 * Checked first: a user whose mailbox is moving (rplanUserState=frozen) gets the right password
 * answered with "try again" (`nologin` + reason) instead of a session that could change the old
 * copy after its final sync.
 */
function frozenPassdb(input: MailRoutingInput): { section: DovecotSection; file: DaemonFile } {
  return {
    section: { name: "passdb moving", settings: { driver: "ldap", args: FROZEN_PASSDB } },
    file: {
      path: FROZEN_PASSDB,
      content:
        "# users whose mailbox is moving to another node: refused for a moment, with a reason\n" +
        `uris = ${ldapiUrl(input.ldapiSocket)}\nldap_version = 3\nbase = ou=people,${input.suffix}\nscope = onelevel\nauth_bind = yes\n` +
        "pass_filter = (&(objectClass=rplanUser)(rplanUserState=frozen)(|(uid=%u)(mail=%u)))\n" +
        "pass_attrs = uid=user, =nologin=y, =reason=Your mailbox is moving to another server: try again in a minute.\n",
    },
  };
}

function dovecotPart(input: MailRoutingInput, self: MailNode) {
  const live = [...input.nodes].filter(isLive).sort((a, b) => (a.name === self.name ? -1 : b.name === self.name ? 1 : a.name < b.name ? -1 : 1));
  const passdbs = [frozenPassdb(input), ...live.map((home) => passdbFor(input, self, home))];
  const userdb: DaemonFile = {
    path: DOVECOT_USERDB,
    content:
      `# mailboxes of users homed on ${self.name} and not moving (LMTP delivers to no one else: a message for another home is deferred)\n` +
      `uris = ${ldapiUrl(input.ldapiSocket)}\nldap_version = 3\nbase = ou=people,${input.suffix}\nscope = onelevel\n` +
      // A user whose mailbox is moving is refused too: a delivery that a stale route sends here
      // after the final sync is deferred (soft_bounce on the sender) instead of left in the old copy.
      // By alias too: the quota-status service is asked about the address the sender gave.
      `user_filter = (&${ACTIVE_USER}(rplanHome=${self.name})(!(rplanUserState=frozen))(|(uid=%u)(mail=%u)(rplanMailAlias=%u)))\n` +
      // The quota rule from rplanQuota (./quota.ts); 0 or none: no limit.
      `user_attrs = uid=user, =home=${self.storePath}/%{ldap:uid}, =uid=${MAIL_USER}, =gid=${MAIL_USER}, ${QUOTA_RULE_ATTR}\n` +
      `iterate_filter = (&${ACTIVE_USER}(rplanHome=${self.name}))\niterate_attrs = uid=user\n`,
  };
  const postfixListener = (path: string): DovecotSection => ({ name: `unix_listener ${path.startsWith(DOVECOT_BASE_DIR) ? path.slice(DOVECOT_BASE_DIR.length) : path}`, settings: { mode: "0600", user: "postfix", group: "postfix" } });
  return {
    notes: [`IMAP/POP on any node, proxied over the VPN to the user's home; Maildirs in ${self.storePath}`],
    removesDefaults: ["passdb"],
    // LMTP listens on the VPN address, which exists once the VPN is up.
    startAfter: [input.vpnUnit],
    commands: [storeCommand(self)],
    settings: {
      mail_location: "maildir:~/Maildir",
      first_valid_uid: String(MAIL_UID),
      last_valid_uid: String(MAIL_UID),
      recipient_delimiter: "+",
      auth_mechanisms: "plain login",
      // proxy_maybe: a home that is this node is served here, never proxied to itself.
      auth_proxy_self: `${self.vpnAddress} ${self.publicAddress}`,
      // Peers proxy logins in the clear over the VPN (internal traffic needs no TLS).
      login_trusted_networks: input.vpnCidrs.join(" "),
      lmtp_save_to_detail_mailbox: "no",
    },
    sections: [
      ...passdbs.map((p) => p.section),
      { name: "userdb", settings: { driver: "ldap", args: DOVECOT_USERDB } },
      { name: "service auth", sections: [{ ...postfixListener(AUTH_SOCKET), settings: { mode: "0660", user: "postfix", group: "postfix" } }] },
      { name: "service lmtp", sections: [postfixListener(LMTP_SOCKET), { name: "inet_listener lmtp", settings: { address: self.vpnAddress, port: String(LMTP_PORT) } }] },
    ],
    files: [...passdbs.map((p) => p.file), userdb],
  };
}

/** Every problem with the input at once (names and addresses end up in configuration files). */
export function mailRoutingProblems(input: MailRoutingInput): string[] {
  const problems: string[] = [];
  const IPV4 = /^(\d{1,3}\.){3}\d{1,3}$/;
  const PATH = /^\/[A-Za-z0-9._/-]+$/;
  if (!/^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$/.test(input.domain)) problems.push(`domain ${JSON.stringify(input.domain)} is not a lower-case domain`);
  if (!/^dc=[a-z0-9-]+(,dc=[a-z0-9-]+)*$/i.test(input.suffix)) problems.push(`suffix ${JSON.stringify(input.suffix)} is not a dc= suffix`);
  if (!/^[A-Za-z0-9@._-]+\.service$/.test(input.vpnUnit)) problems.push(`VPN unit ${JSON.stringify(input.vpnUnit)} is not a systemd service name`);
  if (!PATH.test(input.ldapiSocket)) problems.push(`ldapi socket ${JSON.stringify(input.ldapiSocket)} is not a safe absolute path`);
  for (const c of input.vpnCidrs) if (!/^(\d{1,3}\.){3}\d{1,3}\/\d{1,2}$/.test(c)) problems.push(`VPN range ${JSON.stringify(c)} is not an IPv4 CIDR`);
  const seen = new Set<string>();
  for (const n of input.nodes) {
    if (!NODE.test(n.name)) problems.push(`node name ${JSON.stringify(n.name)} is not valid`);
    if (seen.has(n.name)) problems.push(`node ${n.name} is listed twice`);
    seen.add(n.name);
    // The VPN is IPv4 (198.18.0.0/16); a public address may be either family (it is only named in
    // dovecot's auth_proxy_self, so a login arriving on it is never proxied to this node itself).
    if (!IPV4.test(n.vpnAddress)) problems.push(`node ${n.name}: VPN address ${JSON.stringify(n.vpnAddress)} must be IPv4`);
    if (isIP(n.publicAddress) === 0) problems.push(`node ${n.name}: public address ${JSON.stringify(n.publicAddress)} is not an IP address`);
    if (!PATH.test(n.mountPath) || n.mountPath === "/" || n.mountPath.split("/").includes("..")) problems.push(`node ${n.name}: encrypted mount ${JSON.stringify(n.mountPath)} is not a safe absolute path`);
    if (!PATH.test(n.storePath) || n.storePath.split("/").includes("..")) problems.push(`node ${n.name}: mail store ${JSON.stringify(n.storePath)} is not a safe absolute path`);
    else if (!n.storePath.startsWith(`${n.mountPath}/`)) problems.push(`node ${n.name}: the mail store ${n.storePath} must lie inside the encrypted mount ${n.mountPath}`);
  }
  if (!input.nodes.some(servesMail)) problems.push("no active node: nobody could receive mail");
  return problems;
}

/** What mail routing contributes to each non-revoked node's mail daemons, by node name. */
export function planMailRouting(input: MailRoutingInput): Record<string, DaemonContribution> {
  const problems = mailRoutingProblems(input);
  if (problems.length > 0) throw new Error(`cannot plan mail routing:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
  const out: Record<string, DaemonContribution> = {};
  for (const self of input.nodes) {
    if (!isLive(self)) continue;
    out[self.name] = { feature: "mail-routing", postfix: postfixPart(input, self), dovecot: dovecotPart(input, self) };
  }
  return out;
}

/**
 * Run before dovecot is reloaded: the mail store exists, owned by the mail user — created only
 * while the encrypted mount is mounted, so no mail is ever written to the disk beneath it.
 */
export function storeCommand(self: Pick<MailNode, "storePath" | "mountPath">): string[] {
  return [
    "sh",
    "-c",
    'mountpoint -q "$1" || { echo "the encrypted mount $1 is not mounted: unlock the node first" >&2; exit 1; }; install -d -o "$3" -g "$3" -m 0700 -- "$2"',
    "sh",
    self.mountPath,
    self.storePath,
    MAIL_USER,
  ];
}
