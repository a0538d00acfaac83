/**
 * Bringing every target node within ±tolerance of its ideal share while moving the fewest bytes.
 *
 * Over node i must shed at least E_i = load − hi; under node j must gain at least D_j = lo − load.
 * Any plan moves at least max(ΣE, ΣD) bytes, and that is what we aim for: if ΣE ≥ ΣD the over
 * nodes shed exactly their excess and the surplus is spread over nodes with headroom below hi;
 * otherwise the under nodes gain exactly their deficit and the shortfall is taken from nodes with
 * slack above lo (after adding an empty node, that is every old node, in proportion to slack).
 * Sources and destinations are then paired largest quota first and each pair is filled with
 * pickUsers. A pick never pushes a source below lo or a destination above hi, so no move makes
 * another node violate; a pick that cannot land (heavy-tail lumps) leaves a remainder that the
 * next round retries with fresh quotas.
 */
import { Band, Work } from "./work";
import { PlacementNode, UserHome } from "./types";
import { bySizeDesc, pickUsers } from "./select";
import { cmp } from "./validate";

const MAX_ROUNDS = 20;

/** The lower bound on bytes that must cross between target nodes to satisfy the bands. */
export function requiredFlow(load: (n: string) => number, bands: Map<string, Band>): { excess: number; deficit: number } {
  let excess = 0;
  let deficit = 0;
  for (const [name, b] of bands) {
    const l = load(name);
    excess += Math.max(0, l - b.hi);
    deficit += Math.max(0, b.lo - l);
  }
  return { excess, deficit };
}

/** Which target nodes may receive a balancing move (every target, unless a plan names one: planAddNode). */
export type Onto = (node: string) => boolean;
const anyTarget: Onto = () => true;

/**
 * Move users (never `fixed` ones, never anyone twice, only onto nodes `onto` allows) until every
 * target is within tolerance, or no such move is left.
 */
export function balance(w: Work, tolerance: number, fixed: (user: string) => boolean, onto: Onto = anyTarget): void {
  const movable = (u: UserHome) => !fixed(u.user) && !w.hasMoved(u.user);
  for (let r = 0; r < MAX_ROUNDS && w.capLeft > 0; r++) {
    if (round(w, w.bands(tolerance), movable, onto) === 0) break;
  }
  if (!w.withinTolerance(tolerance)) evenOut(w, w.bands(tolerance), movable, onto);
}

/**
 * When the bands cannot be reached (a user bigger than a node's whole band sits on an over node,
 * and the rounds never take from nodes below their band), still fill the under nodes: move, one
 * at a time, the user that most evens the fills out — onto a node below its band, from a fuller
 * node, never past the destination's band — while such a move exists. Moving x bytes from a to c lowers Σ capacity·(fill − ideal)²
 * iff 0 < x < 2·x*, x* = (fill_a − fill_c) / (1/cap_a + 1/cap_c); the best user is the one whose
 * bytes are nearest x*. Found by the lab: after a drain, one 30 MB mailbox on one node and the
 * small users on another left the emptied node empty. Exported for its property test.
 */
export function evenOut(w: Work, bands: Map<string, Band>, movable: (u: UserHome) => boolean, onto: Onto = anyTarget): void {
  const cap = new Map(w.targets.map((n) => [n.name, n.capacity]));
  const fill = (n: string) => w.load.get(n)! / cap.get(n)!;
  for (;;) {
    let best: { u: UserHome; to: string; gain: number } | undefined;
    for (const to of w.targets.map((n) => n.name).filter((n) => onto(n) && w.load.get(n)! < bands.get(n)!.lo)) {
      for (const from of w.targets.map((n) => n.name).filter((n) => fill(n) > fill(to))) {
        const ca = cap.get(from)!;
        const cc = cap.get(to)!;
        const xStar = (fill(from) - fill(to)) / (1 / ca + 1 / cc);
        for (const u of w.model.users) {
          if (w.home.get(u.user) !== from || u.bytes <= 0 || u.bytes >= 2 * xStar || u.bytes > w.capLeft || w.load.get(to)! + u.bytes > bands.get(to)!.hi || !movable(u)) continue;
          const gain = (u.bytes * (2 * xStar - u.bytes)) * (1 / ca + 1 / cc);
          if (best === undefined || gain > best.gain || (gain === best.gain && cmp(u.user, best.u.user) < 0)) best = { u, to, gain };
        }
      }
    }
    if (best === undefined || !w.move(best.u, best.to, "balance")) return;
  }
}

