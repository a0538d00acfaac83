/**
 * NodeKey: a node's tinc RSA key pair, born where it lives.
 *
 * - The key is generated ON the node by `tincd -K`, in a scratch directory inside the key directory
 *   of the node's encrypted mount, after the mount is verified to be an unlocked encrypted
 *   filesystem (locked: the unlock message, nothing is done). The private half never leaves the
 *   mount and never crosses the wire; only the public half comes back, as the `publicKey` output.
 * - Create always generates a fresh key. A key found on the host is never adopted: it may be the
 *   key of a node that was revoked and is now being re-admitted, which must come back only with a
 *   new key. (A create interrupted after the key was written simply generates another one at the
 *   next `up`; the first was never distributed.)
 * - A new `generation` (the config's `vpnKeyGeneration`) replaces the resource: the new key is
 *   renamed over the old one (no moment without a key file) and the old file's content is
 *   overwritten (`shred`) and unlinked. Nothing of the old key is kept: a rotated key is presumed
 *   compromised, and rollback to it would defeat the rotation. tincd keeps using the old key from
 *   memory until it restarts, which the mesh does after every peer holds the new public key.
 * - Generations only go up (checked at preview).
 * - Update (only the SSH endpoint can change without replacement) checks that the key on the host
 *   is still the recorded one; refresh reads its public half; delete never contacts the node.
 */
import type { SshEndpointInput } from "../../planning/config";
import type * as pulumi from "@pulumi/pulumi";
import type { EncryptedMount } from "../../planning/encrypted-mount";
import { normalizePublicKey, publicKeyFingerprint } from "../../planning/mesh";
import { SshConnection, SshError } from "../../transports/ssh";
import { LandedOn, landedArgv, parseLanded, withoutLanded } from "../../planning/key-landing";
import { connectForKeys, known } from "./common";
import { checkResult, diffKey, firstOffMount, generationProblem, isBelowMount, isKeyPath, newKeyId, whereItLands } from "./key-common";

export interface NodeKeyInputs {
  readonly node: string;
  /** The node's tinc name (written into the scratch tinc.conf that `tincd -K` reads). */
  readonly tincName: string;
  readonly ssh: SshEndpointInput;
  readonly encryptedMount: EncryptedMount;
  /** Where the private key lives: must be inside `encryptedMount.path`. */
  readonly privateKeyPath: string;
  /** Bump to rotate (a new key is generated on the node). */
  readonly generation: number;
  readonly keyBits: number;
}

export interface NodeKeyOutputs extends NodeKeyInputs {
  readonly publicKey: string;
  readonly fingerprint: string;
  /** Where the key's path really lands (proved at write time, re-read by refresh; the policy pack checks it). */
  readonly landedOn?: LandedOn[];
}

const BUSINESS = ["node", "tincName", "ssh", "encryptedMount", "privateKeyPath", "generation", "keyBits"];
const REPLACE = ["node", "tincName", "encryptedMount", "privateKeyPath", "generation", "keyBits"];

/** Every problem with the inputs; unknown values (preview) are skipped. */
export function validateNodeKey(olds: Partial<NodeKeyInputs> | undefined, news: NodeKeyInputs): pulumi.dynamic.CheckFailure[] {
  const failures: pulumi.dynamic.CheckFailure[] = [];
  const bad = (property: string, reason: string) => failures.push({ property, reason });
  if (known(news.tincName) && !/^[A-Za-z0-9_]{1,64}$/.test(news.tincName)) bad("tincName", `tinc names allow letters, digits and _ only (got ${JSON.stringify(news.tincName)})`);
  const generation = generationProblem(olds, news, "vpnKeyGeneration");
  if (generation) bad("generation", generation);
  if (known(news.keyBits) && ![2048, 3072, 4096].includes(news.keyBits)) bad("keyBits", `keyBits must be 2048, 3072 or 4096 (got ${JSON.stringify(news.keyBits)})`);
  if (known(news.privateKeyPath) && known(news.encryptedMount) && known(news.encryptedMount?.path)) {
    const p = news.privateKeyPath;
    if (!isKeyPath(p)) bad("privateKeyPath", `privateKeyPath ${JSON.stringify(p)} must be a normalized absolute path`);
    else if (!isBelowMount(news.encryptedMount, p)) {
      bad("privateKeyPath", `the private key of ${news.node} must live inside its encrypted mount ${news.encryptedMount.path} (got ${p})`);
    }
  }
  return failures;
}

export async function check(olds: Partial<NodeKeyInputs> | undefined, news: NodeKeyInputs): Promise<pulumi.dynamic.CheckResult> {
  return checkResult(news, validateNodeKey(olds, news));
}

export async function diff(_id: string, olds: NodeKeyOutputs, news: NodeKeyInputs): Promise<pulumi.dynamic.DiffResult> {
  return diffKey(olds, news, BUSINESS, REPLACE);
}

export async function create(inputs: NodeKeyInputs): Promise<pulumi.dynamic.CreateResult> {
  const conn = await unlockedConnection(inputs);
  const made = await generate(conn, inputs);
  return { id: newKeyId(inputs.node, inputs.generation), outs: outputs(inputs, made.publicKey!, made.landedOn) };
}

