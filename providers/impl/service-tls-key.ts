/**
 * ServiceTlsKey: a service's TLS private key and self-signed certificate (postfix, dovecot), born
 * where they live.
 *
 * - Generated ON the node by `openssl req -x509 -nodes`, in a scratch directory inside the
 *   service's key directory in the node's encrypted mount, after the mount is verified to be an
 *   unlocked encrypted filesystem (locked: the unlock message, nothing is done). The openssl
 *   request config (subject, subjectAltName, CA:FALSE, serverAuth) is written into the scratch
 *   directory, so the node's own openssl.cnf plays no part. The private key is created 0600 (umask
 *   077) by the SSH user (root) and checked to match the certificate before anything is renamed.
 *   It never crosses the wire, never appears in argv (only paths and names do), and is never
 *   echoed in an error: only the certificate, its SHA-256 fingerprint and its expiry come back.
 * - Create always generates a fresh pair; a pair found on the host is never adopted, not even one
 *   naming the requested subject. Adoption would make a re-run after a crash idempotent, but a
 *   crash costs nothing without it (the stack never recorded that certificate, so no one trusts or
 *   pins it), whereas adoption would keep the key of a node that was revoked (possibly in hostile
 *   hands) and is being re-admitted — its ServiceTlsKey was dropped from the state without
 *   contacting it, so the next create is exactly that case — and would trust whatever files a
 *   tampered host presents. A fresh key is always the safe answer when the stack has none recorded.
 * - A new `generation` (the node's `tlsKeyGeneration`), and any change of service, paths, subject,
 *   key type or validity, replaces the resource: the new key and certificate are renamed over the
 *   old ones (no moment without a key file; the two renames follow each other at once — a crash
 *   between them leaves a mismatched pair, which update and refresh report) and the old key's
 *   content is overwritten (`shred`) and unlinked. Nothing of a rotated key is kept. The daemons
 *   pick the new pair up through their HostFiles, whose content names the certificate's
 *   fingerprint and so changes (and reloads the daemon) with it.
 * - Generations only go up (checked at preview).
 * - Update (only the SSH endpoint can change without replacement) checks that the pair on the host
 *   is the recorded one; refresh reads the certificate back (and checks the key still belongs to
 *   it, mode 0600); delete never contacts the node (it may be revoked, in hostile hands).
 */
import type { SshEndpointInput } from "../../planning/config";
import type * as pulumi from "@pulumi/pulumi";
import { EncryptedMount } from "../../planning/encrypted-mount";
import { ParsedCertificate, parseTlsCertificate, ServiceTlsPlan, subjectAltName, TLS_ALGORITHMS, tlsPathProblems, tlsSubjectProblems } from "../../planning/service-tls";
import { SshConnection, SshError } from "../../transports/ssh";
import { LandedOn, landedArgv, parseLanded, withoutLanded } from "../../planning/key-landing";
import { connectForKeys, known, UNKNOWN } from "./common";
import { checkResult, diffKey, firstOffMount, generationProblem, newKeyId, whereItLands } from "./key-common";

/** The plan's business inputs (planning/service-tls.ts), addressed to one node. */
export interface ServiceTlsKeyInputs extends Omit<ServiceTlsPlan, "service"> {
  readonly node: string;
  readonly ssh: SshEndpointInput;
  readonly encryptedMount: EncryptedMount;
  /** The daemon the key is for ("postfix", "dovecot"); checked here, since inputs arrive untyped. */
  readonly service: string;
}

export interface ServiceTlsKeyOutputs extends ServiceTlsKeyInputs {
  /** The self-signed certificate (PEM). */
  readonly certificate: string;
  /** SHA-256 of the certificate's DER, `AB:CD:…` as `openssl x509 -fingerprint -sha256` prints it. */
  readonly fingerprint: string;
  /** ISO 8601: renew (bump the generation) before this. */
  readonly notAfter: string;
  /** Where the key and certificate paths really land (proved at write time, re-read by refresh; the policy pack checks it). */
  readonly landedOn?: LandedOn[];
}

