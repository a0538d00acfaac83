/**
 * The replicator's status lines (planning/quantum/standby-sync.sh writes one per user on its home:
 * `uid standby ok|failing last-ok-ms pending-since-ms last-lag-ms message`), read and judged. Pure:
 * the lines come in, rows for `npm run placement -- standby` go out.
 */
import { USER_ID } from "../names";

export interface StandbyStatus {
  readonly user: string;
  /** The node whose replicator wrote the line (the user's home when it wrote it). */
  readonly home: string;
  readonly standby: string;
  readonly state: "ok" | "failing";
  /** ms since the epoch of the last clean round (undefined: none yet). */
  readonly lastOk?: number;
  /** ms since the epoch of the oldest change not on the standby yet (undefined: none waiting). */
  readonly pendingSince?: number;
  /** ms from the change to the end of the round that carried it, for the last clean round. */
  readonly lastLagMs?: number;
  readonly message: string;
}

const ms = (v: string | undefined) => (v !== undefined && /^\d+$/.test(v) ? Number(v) : undefined);

/** One node's status files (`cat` of them, one line each); malformed lines are skipped. */
export function parseStandbyStatus(home: string, text: string): StandbyStatus[] {
  const out: StandbyStatus[] = [];
  for (const line of text.split("\n")) {
    const f = line.split("\t");
    if (f.length < 7 || !USER_ID.test(f[0]) || (f[2] !== "ok" && f[2] !== "failing")) continue;
    out.push({ user: f[0], home, standby: f[1], state: f[2], lastOk: ms(f[3]), pendingSince: ms(f[4]), lastLagMs: ms(f[5]), message: f.slice(6).join("\t").trim() });
  }
  return out;
}

/** How far behind the standby is now: 0 when nothing waits, else the age of the oldest waiting change. */
export function currentLagMs(s: StandbyStatus, now: number): number {
  return s.pendingSince === undefined ? 0 : Math.max(0, now - s.pendingSince);
}

/**
 * The rows the command prints, one per user the directory homes on the node that wrote the line
 * (a line left on an old home by a moved user is not the user's status), sorted by uid.
 */
export function standbyRows(statuses: readonly StandbyStatus[], homes: Readonly<Record<string, string>>, now: number): string[][] {
  return statuses
    .filter((s) => homes[s.user] === s.home)
    .sort((a, b) => (a.user < b.user ? -1 : a.user > b.user ? 1 : 0))
    .map((s) => [s.user, s.home, s.standby, s.state, `${(currentLagMs(s, now) / 1000).toFixed(1)} s`, s.lastLagMs === undefined ? "-" : `${s.lastLagMs} ms`, s.message || "-"]);
}
