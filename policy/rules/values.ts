/**
 * Property values as the rules see them: plain JSON in which
 * - a value not known yet (preview only) is the string UNKNOWN (any of Pulumi's unknown sentinels
 *   is mapped to it by `plain`);
 * - secrets are unwrapped (validators see secrets in plaintext; wire-format secret wrappers are
 *   removed too, so the stack runner can pass engine values unchanged);
 * - assets and archives keep Pulumi's wire form `{[SIG_KEY]: ASSET_SIG, text | path | uri}` /
 *   `{[SIG_KEY]: ARCHIVE_SIG, assets | path | uri}`.
 * The constants are Pulumi's wire constants (@pulumi/pulumi/runtime/rpc, @pulumi/policy/proxy),
 * repeated so the rules load without the Pulumi runtime.
 */

export const SIG_KEY = "4dabf18193072939515e22adb298388d";
export const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";
export const ASSET_SIG = "c44067f5952c0a294b673a41bacd8c17";
export const ARCHIVE_SIG = "0def7320c3a5731c473e5ecbe6d01bc7";

/** The engine's unknown (also @pulumi/policy's unknown *string* sentinel). */
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

/** @pulumi/policy's per-type unknown sentinels (boolean, number, string, array, asset, archive, object). */
const UNKNOWN_SENTINELS = new Set([
  "1c4a061d-8072-4f0a-a4cb-0ff528b18fe7",
  "3eeb2bf0-c639-47a8-9e75-3b44932eb421",
  UNKNOWN,
  "6a19a0b0-7e62-4c92-b797-7f8e31da9cc2",
  "030794c1-ac77-496b-92df-f27374a8bd58",
  "e48ece36-62e2-4504-bad9-02848725956a",
  "dd056dcd-154b-4c76-9bd3-c8f88648b5ff",
]);

export type Plain = null | boolean | number | string | Plain[] | { [key: string]: Plain };

export function isUnknown(v: unknown): boolean {
  return typeof v === "string" && UNKNOWN_SENTINELS.has(v);
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export function isAsset(v: unknown): v is Record<string, unknown> {
  return isObject(v) && v[SIG_KEY] === ASSET_SIG;
}

export function isArchive(v: unknown): v is Record<string, unknown> {
  return isObject(v) && v[SIG_KEY] === ARCHIVE_SIG;
}

/**
 * Deep-normalize a property value: secret wrappers removed, unknown sentinels mapped to UNKNOWN,
 * `undefined` dropped from objects. Assets/archives already in wire form are kept.
 */
export function plain(v: unknown): Plain {
  if (v === undefined || v === null) return null;
  if (typeof v === "string") return isUnknown(v) ? UNKNOWN : v;
  if (typeof v === "boolean" || typeof v === "number") return v;
  if (Array.isArray(v)) return v.map(plain);
  if (isObject(v)) {
    if (v[SIG_KEY] === SECRET_SIG) return plain(v.value);
    const out: Record<string, Plain> = {};
    for (const [k, x] of Object.entries(v)) if (x !== undefined) out[k] = plain(x);
    return out;
  }
  return String(v);
}

/** Read `path` (property names / indexes) from a value; undefined when absent. */
export function at(v: unknown, path: readonly (string | number)[]): unknown {
  let cur: unknown = v;
  for (const p of path) {
    if (isUnknown(cur)) return UNKNOWN;
    if (Array.isArray(cur) && typeof p === "number") cur = cur[p];
    else if (isObject(cur)) cur = cur[String(p)];
    else return undefined;
  }
  return cur;
}

/** Every unknown inside a value, as property paths relative to it. */
export function unknownPaths(v: unknown, path: string[] = []): string[][] {
  if (isUnknown(v)) return [path];
  if (Array.isArray(v)) return v.flatMap((x, i) => unknownPaths(x, [...path, String(i)]));
  if (isObject(v)) return Object.entries(v).flatMap(([k, x]) => unknownPaths(x, [...path, k]));
  return [];
}

export function showPath(path: readonly (string | number)[]): string {
  return path.map((p, i) => (typeof p === "number" || /^\d+$/.test(String(p)) ? `[${p}]` : i === 0 ? String(p) : `.${p}`)).join("");
}
