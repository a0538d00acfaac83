/** Suggesting a home for new users: weighted rendezvous hashing on free space. */
import { rendezvous } from "./hash";
import { ClusterState, NewUser } from "./types";
import { USER_ID, Model, fail, isBytes, readState, show } from "./validate";
import { mayBeHome } from "../node-roles";

/**
 * Suggest a home for a user who has none yet. A pinned user gets its pin; otherwise weighted
 * rendezvous hashing over the active nodes, weight = free space (capacity − bytes placed there).
 * Free space already scales with capacity, and it tilts new users towards emptier nodes, so the
 * suggestions themselves pull fill towards the ideal. Deterministic: the same state (in any input
 * order) gives the same answer; changing one node's free space only moves suggestions to or from
 * that node. Throws PlacementInputError if the user is invalid or already has a home (placement
 * is stored: moving someone is a plan, not a new suggestion).
 */
export function suggestHome(state: ClusterState, user: string): string {
  return suggestHomes(state, [user])[0].node;
}

/**
 * Suggest homes for several new users in order; each suggestion counts the expected bytes of the
 * ones before it, as if they had been created one after the other.
 */
export function suggestHomes(state: ClusterState, users: readonly (string | NewUser)[]): { user: string; node: string }[] {
  const problems: string[] = [];
  const model = readState(state, problems);
  const wanted = readNewUsers(users, model, problems);
  const active = model.nodes.filter(mayBeHome);
  if (active.length === 0) problems.push("there is no active node to suggest");
  fail(problems);

  const load = new Map(active.map((n) => [n.name, 0]));
  for (const u of model.users) if (load.has(u.node)) load.set(u.node, load.get(u.node)! + u.bytes);
  return wanted.map(({ user, bytes }) => {
    const node = model.pins.get(user) ?? pick(user, active, load);
    load.set(node, load.get(node)! + bytes);
    return { user, node };
  });
}

function pick(user: string, active: Model["nodes"], load: Map<string, number>): string {
  const byFree = active.map((n) => ({ name: n.name, weight: n.capacity - load.get(n.name)! }));
  // Every node full: still answer (overfull is an operations problem, not a placement one).
  const chosen = rendezvous(user, byFree) ?? rendezvous(user, active.map((n) => ({ name: n.name, weight: n.capacity })));
  return chosen!;
}

function readNewUsers(users: unknown, model: Model, problems: string[]): { user: string; bytes: number }[] {
  if (!Array.isArray(users)) {
    problems.push("users to place must be an array");
    return [];
  }
  const seen = new Set<string>();
  const out: { user: string; bytes: number }[] = [];
  for (const raw of users) {
    const u: NewUser = typeof raw === "string" ? { user: raw } : (raw ?? {});
    const bytes = u.bytes ?? 0;
    if (typeof u.user !== "string" || !USER_ID.test(u.user)) {
      problems.push(`new user ${show(u.user)}: user id must match ${USER_ID.source}`);
    } else if (model.byUser.has(u.user)) {
      problems.push(`user ${show(u.user)} already lives on ${model.byUser.get(u.user)!.node}; moves are planned, not suggested`);
    } else if (seen.has(u.user)) {
      problems.push(`new user ${show(u.user)} is listed more than once`);
    } else if (!isBytes(bytes)) {
      problems.push(`new user ${show(u.user)}: bytes must be a non-negative whole number, got ${show(bytes)}`);
    } else {
      out.push({ user: u.user, bytes });
    }
    if (typeof u.user === "string") seen.add(u.user);
  }
  return out;
}
