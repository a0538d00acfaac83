/**
 * Recognizing private key material inside property values: PEM private keys (PKCS#1 "RSA" — the
 * format tinc uses — PKCS#8, encrypted PKCS#8, EC, DSA), OpenSSH private keys, PGP private key
 * blocks, and any of these base64-wrapped once (a common way to smuggle a PEM through a field that
 * dislikes newlines). Values that are not known yet, and content the rules cannot read (a local
 * file that is missing, a remote URI), are reported separately so a rule can decide: unknown →
 * tolerated in preview; opaque → treated as possibly key material (fail closed).
 */
import { ARCHIVE_SIG, ASSET_SIG, isArchive, isAsset, isObject, isUnknown, SIG_KEY } from "./values";

const PEM_PRIVATE = /-----BEGIN ((RSA|EC|DSA|ENCRYPTED|OPENSSH) )?PRIVATE KEY-----|-----BEGIN PGP PRIVATE KEY BLOCK-----/;
const BASE64_RUN = /[A-Za-z0-9+/]{80,}={0,2}/g;

export interface KeyHit {
  /** Property path relative to the scanned value. */
  readonly path: string[];
  /** What was found, for messages, with its article ("a PEM RSA private key"). */
  readonly kind: string;
}

export interface KeyScan {
  readonly hits: KeyHit[];
  /** Paths of values not known yet (preview only). */
  readonly unknown: string[][];
  /** Content the scan could not read: it may hold a key, so rules treat it as if it did. */
  readonly opaque: { readonly path: string[]; readonly what: string }[];
}

export interface ScanContext {
  /**
   * Contents of a local file (or every file under a local directory) named by a FileAsset or
   * FileArchive; undefined when it cannot be read. Without it, local assets are opaque.
   */
  readonly readLocal?: (path: string) => string[] | undefined;
  /**
   * Lines of the bodies of private keys known to the stack (a @pulumi/tls key's outputs): a value
   * containing one holds that key, whatever was done to its PEM armour.
   */
  readonly knownSecrets?: readonly string[];
}

/** The kind of private key a text holds ("a PEM RSA private key"), or undefined. */
export function privateKeyKind(text: string): string | undefined {
  const m = PEM_PRIVATE.exec(text);
  if (m) return article(describe(m[0]));
  if (text.length >= 80) {
    for (const run of text.match(BASE64_RUN) ?? []) {
      const decoded = Buffer.from(run, "base64").toString("latin1");
      const inner = PEM_PRIVATE.exec(decoded);
      if (inner) return `a base64-wrapped ${describe(inner[0])}`;
    }
  }
  return undefined;
}

function article(noun: string): string {
  return /^[aeiou]/i.test(noun) ? `an ${noun}` : `a ${noun}`;
}

function describe(header: string): string {
  if (header.includes("OPENSSH")) return "OpenSSH private key";
  if (header.includes("PGP")) return "PGP private key";
  if (header.includes("RSA")) return "PEM RSA private key";
  if (header.includes("ENCRYPTED")) return "encrypted PEM private key";
  if (header.includes("EC ")) return "PEM EC private key";
  if (header.includes("DSA")) return "PEM DSA private key";
  return "PEM private key";
}

/** Look for private key material anywhere inside `value`. */
export function scanKeyMaterial(value: unknown, ctx: ScanContext = {}, path: string[] = []): KeyScan {
  const out: { hits: KeyHit[]; unknown: string[][]; opaque: { path: string[]; what: string }[] } = { hits: [], unknown: [], opaque: [] };
  walk(value, path, ctx, out);
  return out;
}

function walk(v: unknown, path: string[], ctx: ScanContext, out: { hits: KeyHit[]; unknown: string[][]; opaque: { path: string[]; what: string }[] }): void {
  if (isUnknown(v)) {
    out.unknown.push(path);
    return;
  }
  if (typeof v === "string") {
    const kind = privateKeyKind(v) ?? (ctx.knownSecrets?.some((k) => v.includes(k)) ? "part of a @pulumi/tls private key" : undefined);
    if (kind) out.hits.push({ path, kind });
    return;
  }
  if (Array.isArray(v)) {
    v.forEach((x, i) => walk(x, [...path, String(i)], ctx, out));
    return;
  }
  if (!isObject(v)) return;
  if (isAsset(v) || isArchive(v)) {
    scanAsset(v, path, ctx, out);
    return;
  }
  for (const [k, x] of Object.entries(v)) walk(x, [...path, k], ctx, out);
}

function scanAsset(v: Record<string, unknown>, path: string[], ctx: ScanContext, out: { hits: KeyHit[]; unknown: string[][]; opaque: { path: string[]; what: string }[] }): void {
  const kind = v[SIG_KEY] === ASSET_SIG ? "asset" : v[SIG_KEY] === ARCHIVE_SIG ? "archive" : "asset";
  if (v.text !== undefined) return walk(v.text, [...path, "text"], ctx, out);
  if (v.assets !== undefined) {
    if (isUnknown(v.assets)) out.unknown.push([...path, "assets"]);
    else if (isObject(v.assets)) for (const [k, x] of Object.entries(v.assets)) walk(x, [...path, "assets", k], ctx, out);
    return;
  }
  if (v.path !== undefined) {
    if (isUnknown(v.path)) return void out.unknown.push([...path, "path"]);
    const files = typeof v.path === "string" && ctx.readLocal ? ctx.readLocal(v.path) : undefined;
    if (files === undefined) out.opaque.push({ path, what: `local file ${kind} ${JSON.stringify(v.path)} (cannot be read by the policy)` });
    else for (const text of files) walk(text, [...path, "path"], ctx, out);
    return;
  }
  if (v.uri !== undefined) {
    if (isUnknown(v.uri)) return void out.unknown.push([...path, "uri"]);
    out.opaque.push({ path, what: `remote ${kind} ${JSON.stringify(v.uri)} (the policy does not fetch it)` });
    return;
  }
  out.opaque.push({ path, what: `${kind} of unrecognized form` });
}
