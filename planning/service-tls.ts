/**
 * TLS for the mail daemons: where each service's key and certificate live (its key directory inside
 * the node's encrypted mount), what the certificate names, and what the TLS feature contributes to
 * the postfix and dovecot configuration. Pure: no Pulumi, no I/O (node's `net` classifies IP address strings, `crypto` parses certificates).
 */
import { X509Certificate } from "crypto";
import { isIP } from "net";
import { EncryptedMount, isInsideMount, normalizePosix } from "./encrypted-mount";
import type { DaemonContribution } from "./mail/contribution";
import { serviceTls, TLS_ALGORITHMS, TLS_SERVICES, type TlsAlgorithm, type TlsService } from "./services";

export { TLS_ALGORITHMS, TLS_SERVICES, type TlsAlgorithm, type TlsService };


/** What the certificate names: CN, and the subjectAltName entries. */
export interface TlsSubject {
  readonly commonName: string;
  readonly dnsNames: readonly string[];
  readonly ipAddresses: readonly string[];
}

/** One service's key on one node: the business inputs of its ServiceTlsKey. */
export interface ServiceTlsPlan {
  readonly service: TlsService;
  /** The service's key directory inside the encrypted mount (generation happens in a scratch dir here). */
  readonly keyDir: string;
  /** `<keyDir>/tls.key`: 0600, never leaves the node. */
  readonly privateKeyPath: string;
  /** `<keyDir>/tls.crt`: the self-signed certificate (public). */
  readonly certPath: string;
  readonly subject: TlsSubject;
  readonly algorithm: TlsAlgorithm;
  readonly validityDays: number;
  /** Bump (the node's `tlsKeyGeneration`) to replace every TLS key of the node. */
  readonly generation: number;
}

/** ~27 months; renew by bumping `tlsKeyGeneration` before the `notAfter` a ServiceTlsKey reports. */
export const TLS_VALIDITY_DAYS = 825;

const DNS_NAME = /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;
const SERVICE = /^[a-z][a-z0-9-]{0,31}$/;
/** A key/cert file name: letters, digits, `.`, `_`, `-`; not hidden (hidden names are scratch). */
const FILE_NAME = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,63}$/;
const SAFE_PATH = /^\/[A-Za-z0-9._/-]+$/;

/** The key and certificate paths inside a key directory. */
export function tlsKeyFiles(keyDir: string): { privateKeyPath: string; certPath: string } {
  return { privateKeyPath: `${keyDir}/tls.key`, certPath: `${keyDir}/tls.crt` };
}

/** The certificate's names: `<node>.<domain>` (or the bare node name without a domain) and the public address. */
export function tlsSubject(node: { readonly name: string; readonly publicAddress: string }, domain?: string): TlsSubject {
  const commonName = domain ? `${node.name}.${domain}` : node.name;
  return { commonName, dnsNames: [commonName], ipAddresses: [node.publicAddress] };
}

/** One ServiceTlsPlan per TLS service of a node, from its key directories. */
export function planServiceTls(
  node: { readonly name: string; readonly publicAddress: string; readonly tlsKeyGeneration?: number },
  keyDirs: Readonly<Record<string, string>>,
  domain?: string,
): ServiceTlsPlan[] {
  const subject = tlsSubject(node, domain);
  return TLS_SERVICES.map((service) => {
    const keyDir = keyDirs[service];
    if (!keyDir) throw new Error(`node ${node.name} has no key directory for ${service}`);
    return { service, keyDir, ...tlsKeyFiles(keyDir), subject, algorithm: serviceTls(service).algorithm, validityDays: TLS_VALIDITY_DAYS, generation: node.tlsKeyGeneration ?? 1 };
  });
}

/** The `subjectAltName` extension value (`DNS:a,IP:198.51.100.11`). */
export function subjectAltName(subject: TlsSubject): string {
  return [...subject.dnsNames.map((d) => `DNS:${d}`), ...subject.ipAddresses.map((a) => `IP:${a}`)].join(",");
}

/** Every problem with a subject (its values go into an openssl config file on the node: strict). */
export function tlsSubjectProblems(subject: unknown): string[] {
  const s = (subject ?? {}) as Partial<Record<keyof TlsSubject, unknown>>;
  const problems: string[] = [];
  if (typeof s.commonName !== "string" || !DNS_NAME.test(s.commonName) || s.commonName.length > 64) {
    problems.push(`subject.commonName ${JSON.stringify(s.commonName ?? null)} must be a lower-case DNS name of at most 64 characters`);
  }
  if (!Array.isArray(s.dnsNames) || !s.dnsNames.every((d) => typeof d === "string" && DNS_NAME.test(d))) problems.push("subject.dnsNames must be a list of lower-case DNS names");
  if (!Array.isArray(s.ipAddresses) || !s.ipAddresses.every((a) => typeof a === "string" && isIP(a) !== 0)) problems.push("subject.ipAddresses must be a list of IP addresses");
  if (Array.isArray(s.dnsNames) && Array.isArray(s.ipAddresses) && s.dnsNames.length + s.ipAddresses.length === 0) problems.push("subject names nothing (no dnsNames, no ipAddresses)");
  return problems;
}

