/**
 * Placement benchmark: our planner vs plain weighted rendezvous hashing vs re-deriving from the
 * host list (hash(user) mod N, as float does), on 5 000 users with heavy-tailed (log-normal) sizes
 * over 5 nodes of different capacity. Standalone:
 *   npx ts-node -e 'require("./bench/placement").benchPlacement().then(console.log)'
 */
import { performance } from "node:perf_hooks";
import { ClusterState, PlacementNode, Plan, UserHome, planAddNode, planDrain, planRebalance, suggestHomes } from "../planning/placement";
import { rendezvous, userHash } from "../planning/placement/hash";

const USERS = 5000;
const TOLERANCE = 0.03;
const SEED = 20080101;
const GB = 1e9;
// Different capacities on purpose: a host-list hash ignores them, a weighted one must not.
const NODES: PlacementNode[] = [
  { name: "nl1", capacity: 800 * GB, state: "active" },
  { name: "de1", capacity: 500 * GB, state: "active" },
  { name: "is1", capacity: 400 * GB, state: "active" },
  { name: "ch1", capacity: 300 * GB, state: "active" },
  { name: "se1", capacity: 200 * GB, state: "active" },
];
const NEW_NODE: PlacementNode = { name: "fr1", capacity: 400 * GB, state: "active" };
const DRAINED = "de1";

/** mulberry32: a tiny seeded PRNG, so every run sees the same users. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Log-normal sizes: median 30 MB, σ = 1.5 → mean ≈ 92 MB, a few dozen users above 1 GB. */
function makeUsers(seed: number): { user: string; bytes: number }[] {
  const rand = prng(seed);
  const out: { user: string; bytes: number }[] = [];
  for (let i = 0; i < USERS; i++) {
    const z = Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand()); // Box–Muller
    out.push({ user: `u${String(i).padStart(5, "0")}`, bytes: Math.round(30e6 * Math.exp(1.5 * z)) });
  }
  return out;
}

type Homes = Map<string, string>;

interface Row {
  method: string;
  maxFill: number;
  add: Outcome;
  drain: Outcome;
}
interface Outcome {
  bytes: number;
  users: number;
  minimum: number;
  maxFill: number;
}

function maxFillRatio(homes: Homes, sizes: Map<string, number>, nodes: PlacementNode[]): number {
  const load = new Map(nodes.map((n) => [n.name, 0]));
  for (const [u, n] of homes) load.set(n, load.get(n)! + sizes.get(u)!);
  const total = [...sizes.values()].reduce((a, b) => a + b, 0);
  const ideal = total / nodes.reduce((s, n) => s + n.capacity, 0);
  return Math.max(...nodes.map((n) => load.get(n.name)! / n.capacity)) / ideal;
}

function diff(before: Homes, after: Homes, sizes: Map<string, number>): { bytes: number; users: number } {
  let bytes = 0;
  let users = 0;
  for (const [u, n] of before) {
    if (after.get(u) !== n) {
      bytes += sizes.get(u)!;
      users++;
    }
  }
  return { bytes, users };
}

function state(homes: Homes, sizes: Map<string, number>, nodes: PlacementNode[]): ClusterState {
  const placement: UserHome[] = [...homes].map(([user, node]) => ({ user, node, bytes: sizes.get(user)! }));
  return { nodes, placement, pins: {} };
}

function apply(homes: Homes, plan: Plan): Homes {
  const out = new Map(homes);
  for (const m of plan.moves) out.set(m.user, m.to);
  return out;
}

const timings: string[] = [];
function timed<T>(what: string, f: () => T): T {
  const t0 = performance.now();
  const r = f();
  timings.push(`${what} ${(performance.now() - t0).toFixed(0)} ms`);
  return r;
}

