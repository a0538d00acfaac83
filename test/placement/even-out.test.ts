/**
 * The rebalance's last resort (planning/placement/balance.ts `evenOut`), on clusters of every shape
 * the other placement properties use (heavy-tailed sizes, empty accounts, pins, a cap): each move it
 * makes is, when it makes it, one of the moves it may make that lowers the cluster's unevenness
 * Φ = Σ capacity · (fill − ideal)² the most — computed here exactly from the loads, not with its
 * formula — and it stops only when no allowed move lowers Φ. Users of nearly equal size (the example in
 * rebalance.test.ts) cannot tell the best move from the worst; these can.
 */
import fc from "fast-check";
import { evenOut } from "../../planning/placement/balance";
import { readState } from "../../planning/placement/validate";
import { Band, Work } from "../../planning/placement/work";
import { mayBeHome } from "../../planning/node-roles";
import type { UserHome } from "../../planning/placement";
import { arbCluster } from "./arb";

/**
 * How much moving `bytes` from `from` to `to` lowers Φ, exactly (integers: Φ·C² = Σ (L·C − T·cap)² / cap
 * with C the targets' capacity and T every user's bytes), as gain = bytes·B / (cap_from·cap_to) up to a
 * positive factor common to every move. `margin` is B over its value for a move of 0 bytes: 1 − bytes / 2x*,
 * so a move lowers Φ iff margin > 0 (floats near 0 cannot tell; the checks leave them a hair of room).
 */
interface Gain {
  readonly num: bigint;
  readonly den: bigint;
  readonly margin: number;
}

function gainOf(w: Work, from: string, to: string, bytes: number): Gain {
  const cap = (n: string) => BigInt(w.targets.find((t) => t.name === n)!.capacity);
  const C = w.targets.reduce((s, n) => s + BigInt(n.capacity), 0n);
  const T = BigInt(w.total);
  const A = (n: string) => BigInt(w.load.get(n)!) * C - T * cap(n);
  const [ca, cc, x] = [cap(from), cap(to), BigInt(bytes)];
  const zero = 2n * (A(from) * cc - A(to) * ca);
  const B = zero - x * C * (ca + cc);
  return { num: x * B, den: ca * cc, margin: zero === 0n ? -1 : Number((B * 1_000_000_000n) / zero) / 1e9 };
}

/** a ≥ b · (1 − 1e-9) */
const atLeastAlmost = (a: Gain, b: Gain) => a.num * b.den * 1_000_000_000n >= b.num * a.den * 999_999_999n;

interface Option {
  readonly user: string;
  readonly to: string;
  readonly gain: Gain;
}

/**
 * Every move evenOut may make now (its rule, docs in balance.ts): a movable user of a target node
 * onto a target below its band, from a fuller node, never past the destination's band, under the
 * cap — with what it would lower Φ by.
 */
function options(w: Work, bands: Map<string, Band>, movable: (u: UserHome) => boolean): Option[] {
  const fill = (n: string) => w.load.get(n)! / w.targets.find((t) => t.name === n)!.capacity;
  const targets = new Set(w.targets.map((n) => n.name));
  const out: Option[] = [];
  for (const u of w.model.users) {
    const from = w.home.get(u.user)!;
    if (!targets.has(from) || u.bytes <= 0 || u.bytes > w.capLeft || !movable(u)) continue;
    for (const to of targets) {
      if (w.load.get(to)! >= bands.get(to)!.lo || fill(from) <= fill(to) || w.load.get(to)! + u.bytes > bands.get(to)!.hi) continue;
      out.push({ user: u.user, to, gain: gainOf(w, from, to, u.bytes) });
    }
  }
  return out;
}

describe("evenOut: the move that evens the cluster out most, each time", () => {
  it("each move lowers Φ at least as much as any other allowed move; it stops only when none lowers Φ", () => {
    let moves = 0;
    let choices = 0;
    fc.assert(
      fc.property(
        arbCluster({ maxUsers: 40 }),
        fc.constantFrom(0, 0.01, 0.03, 0.1),
        fc.option(fc.integer({ min: 0, max: 4_000_000_000 }), { nil: undefined }),
        (state, tolerance, cap) => {
          const model = readState(state, [], undefined);
          const targets = model.nodes.filter(mayBeHome);
          const movable = (w: Work) => (u: UserHome) => !model.pins.has(u.user) && !w.hasMoved(u.user);
          const w = new Work(model, targets, cap);
          const bands = w.bands(tolerance);
          evenOut(w, bands, movable(w));

          // Replay its moves in order on a fresh copy, checking each against every allowed move.
          const r = new Work(model, targets, cap);
          for (const m of w.moves) {
            const now = options(r, bands, movable(r));
            const made = now.find((o) => o.user === m.user && o.to === m.to && o.gain.margin > -1e-6);
            const better = now.filter((o) => made !== undefined && !atLeastAlmost(made.gain, o.gain)).map((o) => `${o.user} → ${o.to}`);
            expect({ move: m, allowed: made !== undefined, better }).toEqual({ move: m, allowed: true, better: [] });
            if (new Set(now.filter((o) => o.gain.margin > 0).map((o) => (Number(o.gain.num) / Number(o.gain.den)).toPrecision(6))).size > 1) choices++;
            r.move(model.byUser.get(m.user)!, m.to, "balance");
            moves++;
          }
          expect(options(r, bands, movable(r)).filter((o) => o.gain.margin > 1e-6)).toEqual([]);
        },
      ),
      { numRuns: 600 },
    );
    // The property is only worth something if evenOut often had better and worse moves to choose from.
    console.log(`evenOut property: ${moves} moves checked, ${choices} of them chosen among moves of different gains`);
    expect(moves).toBeGreaterThan(100);
    expect(choices).toBeGreaterThan(50);
  });
});