const BUSINESS = ["node", "ssh", "encryptedMount", "service", "keyDir", "privateKeyPath", "certPath", "subject", "algorithm", "validityDays", "generation"];
const REPLACE = BUSINESS.filter((k) => k !== "ssh");
const REQUIRED = BUSINESS;
const containsUnknown = (v: unknown): boolean => v === UNKNOWN || (typeof v === "object" && v !== null && Object.values(v).some(containsUnknown));

/** Every problem with the inputs; unknown values (preview) are skipped. No I/O. */
export function validateServiceTlsKey(olds: Partial<ServiceTlsKeyInputs> | undefined, news: ServiceTlsKeyInputs): pulumi.dynamic.CheckFailure[] {
  const failures: pulumi.dynamic.CheckFailure[] = [];
  const bad = (property: string, reason: string) => failures.push({ property, reason });
  for (const k of REQUIRED) if ((news as unknown as Record<string, unknown>)[k] === undefined || (news as unknown as Record<string, unknown>)[k] === null) bad(k, `${k} is required`);
  if (known(news.node) && !(typeof news.node === "string" && news.node !== "")) bad("node", "node must name the node");
  const generation = generationProblem(olds, news, "tlsKeyGeneration", ["node", "service"], news.service);
  if (generation) bad("generation", generation);
  if (known(news.algorithm) && !(TLS_ALGORITHMS as readonly unknown[]).includes(news.algorithm)) bad("algorithm", `algorithm must be one of ${TLS_ALGORITHMS.join(", ")} (got ${JSON.stringify(news.algorithm)})`);
  if (known(news.validityDays) && !(Number.isSafeInteger(news.validityDays) && news.validityDays >= 1 && news.validityDays <= 3650)) {
    bad("validityDays", `validityDays must be an integer from 1 to 3650 (got ${JSON.stringify(news.validityDays)})`);
  }
  if (known(news.subject) && !containsUnknown(news.subject)) for (const p of tlsSubjectProblems(news.subject)) bad("subject", p);
  const mount = news.encryptedMount;
  if (known(mount) && known(mount?.path)) {
    const paths = { service: news.service, keyDir: news.keyDir, privateKeyPath: news.privateKeyPath, certPath: news.certPath };
    failures.push(...tlsPathProblems(mount, paths, known));
  }
  return failures;
}

export async function check(olds: Partial<ServiceTlsKeyInputs> | undefined, news: ServiceTlsKeyInputs): Promise<pulumi.dynamic.CheckResult> {
  return checkResult(news, validateServiceTlsKey(olds, news));
}

export async function diff(_id: string, olds: ServiceTlsKeyOutputs, news: ServiceTlsKeyInputs): Promise<pulumi.dynamic.DiffResult> {
  return diffKey(olds, news, BUSINESS, REPLACE);
}

export async function create(inputs: ServiceTlsKeyInputs): Promise<pulumi.dynamic.CreateResult> {
  const conn = await unlockedConnection(inputs);
  const r = await conn.run(generateArgv(inputs), {
    label: `generate the ${inputs.service} TLS key (${inputs.algorithm}) in ${inputs.privateKeyPath}`,
  });
  const cert = certificateOf(inputs, withoutLanded(r.stdout));
  return { id: newKeyId(inputs.node, inputs.generation, inputs.service), outs: outputs(inputs, cert, parseLanded(r.stdout)) };
}

export async function update(_id: string, olds: ServiceTlsKeyOutputs, news: ServiceTlsKeyInputs): Promise<pulumi.dynamic.UpdateResult> {
  const conn = await unlockedConnection(news);
  const { cert: onHost, landedOn } = await readCertificate(conn, news);
  const off = firstOffMount(landedOn);
  if (!onHost || onHost.fingerprint !== olds.fingerprint || off) {
    throw new SshError(
      `[${news.node}] the ${news.service} TLS ${off ? `key path ${off.path} ${whereItLands(off)}, off the encrypted filesystem` : `certificate at ${news.certPath} is ${onHost ? "not the one recorded in the stack" : "missing"}`}; ` +
        `bump tlsKeyGeneration of ${news.node} to generate a new key`,
      news.node,
    );
  }
  return { outs: outputs(news, onHost, landedOn) };
}