export async function update(_id: string, olds: NodeKeyOutputs, news: NodeKeyInputs): Promise<pulumi.dynamic.UpdateResult> {
  const conn = await unlockedConnection(news);
  const { publicKey: onHost, landedOn } = await readPublicKey(conn, news);
  if (onHost !== olds.publicKey || landedOn.some((l) => !l.encrypted)) {
    throw new SshError(
      `[${news.node}] the tinc key at ${news.privateKeyPath} is ${offMount(landedOn) ?? (onHost ? "not the one recorded in the stack" : "missing")}; ` +
        `bump vpnKeyGeneration of ${news.node} to generate and distribute a new one`,
      news.node,
    );
  }
  return { outs: outputs(news, olds.publicKey, landedOn) };
}

/** Refresh: the public half of the key on the host; a missing key makes the resource gone. */
export async function read(id: string, props: NodeKeyOutputs): Promise<pulumi.dynamic.ReadResult> {
  const conn = await unlockedConnection(props);
  const { publicKey, landedOn } = await readPublicKey(conn, props);
  if (!publicKey) return { id: "", props: {} };
  return { id, props: outputs(props, publicKey, landedOn) };
}

export async function delete_(): Promise<void> {
  // Never contacts the node: a deleted NodeKey is a revoked or removed node (possibly in hostile
  // hands) or a replaced generation, whose file the replacement already overwrote.
}
export { delete_ as delete };

function outputs(inputs: NodeKeyInputs, publicKey: string, landedOn: LandedOn[]): NodeKeyOutputs {
  const pem = normalizePublicKey(inputs.node, publicKey);
  return { ...inputs, publicKey: pem, fingerprint: publicKeyFingerprint(inputs.node, pem), landedOn };
}

const offMount = (landed: readonly LandedOn[]) => {
  const l = firstOffMount(landed);
  return l && `off the encrypted filesystem (it ${whereItLands(l)})`;
};

const unlockedConnection = (inputs: NodeKeyInputs) => connectForKeys(inputs, [inputs.privateKeyPath], "tinc private key");

/**
 * Generate in a scratch directory beside the key (same filesystem: the rename is atomic), keep a
 * hard link to the old key so that its content can be overwritten once the new one is in place.
 * Runs behind the landing fragment (planning/key-landing.ts): it works inside the verified key
 * directory by relative names, so the key cannot be written through a symlink.
 */
const GENERATE = [
  'key=$1; name=$2; bits=$3; base=${key##*/}; pub="${base%.priv}.pub"',
  'land_target=$key; land_dir "${key%/*}"; land_own; land_file "$base"; land_file "$pub"',
  's=$(pwd -P)/$(mktemp -d ./.keygen.XXXXXX)',
  "trap 'rm -rf -- \"$s\"' EXIT",
  'mkdir "$s/hosts"',
  "printf 'Name = %s\\n' \"$name\" > \"$s/tinc.conf\"",
  'if ! tincd -c "$s" -K"$bits" </dev/null >"$s/log" 2>&1; then cat "$s/log" >&2; exit 1; fi',
  'test -s "$s/rsa_key.priv"',
  'chmod 0600 "$s/rsa_key.priv"',
  "sed -n '/^-----BEGIN RSA PUBLIC KEY-----$/,/^-----END RSA PUBLIC KEY-----$/p' \"$s/hosts/$name\" > \"$s/pub\"",
  'test -s "$s/pub"',
  'if [ -f "$base" ]; then ln -- "$base" "$s/old" 2>/dev/null || true; fi',
  'mv -fT -- "$s/pub" "$pub"',
  'mv -fT -- "$s/rsa_key.priv" "$base"',
  'land_check "$base"',
  'if [ -e "$s/old" ]; then shred -u -- "$s/old" 2>/dev/null || rm -f -- "$s/old"; fi',
  'sync -f "$base" 2>/dev/null || true',
  'land_probe "$key"; cat -- "$pub"',
].join("\n");

async function generate(conn: SshConnection, inputs: NodeKeyInputs): Promise<{ publicKey?: string; landedOn: LandedOn[] }> {
  const r = await conn.run(landedArgv(inputs.node, inputs.encryptedMount, GENERATE, [inputs.privateKeyPath, inputs.tincName, String(inputs.keyBits)]), {
    label: `generate the tinc key (${inputs.keyBits} bits) in ${inputs.privateKeyPath}`,
  });
  return { publicKey: withoutLanded(r.stdout), landedOn: parseLanded(r.stdout) };
}

/** The public half: derived from the private key when openssl is there, else the stored copy. */
const READ_PUBLIC = [
  'key=$1; pub="${key%.priv}.pub"; land_mount; land_probe "$key"; [ -e "$key" ] || exit 3',
  'if command -v openssl >/dev/null 2>&1; then openssl rsa -in "$key" -RSAPublicKey_out 2>/dev/null && exit 0; echo "unreadable private key $key" >&2; exit 4; fi',
  'cat -- "$pub"',
].join("\n");

/** The public half on the host (undefined: no key) and where the key's path really lands. */
async function readPublicKey(conn: SshConnection, inputs: NodeKeyInputs): Promise<{ publicKey?: string; landedOn: LandedOn[] }> {
  const r = await conn.run(landedArgv(inputs.node, inputs.encryptedMount, READ_PUBLIC, [inputs.privateKeyPath]), { allowFailure: true, label: `read the tinc public key of ${inputs.privateKeyPath}` });
  const landedOn = parseLanded(r.stdout);
  if (r.code === 3) return { landedOn };
  if (r.code !== 0) throw new SshError(`[${inputs.node}] cannot read the tinc key ${inputs.privateKeyPath}: ${r.stderr.trim()}`, inputs.node, r.code);
  return { publicKey: normalizePublicKey(inputs.node, withoutLanded(r.stdout)), landedOn };
}
