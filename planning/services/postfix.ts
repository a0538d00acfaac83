import type { ServiceDescriptor, TlsFiles } from "./descriptor";

/** postfix's main.cf settings for its key (STARTTLS offered, not required: other MTAs may lack it). */
export function postfixTlsSettings(plan: TlsFiles): [string, string][] {
  return [
    ["smtpd_tls_cert_file", plan.certPath],
    ["smtpd_tls_key_file", plan.privateKeyPath],
    ["smtpd_tls_security_level", "may"],
  ];
}

/**
 * The MTA: an equal MX on every node, routing each message over the VPN to its user's home
 * (planning/mail). Its certificate is RSA: `smtpd_tls_cert_file`/`smtpd_tls_key_file` are postfix's
 * RSA slots, and the MTAs that deliver to us are the least modern clients we have.
 */
export const postfix = {
  name: "postfix",
  purpose: "MX, submission and routing to each user's home",
  // openssl generates its TLS key on the node (ServiceTlsKey).
  packages: ["postfix", "postfix-ldap", "postfix-pcre", "openssl"],
  keyDir: true,
  mountUnits: ["postfix"],
  tls: {
    algorithm: "rsa-3072",
    contribution: (plan, note) => ({ postfix: { notes: [note], main: Object.fromEntries(postfixTlsSettings(plan)) } }),
  },
  duties: { postfixConfig: (node) => `${node}-postfix-config` },
} satisfies ServiceDescriptor;