/** Refresh: the certificate on the host; a missing pair makes the resource gone. */
export async function read(id: string, props: ServiceTlsKeyOutputs): Promise<pulumi.dynamic.ReadResult> {
  const conn = await unlockedConnection(props);
  const { cert, landedOn } = await readCertificate(conn, props);
  if (!cert) return { id: "", props: {} };
  return { id, props: outputs(props, cert, landedOn) };
}

export async function delete_(): Promise<void> {
  // Never contacts the node: a deleted ServiceTlsKey is a revoked or removed node (possibly in
  // hostile hands) or a replaced generation, whose files the replacement already overwrote.
}
export { delete_ as delete };

function outputs(inputs: ServiceTlsKeyInputs, cert: ParsedCertificate, landedOn: LandedOn[]): ServiceTlsKeyOutputs {
  return { ...inputs, certificate: cert.pem, fingerprint: cert.fingerprint, notAfter: cert.notAfter, landedOn };
}

function certificateOf(inputs: ServiceTlsKeyInputs, text: string): ParsedCertificate {
  try {
    return parseTlsCertificate(inputs.node, text, inputs.subject.commonName);
  } catch (e) {
    throw new SshError(`[${inputs.node}] ${inputs.service}: ${(e as Error).message}`, inputs.node);
  }
}

const unlockedConnection = (inputs: ServiceTlsKeyInputs) => connectForKeys(inputs, [inputs.keyDir, inputs.privateKeyPath, inputs.certPath], `${inputs.service} TLS key`);

/**
 * Generate a key and self-signed certificate in a scratch directory inside the key directory (same
 * filesystem: the renames are atomic), check that they belong together, keep a hard link to the
 * old key so its content can be overwritten once the new one is in place, and print the
 * certificate (only the certificate). argv: keyDir privateKeyPath certPath commonName
 * subjectAltName validityDays algorithm. A body behind the landing fragment
 * (planning/key-landing.ts): it works inside the verified key directory by relative names, so
 * nothing is written through a symlink. Runs with plain `sh` and `openssl` (tested locally).
 */
export const GENERATE_TLS_SCRIPT = [
  "umask 077",
  "dir=$1; key=$2; cert=$3; cn=$4; san=$5; days=$6; alg=$7",
  'case "$alg" in',
  "  rsa-3072) set -- -newkey rsa:3072; usage=digitalSignature,keyEncipherment ;;",
  "  ec-p256) set -- -newkey ec -pkeyopt ec_paramgen_curve:P-256; usage=digitalSignature ;;",
  '  *) echo "unknown key algorithm $alg" >&2; exit 2 ;;',
  "esac",
  'case "$key" in "$dir"/*) ;; *) echo "$key is not in $dir" >&2; exit 2 ;; esac',
  'case "$cert" in "$dir"/*) ;; *) echo "$cert is not in $dir" >&2; exit 2 ;; esac',
  'kn=${key#"$dir"/}; cn_=${cert#"$dir"/}',
  'land_target=$key; land_dir "$dir"; land_own; land_file "$kn"; land_file "$cn_"',
  's=$(mktemp -d ./.tlsgen.XXXXXX)',
  "trap 'rm -rf -- \"$s\"' EXIT",
  "printf '%s\\n' '[req]' 'distinguished_name = dn' 'x509_extensions = ext' 'prompt = no' '[dn]' \"CN = $cn\" '[ext]' \\",
  "  'basicConstraints = critical,CA:FALSE' \"keyUsage = critical,$usage\" 'extendedKeyUsage = serverAuth' \\",
  "  'subjectKeyIdentifier = hash' \"subjectAltName = $san\" > \"$s/req.cnf\"",
  'if ! openssl req -x509 -config "$s/req.cnf" "$@" -nodes -keyout "$s/key" -out "$s/crt" -days "$days" </dev/null >"$s/log" 2>&1; then',
  '  grep -v "PRIVATE KEY" "$s/log" >&2 || true; exit 1',
  "fi",
  'chmod 0600 "$s/key"; chmod 0644 "$s/crt"',
  'kp=$(openssl pkey -in "$s/key" -pubout); cp=$(openssl x509 -in "$s/crt" -noout -pubkey)',
  'if [ -z "$kp" ] || [ "$kp" != "$cp" ]; then echo "openssl produced a certificate that does not match its key" >&2; exit 1; fi',
  'if [ -f "$kn" ]; then ln -- "$kn" "$s/old" 2>/dev/null || true; fi',
  'mv -fT -- "$s/key" "$kn"',
  'mv -fT -- "$s/crt" "$cn_"',
  'land_check "$kn"; land_check "$cn_"',
  'if [ -e "$s/old" ]; then shred -u -- "$s/old" 2>/dev/null || rm -f -- "$s/old"; fi',
  'sync -f "$kn" 2>/dev/null || true',
  'land_probe "$key"; land_probe "$cert"; cat -- "$cn_"',
].join("\n");

