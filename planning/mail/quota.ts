/**
 * Quota: the same answer from every MX. The home enforces each user's quota (dovecot's quota plugin
 * on the Maildir, the limit from the directory's `rplanQuota` through the userdb), and every MX asks
 * the home during the SMTP dialogue: the recipient's home, looked up in the node's own replica, names
 * a restriction class (`quota_<home>`) that asks dovecot's quota-status service on that home's VPN
 * address. A full mailbox gets 552 at RCPT on every MX alike — never accept-then-bounce; a home that
 * cannot be asked gets the sender a 4xx (postfix's policy client defers when the service does not
 * answer). IMAP shows the quota (GETQUOTAROOT). Pure: no Pulumi, no I/O.
 */
import type { DaemonContribution } from "./contribution";
import { isLive } from "../node-roles";

/** Where the home's dovecot answers postfix's policy questions (on its VPN address only). */
export const QUOTA_STATUS_PORT = 12340;
/** How long an MX waits for a home's answer before deferring (a home whose VPN address drops packets). */
export const QUOTA_STATUS_TIMEOUT = "10s";
/** What a full mailbox answers, on every MX (the sender's server bounces: the message was never accepted). */
export const OVER_QUOTA_REPLY = "552 5.2.2 Mailbox is full";

/** The restriction class that asks `home` (restriction class names are postfix parameter names: no hyphen). */
export const quotaClass = (home: string) => `quota_${home.replace(/-/g, "_")}`;
/** The restriction (a class) that looks up the recipient's home and asks it; routing puts it in both recipient restriction lists. */
export const QUOTA_CHECK = "rplan_quota";
/** What a recipient homed on a revoked node gets: its mail is kept by the sender until it has a new home. */
const REVOKED_HOME = "rplan_home_revoked";

/** The userdb attribute mapping: the directory's byte limit as dovecot's quota rule (0: no limit). */
export const QUOTA_USER_ATTR = "rplanQuota=quota_rule=*:bytes=%$";

export interface QuotaNode {
  readonly name: string;
  readonly state: "active" | "draining" | "revoked";
  readonly vpnAddress: string;
}

/** What quota contributes to `self`'s postfix (a class per live home) and dovecot (its own quota and quota-status). */
export function planQuota(nodes: readonly QuotaNode[], self: QuotaNode, quotaHomeTable: string): DaemonContribution {
  const sorted = [...nodes].sort((a, b) => (a.name < b.name ? -1 : 1));
  const homes = sorted.filter(isLive);
  // home → class: the home table's answer (rplanHome) goes through this inline map, as the transport does.
  const classOf = sorted.map((n) => `${n.name}=${isLive(n) ? quotaClass(n.name) : REVOKED_HOME}`);
  return {
    feature: "quota",
    postfix: {
      notes: [`every MX asks the recipient's home (dovecot quota-status, VPN port ${QUOTA_STATUS_PORT}) at RCPT: a full mailbox is refused alike everywhere, a home that cannot be asked defers`],
      main: {
        smtpd_restriction_classes: [QUOTA_CHECK, REVOKED_HOME, ...homes.map((h) => quotaClass(h.name))].join(", "),
        [QUOTA_CHECK]: `check_recipient_access pipemap:{proxy:ldap:${quotaHomeTable}, inline:{ ${classOf.join(", ")} }}`,
        [REVOKED_HOME]: "defer",
        ...Object.fromEntries(homes.map((h) => [quotaClass(h.name), `check_policy_service { inet:${h.vpnAddress}:${QUOTA_STATUS_PORT}, timeout=${QUOTA_STATUS_TIMEOUT} }`])),
      },
    },
    dovecot: {
      notes: [`quota on the Maildirs of users homed here (rplanQuota); quota-status for every MX on ${self.vpnAddress}:${QUOTA_STATUS_PORT}`],
      settings: { mail_plugins: "$mail_plugins quota" },
      sections: [
        {
          name: "plugin",
          settings: {
            quota: "maildir:User quota",
            // A message that brings the user just over the limit is still taken (10 %): the MX
            // asked before the size was known to everyone.
            quota_grace: "10%%",
            quota_status_success: "DUNNO",
            quota_status_nouser: "DUNNO",
            quota_status_overquota: `"${OVER_QUOTA_REPLY}"`,
          },
        },
        { name: "protocol imap", settings: { mail_plugins: "$mail_plugins imap_quota" } },
        {
          name: "service quota-status",
          settings: { executable: "quota-status -p postfix", client_limit: "1" },
          sections: [{ name: "inet_listener quota-status", settings: { address: self.vpnAddress, port: String(QUOTA_STATUS_PORT) } }],
        },
      ],
    },
  };
}
