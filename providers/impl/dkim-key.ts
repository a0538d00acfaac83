/**
 * DkimKey: a node's DKIM signing key (RSA), born where it lives — like NodeKey and ServiceTlsKey.
 *
 * - Generated ON the node by `openssl genpkey`, in a scratch directory inside the opendkim key
 *   directory of the node's encrypted mount, behind the landing fragment (planning/key-landing.ts:
 *   the mount proved an unlocked encrypted filesystem, no symlink on the way, nothing written off
 *   it). The private key is created 0600 by root (umask 077), never crosses the wire, never appears
 *   in argv or an error; only the public half comes back, as the base64 `p=` value the zone
 *   publishes at `<selector>._domainkey`.
 * - Create always generates a fresh key; a key found on the host is never adopted (it may be the
 *   key of a revoked node being re-admitted, which comes back only with a new key; a create
 *   interrupted after writing simply generates another — the first was never published).
 * - A new `generation` (the node's `dkimKeyGeneration`) replaces the resource: the new key is
 *   renamed over the old one and the old content overwritten (`shred`) and unlinked. The zone then
 *   publishes the new public half under the same selector and opendkim restarts with the new key
 *   (its config names the key's digest); mail signed with the old key stops verifying.
 * - Generations only go up (checked at preview). Update (only the SSH endpoint can change without
 *   replacement) checks the key on the host is the recorded one; refresh reads its public half;
 *   delete never contacts the node (it may be revoked, in hostile hands).
 */
import type { SshEndpointInput } from "../../planning/config";
import * as crypto from "crypto";
import type * as pulumi from "@pulumi/pulumi";
import type { EncryptedMount } from "../../planning/encrypted-mount";
import { isDkimSelector, type DkimPlan } from "../../planning/mail/dkim";
import { SshConnection, SshError } from "../../transports/ssh";
import { LandedOn, landedArgv, parseLanded, withoutLanded } from "../../planning/key-landing";
import { connectForKeys, known } from "./common";
import { checkResult, diffKey, firstOffMount, generationProblem, isBelowMount, isKeyPath, newKeyId, whereItLands } from "./key-common";

export interface DkimKeyInputs extends Omit<DkimPlan, "domain"> {
  readonly ssh: SshEndpointInput;
  readonly encryptedMount: EncryptedMount;
}

export interface DkimKeyOutputs extends DkimKeyInputs {
  /** The public key as DNS publishes it: base64 of the DER SubjectPublicKeyInfo (the `p=` tag). */
  readonly publicKey: string;
  /** Where the key's path really lands (proved at write time, re-read by refresh; the policy pack checks it). */
  readonly landedOn?: LandedOn[];
}

const BUSINESS = ["node", "ssh", "encryptedMount", "selector", "keyDir", "privateKeyPath", "keyBits", "generation"];
const REPLACE = BUSINESS.filter((k) => k !== "ssh");
const RSA_BITS = [2048, 3072, 4096];

/** Every problem with the inputs; unknown values (preview) are skipped. No I/O. */
export function validateDkimKey(olds: Partial<DkimKeyInputs> | undefined, news: DkimKeyInputs): pulumi.dynamic.CheckFailure[] {
  const failures: pulumi.dynamic.CheckFailure[] = [];
  const bad = (property: string, reason: string) => failures.push({ property, reason });
  for (const k of BUSINESS) if ((news as unknown as Record<string, unknown>)[k] === undefined) bad(k, `${k} is required`);
  if (known(news.selector) && !isDkimSelector(news.selector)) bad("selector", `selector must be a lower-case DNS label (got ${JSON.stringify(news.selector)})`);
  if (known(news.keyBits) && !RSA_BITS.includes(news.keyBits)) bad("keyBits", `keyBits must be one of ${RSA_BITS.join(", ")} (got ${JSON.stringify(news.keyBits)})`);
  const generation = generationProblem(olds, news, "dkimKeyGeneration");
  if (generation) bad("generation", generation);
  const mount = news.encryptedMount;
  if (known(mount) && known(mount?.path) && known(news.keyDir) && known(news.privateKeyPath)) {
    const { keyDir: dir, privateKeyPath: key } = news;
    if (!isKeyPath(dir)) bad("keyDir", `keyDir ${JSON.stringify(dir)} must be a normalized absolute path`);
    else if (!isBelowMount(mount, dir)) bad("keyDir", `the DKIM key directory of ${news.node} must lie inside its encrypted mount ${mount.path} (got ${dir})`);
    if (!isKeyPath(key)) bad("privateKeyPath", `privateKeyPath ${JSON.stringify(key)} must be a normalized absolute path`);
    else if (!key.startsWith(`${dir}/`) || key.slice(dir.length + 1).includes("/")) bad("privateKeyPath", `the DKIM private key of ${news.node} must be a file directly in ${dir} (got ${key})`);
  }
  return failures;
}