/**
 * The certificate on the host, after checking the key next to it belongs to it and is mode 0600.
 * Exit 3: neither exists; 4: unreadable; 5: one missing or they do not match; 6: key mode.
 * argv: privateKeyPath certPath.
 */
export const READ_TLS_SCRIPT = [
  'key=$1; cert=$2; land_mount; land_probe "$key"; land_probe "$cert"',
  'if [ ! -e "$key" ] && [ ! -e "$cert" ]; then exit 3; fi',
  'if [ ! -e "$key" ]; then echo "the private key $key is missing" >&2; exit 5; fi',
  'if [ ! -e "$cert" ]; then echo "the certificate $cert is missing" >&2; exit 5; fi',
  'kp=$(openssl pkey -in "$key" -pubout 2>/dev/null) || { echo "cannot read the private key $key" >&2; exit 4; }',
  'cp=$(openssl x509 -in "$cert" -noout -pubkey 2>/dev/null) || { echo "cannot read the certificate $cert" >&2; exit 4; }',
  'if [ "$kp" != "$cp" ]; then echo "the private key $key does not belong to the certificate $cert" >&2; exit 5; fi',
  'm=$(stat -c %a -- "$key"); if [ "$m" != 600 ]; then echo "the private key $key has mode $m, not 600" >&2; exit 6; fi',
  'cat -- "$cert"',
].join("\n");

type Where = Pick<ServiceTlsKeyInputs, "node" | "encryptedMount">;

/** argv (for `conn.run`, or `sh` locally) that generates the pair and prints where it landed and the certificate. */
export function generateArgv(i: Where & Pick<ServiceTlsKeyInputs, "keyDir" | "privateKeyPath" | "certPath" | "subject" | "validityDays" | "algorithm">): string[] {
  const args = [i.keyDir, i.privateKeyPath, i.certPath, i.subject.commonName, subjectAltName(i.subject), String(i.validityDays), i.algorithm];
  return landedArgv(i.node, i.encryptedMount, GENERATE_TLS_SCRIPT, args);
}

/** argv that prints where the pair lands and the certificate on the host (see READ_TLS_SCRIPT for exit codes). */
export function readArgv(i: Where & Pick<ServiceTlsKeyInputs, "privateKeyPath" | "certPath">): string[] {
  return landedArgv(i.node, i.encryptedMount, READ_TLS_SCRIPT, [i.privateKeyPath, i.certPath]);
}

async function readCertificate(conn: SshConnection, inputs: ServiceTlsKeyInputs): Promise<{ cert?: ParsedCertificate; landedOn: LandedOn[] }> {
  const r = await conn.run(readArgv(inputs), { allowFailure: true, label: `read the ${inputs.service} TLS certificate ${inputs.certPath}` });
  const landedOn = parseLanded(r.stdout);
  if (r.code === 3) return { landedOn };
  if (r.code !== 0) {
    throw new SshError(`[${inputs.node}] ${r.stderr.trim() || `cannot read the ${inputs.service} TLS pair (exit ${r.code})`}; bump tlsKeyGeneration of ${inputs.node} to generate a new key`, inputs.node, r.code);
  }
  return { cert: certificateOf(inputs, withoutLanded(r.stdout)), landedOn };
}
