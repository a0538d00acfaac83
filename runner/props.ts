/**
 * Property values as they travel between the program, the engine and providers: plain JSON in
 * which a secret is `{ [SIG_KEY]: SECRET_SIG, value }` and an unknown (preview only) is the string
 * UNKNOWN. These are Pulumi's wire constants (@pulumi/pulumi/runtime/rpc); they are repeated here
 * so this module loads without the Pulumi runtime (the worker must set config before it loads).
 */
export const SIG_KEY = "4dabf18193072939515e22adb298388d";
export const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";
export const ASSET_SIG = "c44067f5952c0a294b673a41bacd8c17";
export const ARCHIVE_SIG = "0def7320c3a5731c473e5ecbe6d01bc7";
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

export type PropertyValue = null | boolean | number | string | PropertyValue[] | { [key: string]: PropertyValue };
export type PropertyMap = Record<string, PropertyValue>;

function isObject(v: unknown): v is { [key: string]: PropertyValue } {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export function isSecret(v: unknown): v is { [key: string]: PropertyValue } {
  return isObject(v) && v[SIG_KEY] === SECRET_SIG;
}

export function makeSecret(v: PropertyValue): PropertyValue {
  return isSecret(v) ? v : { [SIG_KEY]: SECRET_SIG, value: v };
}

export function isUnknown(v: unknown): boolean {
  return v === UNKNOWN;
}

/** The value with every secret wrapper removed (what a provider that does not accept secrets sees). */
export function stripSecrets(v: PropertyValue): PropertyValue {
  if (isSecret(v)) return stripSecrets(v.value ?? null);
  if (Array.isArray(v)) return v.map(stripSecrets);
  if (isObject(v)) return mapValues(v, stripSecrets);
  return v;
}

export function stripSecretsMap(m: PropertyMap): PropertyMap {
  return mapValues(m, stripSecrets);
}

export function containsSecrets(v: PropertyValue): boolean {
  if (isSecret(v)) return true;
  if (Array.isArray(v)) return v.some(containsSecrets);
  if (isObject(v)) return Object.values(v).some(containsSecrets);
  return false;
}

export function containsUnknowns(v: PropertyValue): boolean {
  if (v === UNKNOWN) return true;
  if (Array.isArray(v)) return v.some(containsUnknowns);
  if (isObject(v)) return Object.values(v).some(containsUnknowns);
  return false;
}

/**
 * The engine's annotateSecrets (sdk/go/common/resource/plugin/provider_plugin.go): a provider that
 * does not accept secrets gets them stripped, so any output whose input of the same name held a
 * secret is marked secret again; objects are matched key by key so one secret does not taint all.
 */
export function annotateSecrets(outs: PropertyMap, ins: PropertyMap): PropertyMap {
  const result: PropertyMap = { ...outs };
  for (const [key, inValue] of Object.entries(ins)) {
    if (!(key in result)) continue;
    const outValue = result[key];
    if (isObject(outValue) && !isSecret(outValue) && isObject(inValue) && !isSecret(inValue)) {
      result[key] = annotateSecrets(outValue, inValue);
    } else if (!isSecret(outValue) && containsSecrets(inValue)) {
      result[key] = makeSecret(outValue);
    }
  }
  return result;
}

/** `additionalSecretOutputs`: the engine marks these top-level outputs secret after each step. */
export function markSecretKeys(outs: PropertyMap, keys: readonly string[]): PropertyMap {
  const result: PropertyMap = { ...outs };
  for (const key of keys) if (key in result && result[key] !== null) result[key] = makeSecret(result[key]);
  return result;
}

export function deepEqual(a: PropertyValue | undefined, b: PropertyValue | undefined): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  if (isObject(a) && isObject(b)) {
    const ka = Object.keys(a).filter((k) => a[k] !== undefined);
    const kb = Object.keys(b).filter((k) => b[k] !== undefined);
    return ka.length === kb.length && ka.every((k) => deepEqual(a[k], b[k]));
  }
  return false;
}

/** What callers and logs may see: secrets become "[secret]", unknowns "[unknown]". */
export function mask(v: PropertyValue): PropertyValue {
  if (isSecret(v)) return "[secret]";
  if (v === UNKNOWN) return "[unknown]";
  if (Array.isArray(v)) return v.map(mask);
  if (isObject(v)) return mapValues(v, mask);
  return v;
}

export function maskMap(m: PropertyMap): PropertyMap {
  return mapValues(m, mask);
}

/** Drop `undefined` members: google-protobuf's Struct.fromJavaScript rejects them. */
export function toJson(v: unknown): PropertyValue {
  if (v === undefined || v === null) return null;
  if (Array.isArray(v)) return v.map(toJson);
  if (typeof v === "object") {
    const out: PropertyMap = {};
    for (const [k, x] of Object.entries(v as object)) if (x !== undefined) out[k] = toJson(x);
    return out;
  }
  return v as PropertyValue;
}

export function toJsonMap(v: unknown): PropertyMap {
  const j = toJson(v);
  return isObject(j) ? j : {};
}

export function mapValues(m: { [key: string]: PropertyValue }, f: (v: PropertyValue) => PropertyValue): PropertyMap {
  const out: PropertyMap = {};
  for (const [k, v] of Object.entries(m)) out[k] = f(v);
  return out;
}

export { isObject as isPropertyObject };