export async function check(olds: Partial<DkimKeyInputs> | undefined, news: DkimKeyInputs): Promise<pulumi.dynamic.CheckResult> {
  return checkResult(news, validateDkimKey(olds, news));
}

export async function diff(_id: string, olds: DkimKeyOutputs, news: DkimKeyInputs): Promise<pulumi.dynamic.DiffResult> {
  return diffKey(olds, news, BUSINESS, REPLACE);
}

export async function create(inputs: DkimKeyInputs): Promise<pulumi.dynamic.CreateResult> {
  const conn = await unlockedConnection(inputs);
  const r = await conn.run(generateDkimArgv(inputs), { label: `generate the DKIM key (RSA ${inputs.keyBits}) in ${inputs.privateKeyPath}` });
  const publicKey = dkimPublicKeyOf(inputs.node, withoutLanded(r.stdout));
  return { id: newKeyId(inputs.node, inputs.generation, "dkim"), outs: { ...inputs, publicKey, landedOn: parseLanded(r.stdout) } };
}

export async function update(_id: string, olds: DkimKeyOutputs, news: DkimKeyInputs): Promise<pulumi.dynamic.UpdateResult> {
  const conn = await unlockedConnection(news);
  const { publicKey, landedOn } = await readPublicKey(conn, news);
  const off = firstOffMount(landedOn);
  if (publicKey !== olds.publicKey || off) {
    const what = off ? `${whereItLands(off)}, off the encrypted filesystem` : publicKey ? "not the one recorded in the stack" : "missing";
    throw new SshError(`[${news.node}] the DKIM key at ${news.privateKeyPath} is ${what}; bump dkimKeyGeneration of ${news.node} to generate and publish a new one`, news.node);
  }
  return { outs: { ...news, publicKey, landedOn } };
}

/** Refresh: the public half of the key on the host; a missing key makes the resource gone. */
export async function read(id: string, props: DkimKeyOutputs): Promise<pulumi.dynamic.ReadResult> {
  const conn = await unlockedConnection(props);
  const { publicKey, landedOn } = await readPublicKey(conn, props);
  if (!publicKey) return { id: "", props: {} };
  return { id, props: { ...props, publicKey, landedOn } };
}

export async function delete_(): Promise<void> {
  // Never contacts the node: a deleted DkimKey is a revoked or removed node (possibly in hostile
  // hands) or a replaced generation, whose file the replacement already overwrote.
}
export { delete_ as delete };

/** The base64 `p=` value from the PEM public key the scripts print. */
export function dkimPublicKeyOf(node: string, text: string): string {
  const m = /-----BEGIN PUBLIC KEY-----\s*([A-Za-z0-9+/=\s]+?)\s*-----END PUBLIC KEY-----/.exec(text);
  if (!m) throw new SshError(`[${node}] the DKIM key generation printed no public key`, node);
  const b64 = m[1].replace(/\s+/g, "");
  try {
    crypto.createPublicKey({ key: Buffer.from(b64, "base64"), format: "der", type: "spki" });
  } catch (e) {
    throw new SshError(`[${node}] the DKIM public key is not a valid key: ${(e as Error).message}`, node);
  }
  return b64;
}

