/** What every node must have, whatever its country: pure facts used by the Node component. */
import { EncryptedMount, keyDir } from "./encrypted-mount";
import { LOG_PACKAGES } from "./logs/anonymity";

/** Services whose private keys live in their own directory inside the encrypted mount. */
export const KEY_SERVICES = ["tinc", "slapd", "postfix", "dovecot", "opendkim"] as const;

/**
 * The units that read keys or data from the encrypted mount. A locked mount (e.g. after a reboot)
 * leaves them failed or without their keys: unlocking restarts those that are enabled; locking
 * (drills) stops them first, since slapd keeps its database open there.
 */
export const MOUNT_UNITS = ["tinc@rplan", "slapd", "postfix", "dovecot", "opendkim"] as const;

const BASE_PACKAGES = [
  "openssh-server",
  "tinc",
  "slapd",
  "ldap-utils",
  "postfix",
  "postfix-ldap",
  "postfix-pcre",
  "dovecot-imapd",
  "dovecot-pop3d",
  "dovecot-lmtpd",
  "dovecot-ldap",
  "rsync",
  "iputils-ping",
  // generates the postfix and dovecot TLS keys on the node (ServiceTlsKey)
  "openssl",
  // serves the cluster's zone (components/dns.ts); dig is the client the DNS check runs on every node
  "knot",
  "bind9-dnsutils",
  // signs submitted mail with the node's own key (planning/mail/dkim.ts)
  "opendkim",
];

/** The Debian packages a node needs: the base set, the anonymising syslog, the encrypted-mount tools, and the config's extras. */
export function nodePackages(mount: EncryptedMount, extra: readonly string[]): string[] {
  const crypt = mount.kind === "gocryptfs" ? ["gocryptfs", "fuse3"] : ["cryptsetup"];
  return [...new Set([...BASE_PACKAGES, ...LOG_PACKAGES, ...crypt, ...extra])].sort();
}

/** Service → key directory inside the node's encrypted mount (config overrides win; they are validated). */
export function nodeKeyDirs(mount: EncryptedMount, overrides: Readonly<Record<string, string>> = {}): Record<string, string> {
  return Object.fromEntries(KEY_SERVICES.map((s) => [s, overrides[s] ?? keyDir(mount, s)]));
}