/** Every problem with where a service's key goes: a key dir strictly inside the mount, both files directly in it. */
export function tlsPathProblems(
  mount: Pick<EncryptedMount, "path">,
  p: { readonly service?: unknown; readonly keyDir?: unknown; readonly privateKeyPath?: unknown; readonly certPath?: unknown },
  isKnown: (v: unknown) => boolean = (v) => v !== undefined,
): { property: string; reason: string }[] {
  const out: { property: string; reason: string }[] = [];
  const bad = (property: string, reason: string) => out.push({ property, reason });
  if (isKnown(p.service) && !(typeof p.service === "string" && SERVICE.test(p.service))) bad("service", `service ${JSON.stringify(p.service)} must be a lower-case service name`);
  const okPath = (v: unknown): v is string => typeof v === "string" && SAFE_PATH.test(v) && normalizePosix(v) === v;
  let dir: string | undefined;
  if (isKnown(p.keyDir)) {
    if (!okPath(p.keyDir)) bad("keyDir", `keyDir ${JSON.stringify(p.keyDir)} must be a normalized absolute path of safe characters`);
    else if (!isInsideMount(mount, p.keyDir) || p.keyDir === normalizePosix(mount.path)) bad("keyDir", `the key directory ${p.keyDir} must be inside the encrypted mount ${mount.path}`);
    else dir = p.keyDir;
  }
  for (const prop of ["privateKeyPath", "certPath"] as const) {
    const v = p[prop];
    if (!isKnown(v)) continue;
    const what = prop === "privateKeyPath" ? "the private key" : "the certificate";
    if (!okPath(v)) bad(prop, `${prop} ${JSON.stringify(v)} must be a normalized absolute path of safe characters`);
    else if (!isInsideMount(mount, v) || v === normalizePosix(mount.path)) bad(prop, `${what} must live inside the encrypted mount ${mount.path} (got ${v})`);
    else if (dir !== undefined && (v.slice(0, v.lastIndexOf("/")) !== dir || !FILE_NAME.test(v.slice(v.lastIndexOf("/") + 1)))) {
      // Generated in a scratch directory inside keyDir and renamed: same filesystem, atomic.
      bad(prop, `${what} must be a (non-hidden) file directly in the key directory ${dir} (got ${v})`);
    }
  }
  if (isKnown(p.privateKeyPath) && isKnown(p.certPath) && p.privateKeyPath === p.certPath) bad("certPath", "certPath and privateKeyPath must differ");
  return out;
}

/**
 * The TLS feature's part of the mail daemons' configuration (planning/mail): each TLS service reads
 * the node's own key and certificate from its key directory, with the settings its descriptor names
 * (planning/services). The certificate in use is named by `tlsRevision` in each daemon's file header
 * (MailDaemons `revisions`), so a new key (a new `tlsKeyGeneration`) changes the file and reloads the daemon.
 */
export function tlsContribution(plans: readonly ServiceTlsPlan[]): DaemonContribution {
  const note = (p: ServiceTlsPlan) => `${p.service} key generated on this node inside its encrypted mount, in ${p.keyDir} (generation ${p.generation}); it never leaves it`;
  return Object.assign({ feature: "tls" }, ...plans.map((p) => serviceTls(p.service).contribution(p, note(p))));
}

/** The header line naming the certificate a daemon uses (its SHA-256 as a ServiceTlsKey reports it). */
export function tlsRevision(service: TlsService, fingerprint: string): string {
  return `${service} TLS certificate SHA-256 ${fingerprint}`;
}

/** A certificate as a ServiceTlsKey reports it. */
export interface ParsedCertificate {
  /** The single PEM block, normalized (LF line ends, no surrounding text). */
  readonly pem: string;
  /** SHA-256 of the DER, upper-case hex pairs joined by `:` (as `openssl x509 -fingerprint -sha256` prints it). */
  readonly fingerprint: string;
  /** ISO 8601. */
  readonly notAfter: string;
  readonly subject: string;
}

const CERT_PEM = /^-----BEGIN CERTIFICATE-----\n[A-Za-z0-9+/=\n]+\n-----END CERTIFICATE-----$/;

/**
 * The one accepted answer from a node: a single certificate PEM block naming `commonName`, and
 * nothing else. Anything resembling a private key is refused without being echoed, so it can never
 * reach the stack's state or a log through an error message.
 */
export function parseTlsCertificate(node: string, text: string, commonName?: string): ParsedCertificate {
  if (/PRIVATE KEY/.test(text)) throw new Error(`${node} answered with private key material where a certificate was expected: refusing to record it`);
  const pem = text.replace(/\r/g, "").trim();
  if (!CERT_PEM.test(pem)) throw new Error(`the TLS certificate reported by ${node} is not a single "CERTIFICATE" PEM block`);
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(pem);
  } catch (e) {
    throw new Error(`the TLS certificate reported by ${node} does not parse: ${(e as Error).message}`);
  }
  if (commonName !== undefined && cert.subject !== `CN=${commonName}`) {
    throw new Error(`the TLS certificate reported by ${node} names ${JSON.stringify(cert.subject)}, not CN=${commonName}`);
  }
  return { pem: pem + "\n", fingerprint: cert.fingerprint256, notAfter: new Date(cert.validTo).toISOString(), subject: cert.subject };
}
