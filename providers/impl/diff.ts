/** Shared diff logic: compare only the business inputs a provider names (never __provider). */
import type * as pulumi from "@pulumi/pulumi";

/** Stable JSON: object keys sorted so that key order never counts as a change. */
export function stableJson(v: unknown): string {
  if (Array.isArray(v)) return "[" + v.map(stableJson).join(",") + "]";
  if (v && typeof v === "object") {
    return "{" + Object.keys(v).sort().map((k) => JSON.stringify(k) + ":" + stableJson((v as Record<string, unknown>)[k])).join(",") + "}";
  }
  return JSON.stringify(v ?? null);
}

/** Which of `keys` differ between olds and news; those in `replaceKeys` force a replacement. */
export function diffKeys(
  olds: Record<string, unknown>,
  news: Record<string, unknown>,
  keys: readonly string[],
  replaceKeys: readonly string[] = [],
): pulumi.dynamic.DiffResult {
  const changed = keys.filter((k) => stableJson(olds[k]) !== stableJson(news[k]));
  const replaces = changed.filter((k) => replaceKeys.includes(k));
  return { changes: changed.length > 0, replaces, deleteBeforeReplace: false };
}

/**
 * A key that refresh found off the encrypted filesystem (its `landedOn`) is presumed exposed: the
 * resource is replaced, so a fresh key is generated where it belongs (the write refuses while the
 * path still leads elsewhere).
 */
export function replaceOffMount(d: pulumi.dynamic.DiffResult, olds: { readonly landedOn?: readonly { readonly encrypted: boolean }[] }): pulumi.dynamic.DiffResult {
  if (!Array.isArray(olds.landedOn) || !olds.landedOn.some((l) => l.encrypted === false)) return d;
  return { ...d, changes: true, replaces: [...(d.replaces ?? []), "landedOn"] };
}

/**
 * A check that a refresh found failing (its `drift`) runs again at the next `up`, even though its
 * inputs did not change: that `up` repairs what drifted and must prove it.
 */
export function withDrift(drift: readonly string[] | undefined, d: pulumi.dynamic.DiffResult): pulumi.dynamic.DiffResult {
  return Array.isArray(drift) && drift.length > 0 ? { ...d, changes: true } : d;
}