function round(w: Work, bands: Map<string, Band>, movable: (u: UserHome) => boolean, onto: Onto): number {
  const load = (n: string) => w.load.get(n)!;
  const { excess, deficit: anyDeficit } = requiredFlow(load, bands);
  if (excess <= 0 && anyDeficit <= 0) return 0;

  // Only nodes `onto` allows take anything: their deficits, and the surplus spread over their headroom.
  const give = new Map<string, number>();
  const take = new Map<string, number>();
  for (const [name, b] of bands) {
    give.set(name, Math.max(0, load(name) - b.hi));
    take.set(name, onto(name) ? Math.max(0, b.lo - load(name)) : 0);
  }
  const deficit = [...take.values()].reduce((s, t) => s + t, 0);
  if (excess >= deficit) {
    spread(take, excess - deficit, (name, b) => (onto(name) ? b.hi - Math.max(load(name), b.lo) : 0), bands);
  } else {
    spread(give, deficit - excess, (name, b) => Math.min(load(name), b.hi) - b.lo, bands);
  }

  const sources = ordered(give, w.targets);
  const dests = ordered(take, w.targets);
  const cands = candidates(w, new Set(sources), movable);
  let moved = 0;
  let i = 0;
  let j = 0;
  while (i < sources.length && j < dests.length && w.capLeft > 0) {
    const s = sources[i];
    const d = dests[j];
    const amount = Math.min(give.get(s)!, take.get(d)!);
    const limit = Math.min(load(s) - bands.get(s)!.lo, bands.get(d)!.hi - load(d), w.capLeft);
    let got = 0;
    for (const u of pickUsers(cands.get(s)!, movable, amount, limit)) {
      if (w.move(u, d, "balance")) got += u.bytes;
    }
    moved += got;
    give.set(s, give.get(s)! - got);
    take.set(d, take.get(d)! - got);
    // Short of the amount means this source has nothing that fits here: try the next source.
    if (give.get(s)! <= 0 || got < amount) i++;
    if (take.get(d)! <= 0) j++;
  }
  return moved;
}

/** Add `amount` to the quotas in proportion to each node's room (if any node has room). */
function spread(quota: Map<string, number>, amount: number, room: (n: string, b: Band) => number, bands: Map<string, Band>) {
  const rooms = [...bands].map(([n, b]) => [n, Math.max(0, room(n, b))] as const);
  const total = rooms.reduce((s, [, r]) => s + r, 0);
  if (total <= 0) return;
  const share = Math.min(1, amount / total);
  for (const [n, r] of rooms) quota.set(n, quota.get(n)! + r * share);
}

/** Nodes with a positive quota, largest first, ties by name. */
function ordered(quota: Map<string, number>, targets: PlacementNode[]): string[] {
  return targets
    .map((n) => n.name)
    .filter((n) => quota.get(n)! > 0)
    .sort((a, b) => quota.get(b)! - quota.get(a)! || cmp(a, b));
}

function candidates(w: Work, sources: Set<string>, movable: (u: UserHome) => boolean): Map<string, UserHome[]> {
  const out = new Map<string, UserHome[]>([...sources].map((s) => [s, []]));
  for (const u of w.model.users) {
    const home = w.home.get(u.user)!;
    if (sources.has(home) && movable(u)) out.get(home)!.push(u);
  }
  for (const list of out.values()) list.sort(bySizeDesc);
  return out;
}
