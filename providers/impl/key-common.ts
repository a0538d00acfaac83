/**
 * What the three key providers (NodeKey, ServiceTlsKey, DkimKey) share: the answer of `check`, a
 * `diff` over business inputs that also replaces a key found off the encrypted filesystem, the rule
 * that a key's generation only goes up, the shape of a key path, and how a key's landing is named.
 * Pure, no I/O. Not a provider itself (it exports none of the six methods): each key provider
 * requires it relatively, so it is compiled into `@rplan/hostops` beside them and resolves there.
 */
import type * as pulumi from "@pulumi/pulumi";
import * as crypto from "crypto";
import { EncryptedMount, isInsideMount, normalizePosix } from "../../planning/encrypted-mount";
import type { LandedOn } from "../../planning/key-landing";
import { known } from "./common";
import { diffKeys, replaceOffMount } from "./diff";

/** `check`'s answer: the inputs as given, and the failures when there are any. */
export function checkResult(news: unknown, failures: pulumi.dynamic.CheckFailure[]): pulumi.dynamic.CheckResult {
  return failures.length > 0 ? { inputs: news, failures } : { inputs: news };
}

/**
 * `diff` of a key: only `business` inputs count, those in `replace` replace it, and so does a key
 * that refresh found off the encrypted filesystem (its `landedOn`).
 */
export function diffKey(
  olds: object & { readonly landedOn?: readonly { readonly encrypted: boolean }[] },
  news: object,
  business: readonly string[],
  replace: readonly string[],
): pulumi.dynamic.DiffResult {
  return replaceOffMount(diffKeys(olds as Record<string, unknown>, news as Record<string, unknown>, business, replace), olds);
}

/**
 * What is wrong with a key's `generation`, if anything (unknown: nothing yet). It is a positive
 * integer, and for the same key — the same values of `sameKey` in olds and news — it never goes
 * down: a rotated key is never restored. `setting` is the config key an admin bumps
 * (`vpnKeyGeneration`); `which`, when given, names the key in the message (a node's service).
 */
export function generationProblem(
  olds: object | undefined,
  news: { readonly node: string; readonly generation: number },
  setting: string,
  sameKey: readonly string[] = ["node"],
  which?: string,
): string | undefined {
  if (!known(news.generation)) return undefined;
  if (!Number.isSafeInteger(news.generation) || news.generation < 1) return `generation must be a positive integer (got ${JSON.stringify(news.generation)})`;
  const before = olds as Readonly<Record<string, unknown>> | undefined;
  const now = news as unknown as Readonly<Record<string, unknown>>;
  if (before && typeof before.generation === "number" && sameKey.every((k) => before[k] === now[k]) && news.generation < before.generation) {
    return (
      `${setting} of ${news.node} went down from ${before.generation} to ${news.generation}${which === undefined ? "" : ` (${which})`}: generations only go up ` +
      `(a rotated key is never restored); to rotate again set it to ${before.generation + 1}`
    );
  }
  return undefined;
}

/** A key path as a key provider takes it: absolute, normalized, of letters, digits and `._/-` only. */
export const isKeyPath = (p: unknown): p is string => typeof p === "string" && normalizePosix(p) === p && /^\/[A-Za-z0-9._/-]+$/.test(p);

/** Inside the encrypted mount and not its root: where a key, or a key directory, may be. */
export const isBelowMount = (mount: EncryptedMount, p: string): boolean => isInsideMount(mount, p) && p !== mount.path;

/** The first path that refresh or a write found off the encrypted filesystem. */
export const firstOffMount = (landed: readonly LandedOn[]): LandedOn | undefined => landed.find((l) => !l.encrypted);

/** Where such a path really is, for an error: `resolves to /tmp/k on tmpfs`. */
export const whereItLands = (l: LandedOn): string => `resolves to ${l.resolved} on ${l.fsType || "?"}`;

/** A new key resource's ID: `<node>[:<what>]:gen<generation>:<random>`, new for every key generated. */
export function newKeyId(node: string, generation: number, what?: string): string {
  return [node, ...(what === undefined ? [] : [what]), `gen${generation}`, crypto.randomBytes(4).toString("hex")].join(":");
}
