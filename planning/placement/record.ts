/**
 * The placement record: the file (`placement.<stack>.yaml`, named by `rplan:placement`) that holds
 * every user's home node and last measured size, the admin's pins and the limits of a move. Homes
 * are stored here, reviewed in `git diff`, and `pulumi up` carries out whatever changed (see
 * docs/move-users.md). Pure: text in, record out; the reading and writing is stack-file/placement.ts.
 */
import * as YAML from "yaml";
import { NODE_NAME, USER_ID } from "../names";
import { mayBeHome } from "../node-roles";
import { ClusterState, NodeState, PlacementInputError, Plan } from "./types";
import { cmp, isBytes, show } from "./validate";

/** How much one `pulumi up` may move, how many users at once, and how long a moved user's old copy is kept. */
export interface PlacementLimits {
  /** Bytes all moves of one update may copy together. */
  maxBytesMoved: number;
  /** Moves running at the same time. */
  concurrency: number;
  /** Seconds the old copy is kept after a move before an update removes it. */
  graceSeconds: number;
}

/** One user: its home node and the last measured size of its data (`npm run placement -- sizes`). */
export interface PlacedUser {
  home: string;
  bytes: number;
  /**
   * The second node keeping a standby copy of the user, promoted to home when the home is revoked
   * (./standby.ts chooses it and replaces one that is no longer valid; the program carries it out).
   * Checked here only for what no plan can mend: a node of the stack. A standby on a
   * draining or revoked node is allowed in the file: the program replaces it (and a revoked home's
   * standby is what the user is promoted onto).
   */
  standby?: string;
}

/**
 * The placement: the one vocabulary of the file (parse/render here), the commands that plan into it,
 * the UserPlacement component and provider (as RecordInputs), and the moves' rules (./moves.ts).
 */
export interface PlacementRecord {
  users: Record<string, PlacedUser>;
  /** user → node: a pinned user only ever lives on its pin. */
  pins: Record<string, string>;
  limits: PlacementLimits;
}

/**
 * The record as the UserPlacement resource's inputs carry it: homes and sizes as two maps. These
 * property names are in every stack's state (a renamed input would be a change to every stack), so
 * this form stays; recordAsInputs and recordFromInputs are the only ways between the two.
 */
export interface RecordInputs {
  /** uid → home node. */
  readonly homes: Readonly<Record<string, string>>;
  /** uid → bytes of the user's data as last measured (what a move will copy). */
  readonly sizes: Readonly<Record<string, number>>;
  /** uid → standby node (users without one are absent). Optional: stacks deployed before standbys lack it. */
  readonly standbys?: Readonly<Record<string, string>>;
  readonly pins: Readonly<Record<string, string>>;
  readonly limits: PlacementLimits;
}

/** The record as inputs; `standbys` always present ({} when nobody has one), so its absence means an older program wrote them. */
export function recordAsInputs(rec: PlacementRecord): RecordInputs {
  const users = Object.entries(rec.users);
  return {
    homes: Object.fromEntries(users.map(([u, p]) => [u, p.home])),
    sizes: Object.fromEntries(users.map(([u, p]) => [u, p.bytes])),
    standbys: Object.fromEntries(users.flatMap(([u, p]) => (p.standby === undefined ? [] : [[u, p.standby]]))),
    pins: rec.pins,
    limits: rec.limits,
  };
}

/** The record the inputs carry (a user without a size has 0 bytes; without `standbys`, nobody has a standby). */
export function recordFromInputs(i: RecordInputs): PlacementRecord {
  const standby = (u: string) => (Object.hasOwn(i.standbys ?? {}, u) ? { standby: i.standbys![u] } : {});
  return {
    users: Object.fromEntries(Object.entries(i.homes ?? {}).map(([u, home]) => [u, { home, ...standby(u), bytes: i.sizes?.[u] ?? 0 }])),
    pins: { ...(i.pins ?? {}) },
    limits: i.limits,
  };
}

export const DEFAULT_LIMITS: Readonly<PlacementLimits> = { maxBytesMoved: 50e9, concurrency: 2, graceSeconds: 604800 };

/** A node as the record is checked against it (the stack config's nodes fit). */
export interface RecordNode {
  readonly name: string;
  readonly state: NodeState;
}

const TOP_KEYS = ["limits", "pins", "users"];
const USER_KEYS = ["home", "standby", "bytes"];
const LIMIT_KEYS = Object.keys(DEFAULT_LIMITS);

