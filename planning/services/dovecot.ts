import type { ServiceDescriptor } from "./descriptor";

/** IMAP/POP and LMTP: mailboxes on the home, proxied from every other node. Users' mail programs get a P-256 certificate. */
export const dovecot = {
  name: "dovecot",
  purpose: "IMAP/POP and ManageSieve, delivery into mailboxes (LMTP) through users' sieve filters, the proxy to each user's home",
  packages: ["dovecot-imapd", "dovecot-pop3d", "dovecot-lmtpd", "dovecot-ldap", "dovecot-sieve", "dovecot-managesieved", "openssl"],
  keyDir: true,
  mountUnits: ["dovecot"],
  tls: {
    algorithm: "ec-p256",
    contribution: (plan, note) => ({
      dovecot: {
        notes: [note],
        settings: {
          // Passwords never cross the network in the clear: IMAP/POP logins need TLS first.
          ssl: "required",
          ssl_cert: `<${plan.certPath}`,
          ssl_key: `<${plan.privateKeyPath}`,
          ssl_dh: "</usr/share/dovecot/dh.pem",
        },
      },
    }),
  },
} satisfies ServiceDescriptor;
