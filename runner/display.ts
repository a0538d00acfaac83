/**
 * What a preview prints, in the shape of `pulumi preview --diff`: one line per step, per-property
 * `- old` / `+ new` lines, and a summary. Secrets print as [secret], unknowns as [unknown], and the
 * serialized dynamic provider (`__provider`) is never shown.
 */
import { deepEqual, isPropertyObject, isSecret, mask, PropertyMap, PropertyValue } from "./props";
import { shortUrn } from "./aliases";
import { countSteps, Step, StepOp } from "./steps";

const HIDDEN = new Set(["__provider"]);
const MAX_VALUE = 160;

export interface PropertyChange {
  readonly path: string;
  readonly kind: "add" | "delete" | "update";
  readonly old?: PropertyValue;
  readonly new?: PropertyValue;
}

function join(prefix: string, key: string | number): string {
  if (typeof key === "number") return `${prefix}[${key}]`;
  return prefix ? `${prefix}.${key}` : key;
}

function changesOf(path: string, a: PropertyValue | undefined, b: PropertyValue | undefined, out: PropertyChange[]): void {
  if (deepEqual(a, b)) return;
  if (a === undefined || a === null) return void out.push({ path, kind: "add", new: b });
  if (b === undefined || b === null) return void out.push({ path, kind: "delete", old: a });
  if (isPropertyObject(a) && isPropertyObject(b) && !isSecret(a) && !isSecret(b)) {
    for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) changesOf(join(path, k), a[k], b[k], out);
    return;
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    for (let i = 0; i < Math.max(a.length, b.length); i++) changesOf(join(path, i), a[i], b[i], out);
    return;
  }
  out.push({ path, kind: "update", old: a, new: b });
}

/** Leaf-level differences between two property maps (top-level `__provider` excluded). */
export function propertyChanges(olds: PropertyMap, news: PropertyMap): PropertyChange[] {
  const out: PropertyChange[] = [];
  for (const k of new Set([...Object.keys(olds), ...Object.keys(news)])) {
    if (!HIDDEN.has(k)) changesOf(k, olds[k], news[k], out);
  }
  return out;
}

/** "[diff: ~a, +b]" entries: top-level keys with the kind of change. */
export function diffKeys(changes: readonly PropertyChange[]): string[] {
  const kinds = new Map<string, string>();
  for (const c of changes) {
    const top = c.path.split(/[.[]/)[0];
    const nested = c.path !== top;
    const sym = nested || c.kind === "update" ? "~" : c.kind === "add" ? "+" : "-";
    const prev = kinds.get(top);
    kinds.set(top, prev && prev !== sym ? "~" : sym);
  }
  return [...kinds].map(([k, s]) => s + k);
}

export function formatValue(v: PropertyValue | undefined): string {
  const text = JSON.stringify(mask(v ?? null));
  return text.length > MAX_VALUE ? text.slice(0, MAX_VALUE - 1) + "…" : text;
}

/** The `- old` / `+ new` lines under an update or replace. */
export function changeLines(changes: readonly PropertyChange[], replaceKeys: readonly string[] = []): string[] {
  const lines: string[] = [];
  for (const c of changes) {
    const forces = replaceKeys.includes(c.path.split(/[.[]/)[0]) ? " (forces replacement)" : "";
    if (c.kind === "add") lines.push(`+ ${c.path}: ${formatValue(c.new)}${forces}`);
    else if (c.kind === "delete") lines.push(`- ${c.path}: ${formatValue(c.old)}${forces}`);
    else lines.push(`~ ${c.path}${forces}`, `    - ${formatValue(c.old)}`, `    + ${formatValue(c.new)}`);
  }
  return lines;
}

/** All properties of a created (`+`) or deleted (`-`) resource, for `--diff`. */
export function propertyLines(sign: "+" | "-", props: PropertyMap): string[] {
  return Object.entries(props)
    .filter(([k]) => !HIDDEN.has(k))
    .map(([k, v]) => `${sign} ${k}: ${formatValue(v)}`);
}

const SYMBOL: Record<StepOp, string> = { create: "+", update: "~", replace: "+-", delete: "-", same: " ", read: "~" };

/**
 * One step: symbol, type, name, what happens, the changed properties, and — for a resource that took
 * over an old URN through an alias — the URN it had ("[aliased: was <type>::<name>]"; the Pulumi CLI
 * shows nothing for a rename, pulumi/pulumi#9412).
 */
export function stepLine(step: Step, done = false): string {
  const verb = done ? { create: "created", update: "updated", replace: "replaced", delete: "deleted", same: "same", read: "read" }[step.op] : step.op;
  const diff = step.diffs.length > 0 ? `  [diff: ${step.diffs.join(", ")}]` : "";
  const alias = step.aliasOf ? `  [aliased: was ${shortUrn(step.aliasOf)}]` : "";
  return `  ${SYMBOL[step.op].padEnd(2)} ${step.type}  ${step.name}  ${verb}${diff}${alias}`;
}

/** Step lines with their detail, skipping unchanged resources (a renamed one is shown, on one line). */
export function formatSteps(steps: readonly Step[], opts: { showDetail: boolean; done?: boolean }): string[] {
  const lines: string[] = [];
  for (const s of steps) {
    if ((s.op === "same" && !s.aliasOf) || (s.op === "read" && s.diffs.length === 0)) continue;
    lines.push(stepLine(s, opts.done));
    const showAll = s.op === "update" || s.op === "replace" || s.op === "read";
    if (s.detail && (showAll || opts.showDetail)) lines.push(...s.detail.map((l) => "        " + l));
  }
  return lines;
}

export function summaryLine(steps: readonly Step[], mode: "preview" | "done"): string {
  const c = countSteps(steps);
  if (mode === "preview") {
    return `Resources: + ${c.create} to create, ~ ${c.update} to update, +-${c.replace} to replace, - ${c.delete} to delete, ${c.same} unchanged`;
  }
  return `Resources: + ${c.create} created, ~ ${c.update} updated, +-${c.replace} replaced, - ${c.delete} deleted, ${c.same} unchanged`;
}
