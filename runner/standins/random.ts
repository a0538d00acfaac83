/**
 * Stand-ins for @pulumi/random (a bridged Terraform provider shipped as a Go plugin): values are
 * really generated with node:crypto and follow terraform-provider-random's rules — character sets
 * and minimums for strings and passwords, `keepers`, every input forcing replacement, and
 * RandomPassword/RandomBytes results held as secrets. Not reproduced: RandomPassword.bcryptHash,
 * RandomPet and RandomShuffle.
 */
import * as crypto from "crypto";
import { deepEqual, makeSecret, PropertyMap } from "../props";
import { CheckFailure, CheckResult, DiffResult, ReadResult, ResourcePlugin, Target } from "../providers/plugin";

const LOWER = "abcdefghijklmnopqrstuvwxyz";
const UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const NUMERIC = "0123456789";
const SPECIAL = "!@#$%&*()-_=+[]{}<>:?";

type Kind = "RandomPassword" | "RandomString" | "RandomId" | "RandomInteger" | "RandomUuid" | "RandomBytes";

export const RANDOM_TYPES: Record<string, Kind> = {
  "random:index/randomPassword:RandomPassword": "RandomPassword",
  "random:index/randomString:RandomString": "RandomString",
  "random:index/randomId:RandomId": "RandomId",
  "random:index/randomInteger:RandomInteger": "RandomInteger",
  "random:index/randomUuid:RandomUuid": "RandomUuid",
  "random:index/randomBytes:RandomBytes": "RandomBytes",
};

function shuffle(chars: string[]): string[] {
  for (let i = chars.length - 1; i > 0; i--) {
    const j = crypto.randomInt(i + 1);
    [chars[i], chars[j]] = [chars[j], chars[i]];
  }
  return chars;
}

function pick(set: string, n: number): string[] {
  return Array.from({ length: n }, () => set[crypto.randomInt(set.length)]);
}

/** terraform-provider-random's string: the minimums first, the rest from every enabled set, shuffled. */
export function randomString(p: PropertyMap): string {
  const special = typeof p.overrideSpecial === "string" ? p.overrideSpecial : SPECIAL;
  const sets: Array<[boolean, string, number]> = [
    [p.lower !== false, LOWER, Number(p.minLower ?? 0)],
    [p.upper !== false, UPPER, Number(p.minUpper ?? 0)],
    [p.numeric !== false && p.number !== false, NUMERIC, Number(p.minNumeric ?? 0)],
    [p.special !== false, special, Number(p.minSpecial ?? 0)],
  ];
  const chars: string[] = [];
  let all = "";
  for (const [enabled, set, min] of sets) {
    if (!enabled) continue;
    chars.push(...pick(set, min));
    all += set;
  }
  chars.push(...pick(all, Number(p.length) - chars.length));
  return shuffle(chars).join("");
}

function checkString(p: PropertyMap): CheckFailure[] {
  const f: CheckFailure[] = [];
  const length = Number(p.length);
  if (!Number.isInteger(length) || length < 1) f.push({ property: "length", reason: "must be an integer of at least 1" });
  const mins = ["minLower", "minUpper", "minNumeric", "minSpecial"].reduce((s, k) => s + Number(p[k] ?? 0), 0);
  if (mins > length) f.push({ property: "length", reason: `is shorter than the sum of the minimums (${mins})` });
  if (p.lower === false && p.upper === false && p.numeric === false && p.special === false) {
    f.push({ property: "special", reason: "at least one character set must be enabled" });
  }
  return f;
}

function generate(kind: Kind, p: PropertyMap): { id: string; outputs: PropertyMap } {
  switch (kind) {
    case "RandomPassword":
      return { id: "none", outputs: { ...p, result: makeSecret(randomString(p)) } };
    case "RandomString": {
      const result = randomString(p);
      return { id: result, outputs: { ...p, result } };
    }
    case "RandomId": {
      const bytes = crypto.randomBytes(Number(p.byteLength));
      const prefix = typeof p.prefix === "string" ? p.prefix : "";
      const b64Url = bytes.toString("base64url");
      const dec = BigInt("0x" + (bytes.toString("hex") || "0")).toString();
      const outputs = { ...p, b64Url: prefix + b64Url, b64Std: prefix + bytes.toString("base64"), hex: prefix + bytes.toString("hex"), dec: prefix + dec };
      return { id: b64Url, outputs };
    }
    case "RandomInteger": {
      const result = crypto.randomInt(Number(p.min), Number(p.max) + 1);
      return { id: String(result), outputs: { ...p, result } };
    }
    case "RandomUuid": {
      const result = crypto.randomUUID();
      return { id: result, outputs: { ...p, result } };
    }
    case "RandomBytes": {
      const bytes = crypto.randomBytes(Number(p.length));
      return { id: "none", outputs: { ...p, base64: makeSecret(bytes.toString("base64")), hex: makeSecret(bytes.toString("hex")) } };
    }
  }
}

export class RandomResource implements ResourcePlugin {
  readonly acceptSecrets = false;

  constructor(private readonly kind: Kind) {}

  async check(_t: Target, _olds: PropertyMap, news: PropertyMap): Promise<CheckResult> {
    let failures: CheckFailure[] = [];
    if (this.kind === "RandomPassword" || this.kind === "RandomString") failures = checkString(news);
    if (this.kind === "RandomId" && !(Number(news.byteLength) >= 1)) failures = [{ property: "byteLength", reason: "must be at least 1" }];
    if (this.kind === "RandomBytes" && !(Number(news.length) >= 1)) failures = [{ property: "length", reason: "must be at least 1" }];
    if (this.kind === "RandomInteger" && !(Number(news.max) >= Number(news.min))) failures = [{ property: "max", reason: "must be at least min" }];
    return { inputs: news, failures };
  }

  async diff(_t: Target, _id: string, oldInputs: PropertyMap, _o: PropertyMap, news: PropertyMap): Promise<DiffResult> {
    const keys = new Set([...Object.keys(oldInputs), ...Object.keys(news)]);
    const replaces = [...keys].filter((k) => !deepEqual(oldInputs[k] ?? null, news[k] ?? null));
    return { changes: replaces.length ? "some" : "none", replaces, deleteBeforeReplace: false };
  }

  async create(_t: Target, inputs: PropertyMap): Promise<{ id: string; outputs: PropertyMap }> {
    return generate(this.kind, inputs);
  }

  async read(_t: Target, id: string, _i: PropertyMap, outputs: PropertyMap): Promise<ReadResult> {
    return { id, outputs };
  }

  async update(_t: Target, _id: string, _oi: PropertyMap, oldOutputs: PropertyMap): Promise<PropertyMap> {
    return oldOutputs; // unreachable: every input forces replacement
  }

  async delete(): Promise<void> {
    // the value only ever existed in state
  }
}
