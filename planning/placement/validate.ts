/**
 * Input checking. Every problem is collected and thrown together as one PlacementInputError, so an
 * admin fixing a config sees everything at once instead of one error per `pulumi preview`.
 */
import { NODE_NAME, USER_ID } from "../names";
import { ClusterState, NodeState, PlacementInputError, PlacementNode, UserHome } from "./types";
import { mayBeHome } from "../node-roles";

export { NODE_NAME, USER_ID } from "../names";
const STATES: readonly NodeState[] = ["active", "draining", "revoked"];

/** The validated state, in canonical (sorted) order so results never depend on input order. */
export interface Model {
  /** All nodes sorted by name. */
  nodes: PlacementNode[];
  byName: Map<string, PlacementNode>;
  /** All placed users sorted by id. */
  users: UserHome[];
  byUser: Map<string, UserHome>;
  pins: Map<string, string>;
}

/** Quote a value from the input for an error message without letting it inject anything. */
export function show(v: unknown): string {
  if (typeof v === "string") {
    const s = JSON.stringify(v.length > 70 ? v.slice(0, 70) + "…" : v);
    return s;
  }
  if (typeof v === "number" || typeof v === "boolean" || v === null || v === undefined) return String(v);
  return typeof v;
}

/** Non-negative safe integer (sizes are whole bytes; beyond 2^53 sums stop being exact). */
export function isBytes(v: unknown): v is number {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
}

export function fail(problems: readonly string[]): void {
  if (problems.length > 0) throw new PlacementInputError(problems);
}

function readNodes(raw: unknown, problems: string[]): PlacementNode[] {
  if (!Array.isArray(raw)) {
    problems.push("nodes must be an array");
    return [];
  }
  const seen = new Set<string>();
  const nodes: PlacementNode[] = [];
  raw.forEach((n: any, i) => {
    const where = `node #${i} ${show(n?.name)}`;
    if (typeof n !== "object" || n === null) return void problems.push(`node #${i} must be an object`);
    let ok = true;
    if (typeof n.name !== "string" || !NODE_NAME.test(n.name)) {
      problems.push(`${where}: name must match ${NODE_NAME.source}`);
      ok = false;
    } else if (seen.has(n.name)) {
      problems.push(`node ${show(n.name)} is listed more than once`);
      ok = false;
    }
    if (!isBytes(n.capacity) || n.capacity === 0) {
      problems.push(`${where}: capacity must be a positive whole number of bytes, got ${show(n.capacity)}`);
      ok = false;
    }
    if (!STATES.includes(n.state)) {
      problems.push(`${where}: state must be one of ${STATES.join(", ")}, got ${show(n.state)}`);
      ok = false;
    }
    if (typeof n.name === "string") seen.add(n.name);
    if (ok) nodes.push({ name: n.name, capacity: n.capacity, state: n.state });
  });
  return nodes.sort((a, b) => cmp(a.name, b.name));
}

function readPlacement(raw: unknown, byName: Map<string, PlacementNode>, problems: string[]): UserHome[] {
  if (!Array.isArray(raw)) {
    problems.push("placement must be an array");
    return [];
  }
  const seen = new Set<string>();
  const users: UserHome[] = [];
  raw.forEach((u: any, i) => {
    if (typeof u !== "object" || u === null) return void problems.push(`placement #${i} must be an object`);
    const where = `user ${show(u.user)}`;
    let ok = true;
    if (typeof u.user !== "string" || !USER_ID.test(u.user)) {
      problems.push(`placement #${i}: user id ${show(u.user)} must match ${USER_ID.source}`);
      ok = false;
    } else if (seen.has(u.user)) {
      problems.push(`${where} is placed more than once`);
      ok = false;
    }
    if (typeof u.node !== "string" || !byName.has(u.node)) {
      problems.push(`${where}: home node ${show(u.node)} is not a known node`);
      ok = false;
    }
    if (!isBytes(u.bytes)) {
      problems.push(`${where}: bytes must be a non-negative whole number, got ${show(u.bytes)}`);
      ok = false;
    }
    if (typeof u.user === "string") seen.add(u.user);
    if (ok) users.push({ user: u.user, node: u.node, bytes: u.bytes });
  });
  return users.sort((a, b) => cmp(a.user, b.user));
}

function readPins(raw: unknown, byName: Map<string, PlacementNode>, leaving: string | undefined, problems: string[]) {
  const pins = new Map<string, string>();
  if (raw === undefined) return pins;
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    problems.push("pins must be an object mapping user → node");
    return pins;
  }
  // Object.entries: own properties only, so a user called "constructor" cannot hit the prototype.
  for (const [user, node] of Object.entries(raw).sort((a, b) => cmp(a[0], b[0]))) {
    let ok = true;
    if (!USER_ID.test(user)) {
      problems.push(`pin for user ${show(user)}: user id must match ${USER_ID.source}`);
      ok = false;
    }
    const n = typeof node === "string" ? byName.get(node) : undefined;
    if (n === undefined) {
      problems.push(`user ${show(user)} is pinned to ${show(node)}, which is not a known node`);
      ok = false;
    } else if (!mayBeHome(n)) {
      problems.push(`user ${show(user)} is pinned to ${show(node)}, which is ${n.state}: unpin or re-pin first`);
      ok = false;
    } else if (node === leaving) {
      problems.push(`user ${show(user)} is pinned to ${show(node)}, which is being drained: unpin or re-pin first`);
      ok = false;
    }
    if (ok) pins.set(user, node as string);
  }
  return pins;
}

/**
 * Check a ClusterState and build the canonical model. Problems are appended to `problems`
 * (never thrown here) so that callers can add their own before failing once.
 * `leaving` is a node about to be drained: pins to it are errors even while it is still active.
 */
export function readState(state: ClusterState, problems: string[], leaving?: string): Model {
  if (typeof state !== "object" || state === null) {
    problems.push("cluster state must be an object with nodes, placement and pins");
    state = { nodes: [], placement: [] };
  }
  const nodes = readNodes(state.nodes, problems);
  const byName = new Map(nodes.map((n) => [n.name, n]));
  const users = readPlacement(state.placement, byName, problems);
  const pins = readPins(state.pins, byName, leaving, problems);
  return { nodes, byName, users, byUser: new Map(users.map((u) => [u.user, u])), pins };
}

/** Check the options shared by the planners. */
export function readOptions(opts: unknown, needTolerance: boolean, problems: string[]): void {
  if (opts === undefined && !needTolerance) return;
  if (typeof opts !== "object" || opts === null) return void problems.push("options must be an object");
  const o = opts as { tolerance?: unknown; maxBytesMoved?: unknown };
  if (o.tolerance !== undefined || needTolerance) {
    const t = o.tolerance;
    if (typeof t !== "number" || !Number.isFinite(t) || t < 0 || t >= 1) {
      problems.push(`tolerance must be a fraction in [0, 1), e.g. 0.03; got ${show(t)}`);
    }
  }
  if (o.maxBytesMoved !== undefined && !isBytes(o.maxBytesMoved)) {
    problems.push(`maxBytesMoved must be a non-negative whole number of bytes, got ${show(o.maxBytesMoved)}`);
  }
}

/** Plain code-point order: stable across locales, unlike localeCompare. */
export function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
