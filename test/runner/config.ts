/**
 * Stack config: `Pulumi.<stack>.yaml` read the way the Pulumi CLI reads it and handed to the
 * program the way the language host hands it (PULUMI_CONFIG: every value a string, objects as
 * JSON; secret keys listed separately). `secure:` values use Pulumi's passphrase format
 * (./secrets.ts), so a file written by `pulumi config set --secret` works here and vice versa.
 */
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { Crypter, crypterFromSalt, newEncryptionSalt, requirePassphrase } from "./secrets";

/** The lab's generated stack config lives with the lab, not in the checkout. */
export const LAB_CONFIG_FILE = "/var/lib/rplan-lab/Pulumi.lab.yaml";

export class StackConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "StackConfigError";
  }
}

export interface StackConfig {
  readonly file: string;
  /** "rplan:nodes" → the string the program's pulumi.Config sees (objects as JSON), plaintext. */
  readonly values: Readonly<Record<string, string>>;
  /** Keys holding a `secure:` value anywhere inside. */
  readonly secretKeys: readonly string[];
  /** Parsed plaintext values, for the runner's own use (e.g. pinned host keys). */
  readonly parsed: Readonly<Record<string, unknown>>;
  readonly encryptionSalt?: string;
}

/** Where the stack's config file is: explicit, the project's, or (stack "lab") the lab's. */
export function findStackConfigFile(projectDir: string, stack: string, explicit?: string): string {
  if (explicit) {
    if (!fs.existsSync(explicit)) throw new StackConfigError(`stack config ${explicit} does not exist`);
    return explicit;
  }
  const local = path.join(projectDir, `Pulumi.${stack}.yaml`);
  if (fs.existsSync(local)) return local;
  if (stack === "lab" && fs.existsSync(LAB_CONFIG_FILE)) return LAB_CONFIG_FILE;
  const looked = stack === "lab" ? `${local} or ${LAB_CONFIG_FILE}` : local;
  throw new StackConfigError(
    `no stack config for stack "${stack}": looked for ${looked}` + (stack === "lab" ? " (run `npm run lab -- up` to create the lab)" : ""),
  );
}

/** Namespaced key as the CLI stores it: "nodes" in project "rplan" is "rplan:nodes". */
export function fullKey(project: string, key: string): string {
  return key.includes(":") ? key : `${project}:${key}`;
}

function parseDocument(file: string): YAML.Document {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    throw new StackConfigError(`cannot read stack config ${file}: ${(e as Error).message}`);
  }
  const doc = YAML.parseDocument(text);
  if (doc.errors.length > 0) {
    throw new StackConfigError(`malformed stack config ${file}: ${doc.errors[0].message.split("\n")[0]}`);
  }
  return doc;
}

function isSecure(v: unknown): v is { secure: string } {
  return typeof v === "object" && v !== null && !Array.isArray(v) && Object.keys(v).length === 1 && typeof (v as { secure?: unknown }).secure === "string";
}

function containsSecure(v: unknown): boolean {
  if (isSecure(v)) return true;
  if (Array.isArray(v)) return v.some(containsSecure);
  if (typeof v === "object" && v !== null) return Object.values(v).some(containsSecure);
  return false;
}

function decryptAll(v: unknown, decrypt: (ct: string) => string): unknown {
  if (isSecure(v)) return decrypt(v.secure);
  if (Array.isArray(v)) return v.map((x) => decryptAll(x, decrypt));
  if (typeof v === "object" && v !== null) {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, decryptAll(x, decrypt)]));
  }
  return v;
}

/** Load and decrypt a stack's config; every problem is one StackConfigError naming the file. */
export function loadStackConfig(opts: { projectDir: string; project: string; stack: string; configFile?: string; passphrase?: string }): StackConfig {
  const file = findStackConfigFile(opts.projectDir, opts.stack, opts.configFile);
  const top = parseDocument(file).toJS() as unknown;
  if (top === null || top === undefined) return { file, values: {}, secretKeys: [], parsed: {} };
  if (typeof top !== "object" || Array.isArray(top)) throw new StackConfigError(`malformed stack config ${file}: expected a mapping at the top level`);
  const { config, encryptionsalt } = top as { config?: unknown; encryptionsalt?: unknown };
  if (config !== undefined && config !== null && (typeof config !== "object" || Array.isArray(config))) {
    throw new StackConfigError(`malformed stack config ${file}: "config" must be a mapping of keys to values`);
  }
  const entries = Object.entries((config ?? {}) as Record<string, unknown>);
  const needsKey = entries.some(([, v]) => containsSecure(v));
  let crypter: Crypter | undefined;
  if (needsKey) {
    if (typeof encryptionsalt !== "string") throw new StackConfigError(`stack config ${file} has secure values but no encryptionsalt`);
    crypter = crypterFromSalt(requirePassphrase(opts.stack, opts.passphrase, `to decrypt secure values in ${file}`), encryptionsalt, file);
  }
  const values: Record<string, string> = {};
  const parsed: Record<string, unknown> = {};
  const secretKeys: string[] = [];
  for (const [rawKey, raw] of entries) {
    const key = fullKey(opts.project, rawKey);
    const plain = decryptAll(raw, (ct) => {
      try {
        return crypter!.decrypt(ct);
      } catch {
        throw new StackConfigError(`cannot decrypt ${key} in ${file}: the value is corrupt or was encrypted with another passphrase`);
      }
    });
    if (containsSecure(raw)) secretKeys.push(key);
    parsed[key] = plain;
    values[key] = typeof plain === "string" ? plain : JSON.stringify(plain);
  }
  return { file, values, secretKeys, parsed, encryptionSalt: typeof encryptionsalt === "string" ? encryptionsalt : undefined };
}

/** `config set [--secret] <key> <value>`: edit the file in place, keeping its comments. */
export function setStackConfigValue(opts: {
  file: string;
  project: string;
  stack: string;
  key: string;
  value: string;
  secret: boolean;
  passphrase?: string;
}): void {
  const doc = fs.existsSync(opts.file) ? parseDocument(opts.file) : new YAML.Document({});
  const key = fullKey(opts.project, opts.key);
  if (!opts.secret) {
    doc.setIn(["config", key], opts.value);
  } else {
    const passphrase = requirePassphrase(opts.stack, opts.passphrase, "to encrypt the value");
    const existing = doc.get("encryptionsalt");
    let crypter: Crypter;
    if (typeof existing === "string") {
      crypter = crypterFromSalt(passphrase, existing, opts.file);
    } else {
      const made = newEncryptionSalt(passphrase);
      doc.set("encryptionsalt", made.salt);
      crypter = made.crypter;
    }
    doc.setIn(["config", key], { secure: crypter.encrypt(opts.value) });
  }
  fs.writeFileSync(opts.file, String(doc));
}