/** Our planner: suggestions as users arrive, one rebalance to the tolerance, then add / drain. */
function ours(users: { user: string; bytes: number }[], sizes: Map<string, number>, minAdd: number): { row: Row; notes: string[] } {
  const empty: ClusterState = { nodes: NODES, placement: [] };
  const suggested: Homes = new Map(timed("suggest 5000", () => suggestHomes(empty, users)).map((s) => [s.user, s.node]));
  const settle = timed("rebalance", () => planRebalance(state(suggested, sizes, NODES), { tolerance: TOLERANCE }));
  const homes = apply(suggested, settle);
  const withNew = [...NODES, NEW_NODE];
  const add = timed("add node", () => planAddNode(state(homes, sizes, withNew), NEW_NODE.name, { tolerance: TOLERANCE }));
  const drain = timed("drain", () => planDrain(state(homes, sizes, NODES), DRAINED));
  const rest = NODES.filter((n) => n.name !== DRAINED);
  const total = [...sizes.values()].reduce((a, b) => a + b, 0);
  const notes = [
    `rplan suggestions alone: max fill/ideal ${maxFillRatio(suggested, sizes, NODES).toFixed(3)}; ` +
      `the first rebalance to ±${TOLERANCE * 100}% moved ${gb(settle.bytesMoved)} (${pct(settle.bytesMoved, total)} of bytes, ` +
      `${settle.moves.length} users, ${(settle.bytesMoved / settle.minimumBytes).toFixed(3)}× its minimum).`,
    `rplan add: planner's own lower bound ${gb(add.minimumBytes)}, moved ${gb(add.bytesMoved)}; ` +
      `vs the new node's full ideal share: ${(add.bytesMoved / (minAdd / (1 - TOLERANCE))).toFixed(3)}×.`,
  ];
  return {
    notes,
    row: {
      method: "rplan planner (stored)",
      maxFill: maxFillRatio(homes, sizes, NODES),
      add: { bytes: add.bytesMoved, users: add.moves.length, minimum: minAdd, maxFill: maxFillRatio(apply(homes, add), sizes, withNew) },
      drain: {
        bytes: drain.bytesMoved,
        users: drain.moves.length,
        minimum: drain.minimumBytes,
        maxFill: maxFillRatio(apply(homes, drain), sizes, rest),
      },
    },
  };
}

/** A stateless placement recomputed from scratch for every node list. */
function derived(method: string, place: (user: string, nodes: PlacementNode[]) => string, users: string[], sizes: Map<string, number>, minAdd: number): Row {
  const at = (nodes: PlacementNode[]): Homes => new Map(users.map((u) => [u, place(u, nodes)]));
  const homes = at(NODES);
  const withNew = [...NODES, NEW_NODE];
  const rest = NODES.filter((n) => n.name !== DRAINED);
  const added = at(withNew);
  const drained = at(rest);
  const onDrained = users.filter((u) => homes.get(u) === DRAINED).reduce((s, u) => s + sizes.get(u)!, 0);
  return {
    method,
    maxFill: maxFillRatio(homes, sizes, NODES),
    add: { ...diff(homes, added, sizes), minimum: minAdd, maxFill: maxFillRatio(added, sizes, withNew) },
    drain: { ...diff(homes, drained, sizes), minimum: onDrained, maxFill: maxFillRatio(drained, sizes, rest) },
  };
}

const rendezvousByCapacity = (user: string, nodes: PlacementNode[]) =>
  rendezvous(user, nodes.map((n) => ({ name: n.name, weight: n.capacity })))!;
// float-style: the host list in config order, new hosts appended, home = hash(user) mod N.
const hostListMod = (user: string, nodes: PlacementNode[]) => nodes[userHash(user) % nodes.length].name;

const gb = (b: number) => `${(b / GB).toFixed(1)} GB`;
const pct = (a: number, b: number) => `${((100 * a) / b).toFixed(1)}%`;

