/** The planners: drain a node, rebalance, add a node. Pure functions from state to plan. */
import { balance, Onto, requiredFlow } from "./balance";
import { bySizeDesc } from "./select";
import { BalanceOptions, ClusterState, DrainOptions, MoveReason, Plan, UserHome } from "./types";
import { Model, fail, readOptions, readState, show } from "./validate";
import { Work } from "./work";
import { mayBeHome } from "../node-roles";

/** Tolerance used to report `withinTolerance` on a drain plan when none is given. */
export const DEFAULT_TOLERANCE = 0.03;

/**
 * Plan draining `node`: every user living on it gets a new home on the active nodes, and nobody
 * else moves (not even users of other draining nodes, or users off their pin: that is
 * planRebalance's job). The node may still be `active` in the state, so the drain can be
 * previewed before the state is flipped. Homes are chosen largest user first onto the node whose
 * fill stays lowest, which keeps the survivors balanced. Users pinned elsewhere go to their pin;
 * a pin to the drained node is an error. With `maxBytesMoved`, users that do not fit are listed
 * in `deferred` for the next update.
 */
export function planDrain(state: ClusterState, node: string, opts?: DrainOptions): Plan {
  const problems: string[] = [];
  const model = readState(state, problems, typeof node === "string" ? node : undefined);
  readOptions(opts, false, problems);
  if (!model.byName.has(node)) problems.push(`cannot drain ${show(node)}: not a known node`);
  const targets = model.nodes.filter((n) => mayBeHome(n) && n.name !== node);
  if (targets.length === 0) problems.push(`cannot drain ${show(node)}: no other active node to take its users`);
  fail(problems);

  const w = new Work(model, targets, opts?.maxBytesMoved);
  const leaving = model.users.filter((u) => u.node === node);
  const minimum = leaving.reduce((s, u) => s + u.bytes, 0);
  relocate(w, leaving.map((u) => ({ u, reason: "drain" as const })));
  return w.finish(minimum, opts?.tolerance ?? DEFAULT_TOLERANCE);
}

/**
 * Plan a rebalance: first the moves that must happen (users on draining/revoked nodes, revoked
 * first; users living somewhere other than their pin), then the fewest bytes of moves that bring
 * every active node within ±tolerance of its ideal share. Nothing moves if the cluster is
 * already within tolerance and every pin holds. Pinned users never move except onto their pin;
 * nobody moves twice. `maxBytesMoved` caps the whole plan; forced moves that do not fit are
 * listed in `deferred`.
 */
export function planRebalance(state: ClusterState, opts: BalanceOptions): Plan {
  const problems: string[] = [];
  const model = readState(state, problems);
  readOptions(opts, true, problems);
  return rebalance(model, opts, problems);
}

/**
 * Plan the moves after adding `node` (already in the state, active, usually empty). This is a
 * rebalance that names the new node: every balancing move goes onto it, and only as many bytes as
 * bring the cluster within tolerance. From a balanced cluster the new node is the only one below
 * its band, but whole users can leave an old node above its new band once the new node is full
 * (or evenOut can take an old node below its band): no old node takes a user to mend that — the
 * plan says `withinTolerance: false` and `planRebalance` may move between old nodes. Forced moves
 * (draining nodes, pins) are included, as in planRebalance.
 */
export function planAddNode(state: ClusterState, node: string, opts: BalanceOptions): Plan {
  const problems: string[] = [];
  const model = readState(state, problems);
  readOptions(opts, true, problems);
  const n = model.byName.get(node);
  if (n === undefined) problems.push(`cannot add ${show(node)}: put it in the node list first`);
  else if (!mayBeHome(n)) problems.push(`cannot add ${show(node)}: it is ${n.state}, not active`);
  return rebalance(model, opts, problems, (to) => to === node);
}

/** Forced moves, then balancing moves onto the targets `onto` allows (every one, unless a plan names a node). */
function rebalance(model: Model, opts: BalanceOptions, problems: string[], onto?: Onto): Plan {
  const targets = model.nodes.filter(mayBeHome);
  if (targets.length === 0) problems.push("there is no active node to place users on");
  fail(problems);

  const w = new Work(model, targets, opts.maxBytesMoved);
  const active = new Set(targets.map((n) => n.name));
  const rank = (n: string) => ({ revoked: 0, draining: 1, active: 2 })[model.byName.get(n)!.state];
  const forced = model.users
    .filter((u) => !active.has(u.node) || (model.pins.has(u.user) && model.pins.get(u.user) !== u.node))
    .sort((a, b) => rank(a.node) - rank(b.node) || bySizeDesc(a, b))
    .map((u) => ({ u, reason: (active.has(u.node) ? "pin" : "drain") as MoveReason }));
  const minimum = lowerBound(w, forced.map((f) => f.u), opts.tolerance);
  relocate(w, forced);
  balance(w, opts.tolerance, (user) => model.pins.has(user), onto);
  return w.finish(minimum, opts.tolerance);
}

/**
 * Give each user a new home: its pin if pinned, else the target whose fill stays lowest
 * (ties by name). Taking users largest first makes this the classic LPT heuristic, which keeps
 * the receiving nodes close to even. Users that would break the cap are deferred.
 */
function relocate(w: Work, users: { u: UserHome; reason: MoveReason }[]): void {
  for (const { u, reason } of users) {
    const to = w.model.pins.get(u.user) ?? lowestAfter(w, u.bytes);
    if (!w.move(u, to, reason)) w.deferred.push(u.user);
  }
}

function lowestAfter(w: Work, bytes: number): string {
  let best = w.targets[0];
  let bestFill = Infinity;
  for (const n of w.targets) {
    const f = (w.load.get(n.name)! + bytes) / n.capacity;
    if (f < bestFill) {
      best = n;
      bestFill = f;
    }
  }
  return best.name;
}

/**
 * Bytes any plan must move: all forced users, plus what must cross between active nodes. With the
 * forced users set aside (pinned ones counted at their pin), over nodes must shed ΣE no matter
 * what, and under nodes need ΣD of which the unpinned forced users can cover at most their size.
 */
function lowerBound(w: Work, forced: UserHome[], tolerance: number): number {
  const load = new Map(w.load);
  let forcedBytes = 0;
  let free = 0;
  for (const u of forced) {
    load.set(w.home.get(u.user)!, load.get(w.home.get(u.user)!)! - u.bytes);
    const pin = w.model.pins.get(u.user);
    if (pin !== undefined) load.set(pin, load.get(pin)! + u.bytes);
    else free += u.bytes;
    forcedBytes += u.bytes;
  }
  const { excess, deficit } = requiredFlow((n) => load.get(n)!, w.bands(tolerance));
  // Whole bytes move, so round up; the epsilon keeps float noise from adding a phantom byte.
  return forcedBytes + Math.max(0, Math.ceil(Math.max(excess, deficit - free) - 1e-6));
}