const unlockedConnection = (inputs: DkimKeyInputs) => connectForKeys(inputs, [inputs.keyDir, inputs.privateKeyPath], "DKIM key");

/**
 * Generate in a scratch directory inside the key directory (same filesystem: the rename is
 * atomic), keep a hard link to the old key so its content can be overwritten once the new one is in
 * place, print only the public half. argv: keyDir privateKeyPath bits.
 */
export const GENERATE_DKIM_SCRIPT = [
  "umask 077",
  "dir=$1; key=$2; bits=$3",
  'case "$key" in "$dir"/*) ;; *) echo "$key is not in $dir" >&2; exit 2 ;; esac',
  'kn=${key#"$dir"/}',
  'land_target=$key; land_dir "$dir"; land_own; land_file "$kn"',
  's=$(mktemp -d ./.dkimgen.XXXXXX)',
  "trap 'rm -rf -- \"$s\"' EXIT",
  'if ! openssl genpkey -algorithm RSA -pkeyopt "rsa_keygen_bits:$bits" -out "$s/key" </dev/null >"$s/log" 2>&1; then grep -v "PRIVATE KEY" "$s/log" >&2 || true; exit 1; fi',
  'chmod 0600 "$s/key"',
  'openssl pkey -in "$s/key" -pubout > "$s/pub"',
  'test -s "$s/pub"',
  'if [ -f "$kn" ]; then ln -- "$kn" "$s/old" 2>/dev/null || true; fi',
  'mv -fT -- "$s/key" "$kn"',
  'land_check "$kn"',
  'if [ -e "$s/old" ]; then shred -u -- "$s/old" 2>/dev/null || rm -f -- "$s/old"; fi',
  'sync -f "$kn" 2>/dev/null || true',
  'land_probe "$key"; cat -- "$s/pub"',
].join("\n");

/** The public half derived from the key on the host. Exit 3: no key; 4: unreadable; 6: key mode. argv: privateKeyPath. */
export const READ_DKIM_SCRIPT = [
  'key=$1; land_mount; land_probe "$key"',
  '[ -e "$key" ] || exit 3',
  'openssl pkey -in "$key" -pubout 2>/dev/null || { echo "cannot read the DKIM key $key" >&2; exit 4; }',
  'm=$(stat -c %a -- "$key"); if [ "$m" != 600 ]; then echo "the DKIM key $key has mode $m, not 600" >&2; exit 6; fi',
].join("\n");

type Where = Pick<DkimKeyInputs, "node" | "encryptedMount">;

/** argv (for `conn.run`, or `sh` locally) that generates the key and prints where it landed and its public half. */
export function generateDkimArgv(i: Where & Pick<DkimKeyInputs, "keyDir" | "privateKeyPath" | "keyBits">): string[] {
  return landedArgv(i.node, i.encryptedMount, GENERATE_DKIM_SCRIPT, [i.keyDir, i.privateKeyPath, String(i.keyBits)]);
}

/** argv that prints where the key lands and its public half. */
export function readDkimArgv(i: Where & Pick<DkimKeyInputs, "privateKeyPath">): string[] {
  return landedArgv(i.node, i.encryptedMount, READ_DKIM_SCRIPT, [i.privateKeyPath]);
}

async function readPublicKey(conn: SshConnection, inputs: DkimKeyInputs): Promise<{ publicKey?: string; landedOn: LandedOn[] }> {
  const r = await conn.run(readDkimArgv(inputs), { allowFailure: true, label: `read the DKIM public key of ${inputs.privateKeyPath}` });
  const landedOn = parseLanded(r.stdout);
  if (r.code === 3) return { landedOn };
  if (r.code !== 0) throw new SshError(`[${inputs.node}] ${r.stderr.trim() || `cannot read the DKIM key (exit ${r.code})`}; bump dkimKeyGeneration of ${inputs.node} to generate a new one`, inputs.node, r.code);
  return { publicKey: dkimPublicKeyOf(inputs.node, withoutLanded(r.stdout)), landedOn };
}