export function emptyPlacementRecord(): PlacementRecord {
  return { users: {}, pins: {}, limits: { ...DEFAULT_LIMITS } };
}

/** Map entries with their keys as YAML typed them (so `123:` or `true:` is caught, not silently a string). */
function entriesOf(v: unknown): [unknown, unknown][] | undefined {
  return v instanceof Map ? [...v.entries()] : undefined;
}

/**
 * Parse the file's text. Every problem — YAML syntax, duplicate keys (with their line), unknown
 * keys, bad user ids, sizes and limits, and, given `nodes`, homes and pins the config does not
 * allow — is collected and thrown at once as one PlacementInputError, each prefixed with `where`.
 */
export function parsePlacementRecord(text: string, where: string, nodes?: readonly RecordNode[]): PlacementRecord {
  const problems: string[] = [];
  const bad = (p: string) => problems.push(`${where}: ${p}`);
  const doc = YAML.parseDocument(text, { uniqueKeys: true, prettyErrors: true });
  for (const e of doc.errors) bad(`line ${e.linePos?.[0].line ?? "?"}: ${e.message.split("\n")[0].replace(/ at line \d+, column \d+:?$/, "")}`);
  if (doc.errors.length > 0) throw new PlacementInputError(problems);

  const rec = emptyPlacementRecord();
  const top = doc.contents === null ? new Map() : doc.toJS({ mapAsMap: true });
  const topEntries = entriesOf(top);
  if (!topEntries) {
    bad("expected a map with limits, pins and users");
    throw new PlacementInputError(problems);
  }
  const section = (name: string) => {
    const v = (top as Map<unknown, unknown>).get(name);
    if (v === undefined || v === null) return [];
    const e = entriesOf(v);
    if (!e) bad(`${name} must be a map`);
    return e ?? [];
  };
  for (const [k] of topEntries) if (!TOP_KEYS.includes(k as string)) bad(`unknown key ${show(k)} (known: ${TOP_KEYS.join(", ")})`);

  for (const [k, v] of section("limits")) {
    if (!LIMIT_KEYS.includes(k as string)) bad(`limits: unknown key ${show(k)} (known: ${LIMIT_KEYS.join(", ")})`);
    else if (!isBytes(v) || (v === 0 && k !== "graceSeconds")) bad(`limits.${k as string} must be a ${k === "graceSeconds" ? "non-negative" : "positive"} whole number, got ${show(v)}`);
    else rec.limits[k as keyof PlacementLimits] = v;
  }
  const uid = (k: unknown, what: string): k is string => {
    if (typeof k === "string" && USER_ID.test(k)) return true;
    bad(`${what} ${show(k)}: a user id must be text matching ${USER_ID.source} (no shell or LDAP metacharacters; quote ids YAML reads as numbers)`);
    return false;
  };
  for (const [k, v] of section("pins")) {
    if (!uid(k, "pin for user")) continue;
    if (typeof v !== "string" || !NODE_NAME.test(v)) bad(`pins.${k} must be a node name, got ${show(v)}`);
    else rec.pins[k] = v;
  }
  for (const [k, v] of section("users")) {
    if (!uid(k, "user")) continue;
    const fields = entriesOf(v);
    if (!fields) {
      bad(`users.${k} must be a map {home, standby?, bytes}`);
      continue;
    }
    const u = new Map(fields);
    for (const f of u.keys()) if (!USER_KEYS.includes(f as string)) bad(`users.${k}: unknown key ${show(f)} (known: ${USER_KEYS.join(", ")})`);
    const home = u.get("home");
    const standby = u.get("standby");
    const bytes = u.get("bytes");
    const goodHome = typeof home === "string" && NODE_NAME.test(home);
    const goodStandby = standby === undefined || (typeof standby === "string" && NODE_NAME.test(standby));
    if (!goodHome) bad(`users.${k}.home must be a node name, got ${show(home)}`);
    if (!goodStandby) bad(`users.${k}.standby must be a node name, got ${show(standby)}`);
    if (!isBytes(bytes)) bad(`users.${k}.bytes must be a non-negative whole number of bytes, got ${show(bytes)}`);
    else if (goodHome && goodStandby) rec.users[k] = { home, ...(standby === undefined ? {} : { standby: standby as string }), bytes };
  }
  if (nodes) problems.push(...placementRecordProblems(rec, nodes).map((p) => `${where}: ${p}`));
  if (problems.length > 0) throw new PlacementInputError(problems);
  return rec;
}

