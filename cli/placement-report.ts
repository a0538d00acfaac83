/**
 * What `npm run placement` prints: tables people can scan (columns aligned, numbers right-aligned,
 * sizes in decimal units as `du` and disk vendors count). Pure, so every report is unit-tested.
 */
import { humanBytes } from "../planning/placement/moves";
import { cmp } from "../planning/placement/validate";
import { describePromotion, type NodeState, type Plan, type PlacementRecord, type NodeMeasurement, type Promotion, type SizesResult, type StandbyChange, type SyncResult } from "../planning/placement";

/** "1.2 GB": decimal units, one decimal below 10. */
export { humanBytes };

const percent = (f: number) => `${(100 * f).toFixed(f > 0 && f < 0.01 ? 2 : 1)}%`;
const days = (s: number) => `${+(s / 86400).toFixed(2)} day${s === 86400 ? "" : "s"}`;

/** Rows under a header, columns aligned; columns in `right` (by index) are right-aligned. */
export function table(header: string[], rows: string[][], right: readonly number[] = []): string {
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((r) => (r[i] ?? "").length)));
  return all.map((r) => r.map((c, i) => (right.includes(i) ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join("  ").trimEnd()).join("\n");
}

export interface ReportNode {
  readonly name: string;
  readonly state: NodeState;
  readonly capacity: number;
}

/** Per node: users, bytes placed, capacity, fill (bytes / capacity). */
function nodeTotals(rec: PlacementRecord, nodes: readonly ReportNode[]): string {
  const rows = nodes.map((n) => {
    const users = Object.values(rec.users).filter((u) => u.home === n.name);
    const bytes = users.reduce((s, u) => s + u.bytes, 0);
    return [n.name, n.state, String(users.length), humanBytes(bytes), humanBytes(n.capacity), percent(bytes / n.capacity)];
  });
  return table(["node", "state", "users", "bytes", "capacity", "fill"], rows, [2, 3, 4, 5]);
}

/** `show`: every user (home, standby, size, pin), then each node's totals against its capacity. */
export function formatShow(rec: PlacementRecord, nodes: readonly ReportNode[]): string {
  const users = Object.entries(rec.users).sort((a, b) => (a[0] < b[0] ? -1 : 1));
  const rows = users.map(([user, u]) => [user, u.home, u.standby ?? "", humanBytes(u.bytes), rec.pins[user] ?? ""]);
  const total = users.reduce((s, [, u]) => s + u.bytes, 0);
  return [
    users.length === 0 ? "no users in the placement file (add them with `npm run placement -- sync`)" : table(["user", "home", "standby", "bytes", "pin"], rows, [3]),
    "",
    nodeTotals(rec, nodes),
    `${users.length} users, ${humanBytes(total)}; limits: ${humanBytes(rec.limits.maxBytesMoved)} per update, ${rec.limits.concurrency} moves at once, old copies kept ${days(rec.limits.graceSeconds)}`,
  ].join("\n");
}

/** `sizes`: what changed, users found nowhere, nodes that could not be measured. */
export function formatSizes(result: SizesResult, measured: readonly NodeMeasurement[]): string {
  const lines: string[] = [];
  if (result.changed.length === 0) lines.push("no size changed");
  else {
    const rows = result.changed.map((c) => [c.user, c.node, humanBytes(c.before), humanBytes(c.after), `${c.after >= c.before ? "+" : "-"}${humanBytes(Math.abs(c.after - c.before))}`]);
    lines.push(table(["user", "measured on", "before", "after", "change"], rows, [2, 3, 4]));
  }
  if (result.notFound.length > 0) lines.push(`no data found for ${result.notFound.length} user${result.notFound.length === 1 ? "" : "s"} (size kept): ${result.notFound.join(", ")}`);
  for (const m of measured) if (m.error) lines.push(`NOT MEASURED ${m.node}: ${m.error}`);
  return lines.join("\n");
}

/** `sync`: every user added, and what the file and the directory disagree on (reported, not fixed). */
export function formatSync(result: SyncResult): string {
  const lines = result.added.map((a) => `added ${a.user} (home ${a.home}, 0 bytes until \`sizes\`)`);
  for (const d of result.adopted) lines.push(`adopted ${d.user}: home ${d.file} → ${d.directory} (the directory's)`);
  for (const d of result.drift) lines.push(`drift: ${d.user} file=${d.file} directory=${d.directory} — the next up moves ${d.user} back to ${d.file} unless you edit the file`);
  for (const u of result.notInDirectory) lines.push(`not in the directory: ${u} (left in the file; remove it by hand if the account is gone)`);
  for (const r of result.refused) lines.push(`REFUSED ${r}`);
  if (lines.length === 0) lines.push("the file and the directory agree");
  return lines.join("\n");
}

/** A plan: the moves, totals against the minimum and the cap, deferred users, and each node's fill after. */
export function formatPlan(plan: Plan, nodes: readonly ReportNode[], cap: number): string {
  const lines: string[] = [];
  if (plan.moves.length === 0) lines.push("nothing to move");
  else lines.push(table(["user", "from", "to", "bytes", "reason"], plan.moves.map((m) => [m.user, m.from, m.to, humanBytes(m.bytes), m.reason]), [3]));
  lines.push(
    "",
    `${plan.moves.length} move${plan.moves.length === 1 ? "" : "s"}, ${humanBytes(plan.bytesMoved)} (at least ${humanBytes(plan.minimumBytes)} needed; cap ${humanBytes(cap)})`,
  );
  if (plan.deferred.length > 0) lines.push(`deferred (must move, did not fit under the cap; planned again next time): ${plan.deferred.join(", ")}`);
  const rows = nodes.map((n) => {
    const f = plan.fill[n.name];
    return [n.name, n.state, humanBytes(f?.bytes ?? 0), humanBytes(n.capacity), percent(f?.fill ?? 0), (f?.ratio ?? 0).toFixed(3)];
  });
  lines.push("", "after the moves:", table(["node", "state", "bytes", "capacity", "fill", "fill/ideal"], rows, [2, 3, 4, 5]));
  lines.push(plan.withinTolerance ? "every active node within tolerance" : "NOT every active node within tolerance (users too lumpy, the cap, or pins): see docs/placement.md");
  return lines.join("\n");
}

/**
 * After a plan: users promoted off revoked nodes (one line each, saying whether mail was kept), then
 * every standby that changes or cannot be had, as a table sorted by user.
 */
export function formatStandbys(promotions: readonly Promotion[], changes: readonly StandbyChange[]): string {
  const lines = promotions.map(describePromotion);
  if (lines.length > 0) lines.push("");
  const rows = [...changes].sort((a, b) => cmp(a.user, b.user)).map((c) => [c.user, c.from ?? "-", c.to ?? "-", c.reason]);
  lines.push(rows.length === 0 ? "no standby changes" : `standbys:\n${table(["user", "from", "to", "reason"], rows)}`);
  return lines.join("\n");
}

/** What to do after a plan was written. */
export function nextStep(file: string, stack: string): string {
  return `wrote ${file}\nnext: review \`git diff ${file}\`, then \`npm run stack -- preview --stack ${stack}\` and \`npm run stack -- up --stack ${stack}\``;
}
