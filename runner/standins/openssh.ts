/**
 * OpenSSH encodings of keys made by node:crypto, as golang.org/x/crypto/ssh writes them (which is
 * what the tls provider uses): the public key wire format (RFC 4253 / 5656 / 8709), authorized_keys
 * lines, fingerprints, and the unencrypted "openssh-key-v1" private key container (PROTOCOL.key).
 */
import * as crypto from "crypto";

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}

function sshString(data: Buffer | string): Buffer {
  const b = typeof data === "string" ? Buffer.from(data) : data;
  return Buffer.concat([u32(b.length), b]);
}

/** RFC 4251 mpint: minimal big-endian, a leading zero byte when the high bit is set. */
function mpint(unsigned: Buffer): Buffer {
  let i = 0;
  while (i < unsigned.length && unsigned[i] === 0) i++;
  let b = unsigned.subarray(i);
  if (b.length > 0 && b[0] & 0x80) b = Buffer.concat([Buffer.from([0]), b]);
  return sshString(b);
}

const b64u = (s: string | undefined): Buffer => Buffer.from(s ?? "", "base64url");

const CURVES: Record<string, { ssh: string; bytes: number }> = {
  "P-256": { ssh: "nistp256", bytes: 32 },
  "P-384": { ssh: "nistp384", bytes: 48 },
  "P-521": { ssh: "nistp521", bytes: 66 },
};

function pad(b: Buffer, len: number): Buffer {
  return b.length >= len ? b : Buffer.concat([Buffer.alloc(len - b.length), b]);
}

const NODE_CURVES: Record<string, string> = { prime256v1: "P-256", secp384r1: "P-384", secp521r1: "P-521" };

/** The SSH key type name, or undefined when OpenSSH has no encoding for the key (e.g. P-224). */
export function sshKeyType(key: crypto.KeyObject): string | undefined {
  if (key.asymmetricKeyType === "rsa") return "ssh-rsa";
  if (key.asymmetricKeyType === "ed25519") return "ssh-ed25519";
  const curve = key.asymmetricKeyType === "ec" ? NODE_CURVES[key.asymmetricKeyDetails?.namedCurve ?? ""] : undefined;
  return curve ? `ecdsa-sha2-${CURVES[curve].ssh}` : undefined;
}

function ecPoint(jwk: crypto.JsonWebKey): Buffer {
  const len = CURVES[jwk.crv!].bytes;
  return Buffer.concat([Buffer.from([4]), pad(b64u(jwk.x), len), pad(b64u(jwk.y), len)]);
}

/** The public key blob (what authorized_keys carries in base64). */
export function publicKeyBlob(publicKey: crypto.KeyObject): Buffer | undefined {
  const type = sshKeyType(publicKey);
  if (!type) return undefined;
  const jwk = publicKey.export({ format: "jwk" });
  if (type === "ssh-rsa") return Buffer.concat([sshString(type), mpint(b64u(jwk.e)), mpint(b64u(jwk.n))]);
  if (type === "ssh-ed25519") return Buffer.concat([sshString(type), sshString(b64u(jwk.x))]);
  return Buffer.concat([sshString(type), sshString(CURVES[jwk.crv!].ssh), sshString(ecPoint(jwk))]);
}

/** "type base64\n", as ssh.MarshalAuthorizedKey writes it; "" when OpenSSH cannot encode the key. */
export function authorizedKey(publicKey: crypto.KeyObject): string {
  const blob = publicKeyBlob(publicKey);
  return blob ? `${sshKeyType(publicKey)} ${blob.toString("base64")}\n` : "";
}

export function fingerprintSha256(blob: Buffer): string {
  return "SHA256:" + crypto.createHash("sha256").update(blob).digest("base64").replace(/=+$/, "");
}

export function fingerprintMd5(blob: Buffer): string {
  return crypto.createHash("md5").update(blob).digest("hex").match(/../g)!.join(":");
}

function privateFields(privateKey: crypto.KeyObject, type: string): Buffer {
  const jwk = privateKey.export({ format: "jwk" });
  if (type === "ssh-rsa") {
    return Buffer.concat([b64u(jwk.n), b64u(jwk.e), b64u(jwk.d), b64u(jwk.qi), b64u(jwk.p), b64u(jwk.q)].map(mpint));
  }
  if (type === "ssh-ed25519") {
    const pub = b64u(jwk.x);
    return Buffer.concat([sshString(pub), sshString(Buffer.concat([b64u(jwk.d), pub]))]);
  }
  return Buffer.concat([sshString(CURVES[jwk.crv!].ssh), sshString(ecPoint(jwk)), mpint(b64u(jwk.d))]);
}

/** "-----BEGIN OPENSSH PRIVATE KEY-----" (unencrypted); "" when OpenSSH cannot encode the key. */
export function opensshPrivateKey(privateKey: crypto.KeyObject, comment = ""): string {
  const publicKey = crypto.createPublicKey(privateKey);
  const type = sshKeyType(publicKey);
  const blob = publicKeyBlob(publicKey);
  if (!type || !blob) return "";
  const check = crypto.randomBytes(4);
  let section = Buffer.concat([check, check, sshString(type), privateFields(privateKey, type), sshString(comment)]);
  const padLen = (8 - (section.length % 8)) % 8;
  section = Buffer.concat([section, Buffer.from(Array.from({ length: padLen }, (_, i) => i + 1))]);
  const body = Buffer.concat([
    Buffer.from("openssh-key-v1\0"),
    sshString("none"),
    sshString("none"),
    sshString(""),
    u32(1),
    sshString(blob),
    sshString(section),
  ]);
  const lines = body.toString("base64").match(/.{1,70}/g)!;
  return `-----BEGIN OPENSSH PRIVATE KEY-----\n${lines.join("\n")}\n-----END OPENSSH PRIVATE KEY-----\n`;
}
