/**
 * Pulumi's passphrase secrets manager, byte for byte (pulumi/pulumi pkg/secrets/passphrase and
 * sdk/go/common/resource/config/crypt.go), so `secure:` values written by the real CLI decrypt
 * here and ours decrypt there:
 *   key    = PBKDF2-SHA256(passphrase, salt, 1 000 000 iterations, 32 bytes)
 *   value  = "v1:" + b64(12-byte nonce) + ":" + b64(AES-256-GCM ciphertext || 16-byte tag)
 *   state  = "v1:" + b64(8-byte salt) + ":" + value("pulumi")   (the stack's `encryptionsalt`)
 * The stack runner's state file uses the same manager, so one passphrase opens both.
 */
import * as crypto from "crypto";
import * as fs from "fs";
import { StackFiles, stackFilesFor } from "./stack-files";

const ITERATIONS = 1_000_000;
const keyCache = new Map<string, Buffer>();

export class PassphraseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PassphraseError";
  }
}

/** Encrypts and decrypts single values with one derived key. */
export class Crypter {
  constructor(private readonly key: Buffer) {}

  /** Derive the key (about half a second of CPU; cached per passphrase and salt in this process). */
  static fromPassphrase(passphrase: string, salt: Buffer): Crypter {
    const cacheKey = crypto.createHash("sha256").update(passphrase).update("\0").update(salt).digest("hex");
    let key = keyCache.get(cacheKey);
    if (!key) {
      key = crypto.pbkdf2Sync(passphrase, salt, ITERATIONS, 32, "sha256");
      keyCache.set(cacheKey, key);
    }
    return new Crypter(key);
  }

  encrypt(plaintext: string): string {
    const nonce = crypto.randomBytes(12);
    const cipher = crypto.createCipheriv("aes-256-gcm", this.key, nonce);
    const ct = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final(), cipher.getAuthTag()]);
    return `v1:${nonce.toString("base64")}:${ct.toString("base64")}`;
  }

  decrypt(value: string): string {
    const parts = value.split(":");
    if (parts.length !== 3 || parts[0] !== "v1") throw new PassphraseError(`malformed encrypted value "${value.slice(0, 20)}…"`);
    const nonce = Buffer.from(parts[1], "base64");
    const data = Buffer.from(parts[2], "base64");
    if (data.length < 16) throw new PassphraseError("malformed encrypted value (too short)");
    const decipher = crypto.createDecipheriv("aes-256-gcm", this.key, nonce);
    decipher.setAuthTag(data.subarray(data.length - 16));
    return Buffer.concat([decipher.update(data.subarray(0, data.length - 16)), decipher.final()]).toString("utf8");
  }
}

/** A new `encryptionsalt` state string and its crypter. */
export function newEncryptionSalt(passphrase: string): { salt: string; crypter: Crypter } {
  const salt = crypto.randomBytes(8);
  const crypter = Crypter.fromPassphrase(passphrase, salt);
  return { salt: `v1:${salt.toString("base64")}:${crypter.encrypt("pulumi")}`, crypter };
}

/** Open an `encryptionsalt` state string; a wrong passphrase fails here with one clear message. */
export function crypterFromSalt(passphrase: string, state: string, where: string): Crypter {
  const parts = state.split(":");
  if (parts.length < 3 || parts[0] !== "v1") throw new PassphraseError(`malformed encryption salt in ${where}`);
  const crypter = Crypter.fromPassphrase(passphrase, Buffer.from(parts[1], "base64"));
  let check: string;
  try {
    check = crypter.decrypt(parts.slice(2).join(":"));
  } catch {
    check = "";
  }
  if (check !== "pulumi") {
    throw new PassphraseError(`incorrect passphrase for ${where} (set PULUMI_CONFIG_PASSPHRASE to the stack's passphrase)`);
  }
  return crypter;
}

/**
 * Where the stack runner looks for the passphrase, in order: `explicit`, PULUMI_CONFIG_PASSPHRASE,
 * PULUMI_CONFIG_PASSPHRASE_FILE, and the passphrase file of `stackFiles` when they belong to `stack`
 * (the lab generates one for its stack; real stacks never have one).
 */
export function findPassphrase(stack: string, explicit?: string, stackFiles?: StackFiles): string | undefined {
  if (explicit !== undefined) return explicit;
  if (process.env.PULUMI_CONFIG_PASSPHRASE !== undefined) return process.env.PULUMI_CONFIG_PASSPHRASE;
  const file = process.env.PULUMI_CONFIG_PASSPHRASE_FILE || stackFilesFor(stack, stackFiles)?.passphraseFile;
  if (file && fs.existsSync(file)) return fs.readFileSync(file, "utf8").trim();
  return undefined;
}

export function requirePassphrase(stack: string, explicit: string | undefined, why: string, stackFiles?: StackFiles): string {
  const p = findPassphrase(stack, explicit, stackFiles);
  if (p === undefined || p === "") {
    const own = stackFilesFor(stack, stackFiles);
    throw new PassphraseError(
      `no passphrase for stack "${stack}" (${why}): set PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE` + (own ? ` or create ${own.passphraseFile}` : ""),
    );
  }
  return p;
}