/**
 * What the stack config does not allow: a home, standby or pin naming no node, a pin to a node that
 * is not active. A standby equal to the home is a move onto the standby (./standby.ts gives a new one). A home on a draining or revoked node is fine (the user
 * waits to move, or is promoted onto its standby), and so is a home that differs from the user's pin
 * (the next plan moves the user to it), and a standby on a draining or revoked node (the program
 * chooses another: ./standby.ts).
 */
export function placementRecordProblems(rec: PlacementRecord, nodes: readonly RecordNode[]): string[] {
  const byName = new Map(nodes.map((n) => [n.name, n]));
  const known = nodes.map((n) => n.name).join(", ") || "none";
  const problems: string[] = [];
  for (const [user, u] of sortedEntries(rec.users)) {
    if (!byName.has(u.home)) problems.push(`users.${user}.home: ${u.home} is not a node of the stack (nodes: ${known})`);
    if (u.standby === undefined) continue;
    // A home set to the standby is a move onto the standby (an admin's natural edit): the program
    // gives the user a new standby (planning/placement/standby.ts "home moved onto it").
    if (!byName.has(u.standby)) problems.push(`users.${user}.standby: ${u.standby} is not a node of the stack (nodes: ${known})`);
  }
  for (const [user, node] of sortedEntries(rec.pins)) {
    const n = byName.get(node);
    if (!n) problems.push(`pins.${user}: ${node} is not a node of the stack (nodes: ${known})`);
    else if (!mayBeHome(n)) problems.push(`pins.${user}: ${node} is ${n.state}; a pin must name an active node (unpin or re-pin first)`);
  }
  return problems;
}

const sortedEntries = <T>(r: Record<string, T>) => Object.entries(r).sort((a, b) => cmp(a[0], b[0]));
/** A scalar as YAML writes it: quoted only when it would read back as something else (`true`, `123`). */
const scalar = (v: string | number) => YAML.stringify(v).trimEnd();
const flow = (pairs: [string, string | number][]) => (pairs.length === 0 ? "{}" : `{ ${pairs.map(([k, v]) => `${scalar(k)}: ${scalar(v)}`).join(", ")} }`);

/** The file's text: a header saying what it is, then limits, pins and users, each sorted (so diffs are small). */
export function renderPlacementRecord(rec: PlacementRecord): string {
  const users = sortedEntries(rec.users);
  return [
    "# rplan placement: every user's home node and the last measured size of its data, the admins' pins",
    "# and the limits of one update. Written by `npm run placement -- sync|sizes|plan` (users sorted);",
    "# hand edits are fine. Review `git diff`, then `pulumi up` moves every user whose home changed.",
    "# See docs/move-users.md.",
    `limits: ${flow(LIMIT_KEYS.map((k) => [k, rec.limits[k as keyof PlacementLimits]]))}`,
    `pins: ${flow(sortedEntries(rec.pins))}`,
    users.length === 0 ? "users: {}" : "users:",
    ...users.map(([user, u]) => `  ${scalar(user)}: ${flow([["home", u.home], ...(u.standby === undefined ? [] : [["standby", u.standby] as [string, string]]), ["bytes", u.bytes]])}`),
    "",
  ].join("\n");
}

/** The planner's input: the record's homes and pins on the stack's nodes. */
export function toClusterState(rec: PlacementRecord, nodes: readonly (RecordNode & { readonly capacity: number })[]): ClusterState {
  return {
    nodes: nodes.map((n) => ({ name: n.name, capacity: n.capacity, state: n.state })),
    placement: sortedEntries(rec.users).map(([user, u]) => ({ user, node: u.home, bytes: u.bytes })),
    pins: { ...rec.pins },
  };
}

/**
 * The record with every planned move's destination as the user's home (nothing else changes). A
 * move whose user is not in the record, or is no longer on the move's `from`, means the plan is
 * stale: refused, all such moves listed.
 */
export function applyPlan(rec: PlacementRecord, plan: Pick<Plan, "moves">): PlacementRecord {
  const users = Object.fromEntries(sortedEntries(rec.users).map(([k, u]) => [k, { ...u }]));
  const problems: string[] = [];
  for (const m of plan.moves) {
    const u = users[m.user];
    if (!u) problems.push(`the plan moves ${m.user}, who is not in the placement record`);
    else if (u.home !== m.from) problems.push(`the plan moves ${m.user} from ${m.from}, but the record has ${m.user} on ${u.home}: plan again`);
    else u.home = m.to;
  }
  if (problems.length > 0) throw new PlacementInputError(problems);
  return { users, pins: { ...rec.pins }, limits: { ...rec.limits } };
}
