/**
 * syncrepl strings and change sequence numbers (CSNs). Pure.
 *
 * A consumer's olcSyncrepl is refreshAndPersist over the VPN to the master, binding as the node's own
 * identity with simple auth (the VPN encrypts the link). The credential is NOT part of the plan: the
 * provider reads it on the node from the node's encrypted mount and fills it in there.
 */
import type { SyncreplSpec } from "./types";

/** Characters a credential may contain: it is written inside a double-quoted syncrepl value. */
export const CREDENTIAL = /^[A-Za-z0-9._~+/=-]{16,256}$/;

/** The olcSyncrepl value of a consumer (without `{n}`); `credential` is only known on the node. */
export function renderSyncrepl(spec: SyncreplSpec, credential: string): string {
  if (!CREDENTIAL.test(credential)) throw new Error("the replication credential must be 16-256 characters of [A-Za-z0-9._~+/=-]");
  const parts = [
    `rid=${String(spec.rid).padStart(3, "0")}`,
    `provider=${spec.provider}`,
    "bindmethod=simple",
    `binddn="${spec.binddn}"`,
    `credentials="${credential}"`,
    `searchbase="${spec.searchbase}"`,
    "type=refreshAndPersist",
    `retry="${spec.retry}"`,
    `network-timeout=${spec.networkTimeout}`,
    // No `timeout=`: slapd waits that long for a running refreshAndPersist to notice it was deleted or
    // replaced, which would stretch every promotion and repoint of a master switch by as much
    // (measured: 5 s with timeout=5, ~40 ms without). Dead links are caught by keepalive instead.
    "keepalive=240:3:10",
    "schemachecking=off",
  ];
  if (spec.attrs) parts.push(`attrs="${spec.attrs.join(",")}"`);
  return parts.join(" ");
}

/** Parse `key=value` / `key="quoted value"` pairs of an olcSyncrepl value (ordering prefix ignored). */
export function parseSyncrepl(value: string): Record<string, string> {
  const out: Record<string, string> = {};
  const re = /([A-Za-z-]+)=(?:"((?:[^"\\]|\\.)*)"|(\S+))/g;
  for (const m of value.replace(/^\{\d+\}/, "").matchAll(re)) out[m[1].toLowerCase()] = m[2] ?? m[3];
  return out;
}

/** The value with its credential replaced by `***` (for outputs, logs and error messages). */
export function redactSyncrepl(value: string): string {
  return value.replace(/credentials=("(?:[^"\\]|\\.)*"|\S+)/gi, 'credentials="***"');
}

/** Normalized form for comparison: parsed pairs, sorted, credential included. */
export function syncreplKey(value: string): string {
  const p = parseSyncrepl(value);
  return Object.keys(p)
    .sort()
    .map((k) => `${k}=${k === "binddn" || k === "searchbase" ? p[k].toLowerCase().replace(/,\s+/g, ",") : p[k]}`)
    .join(" ");
}

/** A CSN: `YYYYmmddHHMMSS.uuuuuuZ#count#sid#mod`. */
export interface Csn {
  readonly text: string;
  readonly time: string;
  readonly count: string;
  readonly sid: number;
}

const CSN = /^(\d{14}\.\d{6}Z)#([0-9a-f]{6})#([0-9a-f]{3})#([0-9a-f]{6})$/i;

export function parseCsn(text: string): Csn {
  const m = CSN.exec(text.trim());
  if (!m) throw new Error(`not a CSN: ${JSON.stringify(text)}`);
  return { text: text.trim(), time: m[1], count: m[2].toLowerCase(), sid: parseInt(m[3], 16) };
}

/** Server ID → CSN text of a contextCSN attribute (one value per server ID that ever wrote). */
export function csnBySid(values: readonly string[]): Map<number, string> {
  const out = new Map<number, string>();
  for (const v of values) {
    const c = parseCsn(v);
    const prev = out.get(c.sid);
    if (prev === undefined || compareCsn(c.text, prev) > 0) out.set(c.sid, c.text);
  }
  return out;
}

/** Compare two CSNs by time then count (their fixed-width text orders them). */
export function compareCsn(a: string, b: string): number {
  const x = parseCsn(a);
  const y = parseCsn(b);
  const ka = `${x.time}#${x.count}`;
  const kb = `${y.time}#${y.count}`;
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

/**
 * Is `replica` caught up with `master`? For every server ID in the master's contextCSN the replica
 * holds a CSN at least as new. Returns the server IDs still behind (empty: caught up).
 */
export function behindSids(master: readonly string[], replica: readonly string[]): number[] {
  const r = csnBySid(replica);
  const behind: number[] = [];
  for (const [sid, csn] of csnBySid(master)) {
    const have = r.get(sid);
    if (have === undefined || compareCsn(have, csn) < 0) behind.push(sid);
  }
  return behind.sort((a, b) => a - b);
}