/** All three methods on one seeded population. */
function compare(seed: number) {
  const users = makeUsers(seed);
  const sizes = new Map(users.map((u) => [u.user, u.bytes]));
  const total = users.reduce((s, u) => s + u.bytes, 0);
  const capacity = NODES.reduce((s, n) => s + n.capacity, 0);
  // Minimum for adding a node: it must end within tolerance of its ideal share, so at least
  // (1 − tolerance) × its share has to arrive, whatever the method.
  const minAdd = (1 - TOLERANCE) * total * (NEW_NODE.capacity / (capacity + NEW_NODE.capacity));
  const { row, notes } = ours(users, sizes, minAdd);
  const ids = users.map((u) => u.user);
  const rows = [
    row,
    derived("plain weighted rendezvous (re-hash all)", rendezvousByCapacity, ids, sizes, minAdd),
    derived("re-derive from host list (hash mod N)", hostListMod, ids, sizes, minAdd),
  ];
  return { users, total, minAdd, rows, notes };
}

const HEADER = [
  "| method | max fill/ideal | add: moved/min | add: users moved | add: max fill/ideal | drain: moved/min | drain: users moved | drain: max fill/ideal |",
  "|---|---|---|---|---|---|---|---|",
];
const cell = (o: Outcome) => [(o.bytes / o.minimum).toFixed(3), pct(o.users, USERS), o.maxFill.toFixed(4)];
const line = (r: Row) => `| ${[r.method, r.maxFill.toFixed(4), ...cell(r.add), ...cell(r.drain)].join(" | ")} |`;

/** Worst case of each column over several populations (highest ratio, most users moved). */
function worst(rows: Row[]): Row {
  const o = (k: "add" | "drain"): Outcome => {
    const pick = (f: (x: Outcome) => number) => Math.max(...rows.map((r) => f(r[k])));
    // Encode the worst ratio with minimum 1 so that cell() prints it as-is.
    return { bytes: pick((x) => x.bytes / x.minimum), minimum: 1, users: pick((x) => x.users), maxFill: pick((x) => x.maxFill) };
  };
  return { method: rows[0].method, maxFill: Math.max(...rows.map((r) => r.maxFill)), add: o("add"), drain: o("drain") };
}

/** Run the comparison and return it as a markdown table with the setup and definitions. */
export async function benchPlacement(): Promise<string> {
  timings.length = 0;
  const { users, total, minAdd, rows, notes } = compare(SEED);
  const shown = timings.join(", ");
  const seeds = Array.from({ length: 10 }, (_, i) => SEED + 1 + i);
  const more = seeds.map((s) => compare(s).rows);
  const sorted = users.map((u) => u.bytes).sort((a, b) => b - a);
  return [
    `### Placement: ${USERS} users, ${gb(total)} (log-normal, median 30 MB, σ 1.5; largest ${gb(sorted[0])}, ` +
      `${sorted.filter((b) => b >= GB).length} users ≥ 1 GB), seed ${SEED}`,
    `Nodes: ${NODES.map((n) => `${n.name} ${n.capacity / GB} GB`).join(", ")}; add ${NEW_NODE.name} ${NEW_NODE.capacity / GB} GB; ` +
      `drain ${DRAINED}. Tolerance ±${TOLERANCE * 100}%.`,
    `Minimum to move — add: (1 − tolerance) × the new node's ideal share = ${gb(minAdd)}; ` +
      `drain: the bytes on ${DRAINED} in that method's placement. fill = bytes / capacity, ideal = total / active capacity.`,
    "",
    ...HEADER,
    ...rows.map(line),
    "",
    ...notes.map((n) => `- ${n}`),
    `- planner time: ${shown}`,
    "",
    `Worst case of each column over ${seeds.length} more populations (seeds ${seeds[0]}–${seeds[seeds.length - 1]}):`,
    "",
    ...HEADER,
    ...[0, 1, 2].map((i) => line(worst(more.map((r) => r[i])))),
  ].join("\n");
}
