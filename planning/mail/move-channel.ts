/**
 * The channel a mailbox moves over: dovecot's own doveadm server on each node's VPN address, so a
 * move is `doveadm backup` from the old home straight to the new one (dsync: the copy dovecot itself
 * makes, flags and UIDs kept; it survives in dovecot 2.4 as `doveadm backup/sync`). Pure.
 *
 * - The doveadm protocol of 2.3 has no TLS and its password opens every mailbox: it listens on the
 *   VPN address only (tinc encrypts and authenticates the peers), and the password is a cluster
 *   secret kept inside each node's encrypted mount (`doveadm_password = <file`), renewed whenever a
 *   node is revoked (components/mail-routing.ts).
 * - dsync's server side must find a user who is not homed on this node yet: a userdb for the
 *   doveadm protocol only, over every active user, whose mailbox path is the same on every node.
 *   LMTP, IMAP and POP keep their userdb of users homed here.
 */
import type { DaemonContribution } from "./contribution";
import { ldapiUrl, MAIL_USER } from "./routing";

/** The doveadm server's port on the VPN address. */
export const DOVEADM_PORT = 2425;
const MOVE_USERDB = "/etc/dovecot/rplan/ldap-userdb-moves.conf.ext";

export interface MoveChannelInput {
  readonly vpnAddress: string;
  readonly storePath: string;
  readonly suffix: string;
  readonly ldapiSocket: string;
  /** The file inside the encrypted mount that holds the doveadm password. */
  readonly secretPath: string;
}

/** A user's mailbox directory on any node: `<store>/<uid>` (dovecot's home; Maildir below it). */
export const userStoreDir = (storePath: string, uid: string) => `${storePath}/${uid}`;

export function moveChannelContribution(input: MoveChannelInput): DaemonContribution {
  return {
    feature: "move-channel",
    dovecot: {
      notes: [`mailboxes move with doveadm backup over the VPN (${input.vpnAddress}:${DOVEADM_PORT}); docs/move-users.md`],
      // No `doveadm_port`: it would make every doveadm command look up the user's passdb and proxy
      // to the home (proxy_maybe), so the new copy could never be read or written before the switch.
      settings: { doveadm_password: `<${input.secretPath}` },
      sections: [
        { name: "service doveadm", sections: [{ name: "inet_listener", settings: { address: input.vpnAddress, port: String(DOVEADM_PORT) } }] },
        { name: "protocol doveadm", sections: [{ name: "userdb", settings: { driver: "ldap", args: MOVE_USERDB } }] },
      ],
      files: [
        {
          path: MOVE_USERDB,
          content:
            "# every active user, for doveadm only: a mailbox arriving here during a move must have a path before the user's home changes\n" +
            `uris = ${ldapiUrl(input.ldapiSocket)}\nldap_version = 3\nbase = ou=people,${input.suffix}\nscope = onelevel\n` +
            `user_filter = (&(objectClass=rplanUser)(!(rplanUserState=disabled))(|(uid=%u)(mail=%u)))\n` +
            `user_attrs = uid=user, =home=${input.storePath}/%{ldap:uid}, =uid=${MAIL_USER}, =gid=${MAIL_USER}\n`,
        },
      ],
    },
  };
}
