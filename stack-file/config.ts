/**
 * The one reader of a stack's config file (`Pulumi.<stack>.yaml`), for the stack runner and every
 * admin command. Read the way the Pulumi CLI reads it and handed to the program the way the
 * language host hands it (PULUMI_CONFIG: every value a string, objects as JSON; secret keys listed
 * separately). `secure:` values use Pulumi's passphrase format (./secrets.ts), so a file written by
 * `pulumi config set --secret` works here and vice versa. Admin commands read the cluster
 * (`readClusterConfig`) without the passphrase: they need no secure value.
 */
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { ClusterConfig, ConfigError, clusterConfigFromText, NodeConfig } from "../planning/config";
import { Crypter, crypterFromSalt, newEncryptionSalt, requirePassphrase } from "./secrets";
import { StackFiles, stackFilesFor } from "./stack-files";

/** The project directory: where `Pulumi.yaml` and the checkout's stack files are. */
export const PROJECT_DIR = path.resolve(__dirname, "..");

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

/**
 * Where the stack's config file is: explicit, the project's, or the one in `stackFiles` when they
 * belong to `stack` (the lab's, for stack "lab": lab/stack-files.ts).
 */
export function findStackConfigFile(projectDir: string, stack: string, explicit?: string, stackFiles?: StackFiles): string {
  if (explicit) {
    if (!fs.existsSync(explicit)) throw new StackConfigError(`stack config ${explicit} does not exist`);
    return explicit;
  }
  const local = path.join(projectDir, `Pulumi.${stack}.yaml`);
  if (fs.existsSync(local)) return local;
  const own = stackFilesFor(stack, stackFiles);
  if (own && fs.existsSync(own.configFile)) return own.configFile;
  const looked = own ? `${local} or ${own.configFile}` : local;
  throw new StackConfigError(`no stack config for stack "${stack}": looked for ${looked}` + (own?.missingConfigHint ? ` (${own.missingConfigHint})` : ""));
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
export function loadStackConfig(opts: { projectDir: string; project: string; stack: string; configFile?: string; passphrase?: string; stackFiles?: StackFiles }): StackConfig {
  const file = findStackConfigFile(opts.projectDir, opts.stack, opts.configFile, opts.stackFiles);
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
    crypter = crypterFromSalt(requirePassphrase(opts.stack, opts.passphrase, `to decrypt secure values in ${file}`, opts.stackFiles), encryptionsalt, file);
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
  stackFiles?: StackFiles;
}): void {
  const doc = fs.existsSync(opts.file) ? parseDocument(opts.file) : new YAML.Document({});
  const key = fullKey(opts.project, opts.key);
  if (!opts.secret) {
    doc.setIn(["config", key], opts.value);
  } else {
    const passphrase = requirePassphrase(opts.stack, opts.passphrase, "to encrypt the value", opts.stackFiles);
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

/**
 * The cluster described by a stack's config file, validated (every problem in one ConfigError).
 * Secure values stay encrypted: the cluster's shape holds none, so no passphrase is asked for.
 */
export function readClusterConfig(opts: { stack: string; configFile?: string; projectDir?: string; stackFiles?: StackFiles }): ClusterConfig {
  let file: string;
  try {
    file = findStackConfigFile(opts.projectDir ?? PROJECT_DIR, opts.stack, opts.configFile, opts.stackFiles);
  } catch (e) {
    throw new ConfigError([(e as Error).message]);
  }
  let top: unknown;
  try {
    top = parseDocument(file).toJS();
  } catch (e) {
    throw new ConfigError([(e as Error).message]);
  }
  const config = top && typeof top === "object" ? (top as { config?: unknown }).config : undefined;
  if (!config || typeof config !== "object" || Array.isArray(config)) throw new ConfigError([`stack config ${file} has no "config:" map`]);
  const values = config as Record<string, unknown>;
  const present = Object.keys(values).filter((k) => k.startsWith("rplan:")).map((k) => k.slice("rplan:".length));
  return clusterConfigFromText((key) => {
    const v = values[`rplan:${key}`];
    return v === undefined ? undefined : typeof v === "string" ? v : JSON.stringify(v);
  }, present);
}

/** A node by name, or one clear error listing the known nodes. */
export function findNode(config: ClusterConfig, name: string): NodeConfig {
  const node = config.nodes.find((n) => n.name === name);
  if (!node) throw new ConfigError([`unknown node "${name}" (known: ${config.nodes.map((n) => n.name).join(", ")})`]);
  return node;
}
