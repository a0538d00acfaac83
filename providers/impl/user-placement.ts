/**
 * UserPlacement: every placed user's home, carried out. One resource for the whole placement (not
 * one per user): a no-op preview then costs one diff, not thousands (docs/move-users.md has the
 * numbers), and one update can bound the bytes all its moves copy together.
 *
 * - check (no I/O): every rule of planning/placement/moves.ts against the homes the last update
 *   carried out, and `moves`, the lines a reviewer reads ("alice: lab1 → lab3, 1.2 GB").
 * - diff (no I/O): the desired homes against the directory as the last update or refresh read it
 *   (`directory`); a user the directory did not have is refused; expired old copies and users an
 *   interrupted move left frozen are changes too.
 * - create/update: reads the directory on the master, then moves every user whose home differs
 *   (or who is frozen) with ops/quantum-move.ts, at most `limits.concurrency` at once, and removes
 *   old copies whose grace period is over. read: the directory's homes (refresh shows drift).
 * - delete: nothing on the hosts (users and their mail stay where they are).
 */
import type * as pulumi from "@pulumi/pulumi";
import { ldapiUrl } from "../../planning/mail/routing";
import { DesiredPlacement, describeMove, movesBetween, placementProblems } from "../../planning/placement/moves";
import { readDirectoryUsers, DirectoryUser } from "../../ops/directory-homes";
import { MoveNode, MoveReport, moveUser, removeOldCopy } from "../../ops/quantum-move";
import { SlapdControl } from "../../ops/slapd-control";
import { sshConnection, SshTarget } from "../../transports/ssh";
import { stableJson } from "./diff";
import { known, sshTarget } from "./common";

export interface PlacementNodeInput {
  readonly name: string;
  readonly state: "active" | "draining" | "revoked";
  /** Absent for revoked nodes: they are never contacted. */
  readonly ssh?: Omit<SshTarget, "node">;
  readonly vpnAddress: string;
  readonly storePath: string;
}

export interface UserPlacementInputs extends DesiredPlacement {
  readonly nodes: readonly PlacementNodeInput[];
  readonly master: string;
  readonly suffix: string;
  readonly ldapiSocket: string;
  /** Set by check: what this update moves, for reviewers. */
  readonly moves?: readonly string[];
}

export interface OldCopy {
  readonly user: string;
  readonly node: string;
  /** ms since the epoch when the move finished. */
  readonly since: number;
  /** Where a copy set aside on a new home lies (absent: the user's own directory on `node`). */
  readonly path?: string;
}

export interface UserPlacementOutputs extends UserPlacementInputs {
  /** uid → home, as the directory had it after the last update or refresh (every rplan user). */
  readonly directory: Record<string, string>;
  /** Users the directory shows frozen (an interrupted move; the next update finishes it). */
  readonly frozen: string[];
  readonly oldCopies: OldCopy[];
  readonly lastMoves: MoveReport[];
}

export async function check(olds: Partial<UserPlacementInputs>, news: UserPlacementInputs): Promise<pulumi.dynamic.CheckResult> {
  if (!known(news.homes) || !known(news.nodes)) return { inputs: news };
  const previous = olds.homes ?? {};
  const problems = placementProblems(news, previous);
  if (problems.length > 0) return { inputs: news, failures: problems.map((reason) => ({ property: "homes", reason })) };
  return { inputs: { ...news, moves: movesBetween(previous, news).map(describeMove) } };
}

export async function diff(_id: string, olds: UserPlacementOutputs, news: UserPlacementInputs): Promise<pulumi.dynamic.DiffResult> {
  const directory = olds.directory ?? {};
  const desired = { ...news, homes: news.homes ?? {}, sizes: news.sizes ?? {} };
  const missing = Object.keys(desired.homes).filter((u) => !(u in directory));
  if (missing.length > 0) {
    throw new Error(
      `the directory has no user ${missing.slice(0, 20).join(", ")}${missing.length > 20 ? ` (and ${missing.length - 20} more)` : ""} ` +
        "(as the last update or refresh read it): add them with `npm run ldap -- user put`, or refresh if they were added since",
    );
  }
  const work = movesBetween(directory, desired).length + (olds.frozen ?? []).length + expired(olds.oldCopies ?? [], news.limits?.graceSeconds ?? 0, Date.now()).length;
  // Inputs that only describe (sizes, limits, moves) never cause host work by themselves.
  const changes = work > 0 || stableJson(olds.homes) !== stableJson(news.homes);
  return { changes, replaces: [], deleteBeforeReplace: false };
}

function expired(copies: readonly OldCopy[], graceSeconds: number, now: number): OldCopy[] {
  return copies.filter((c) => c.since + graceSeconds * 1000 <= now);
}

export async function create(inputs: UserPlacementInputs): Promise<pulumi.dynamic.CreateResult> {
  return { id: "placement", outs: await apply(inputs, []) };
}

export async function update(_id: string, olds: UserPlacementOutputs, news: UserPlacementInputs): Promise<pulumi.dynamic.UpdateResult> {
  return { outs: await apply(news, olds.oldCopies ?? []) };
}

export async function read(id: string, props: UserPlacementOutputs): Promise<pulumi.dynamic.ReadResult> {
  const nodes = await connect(props);
  const users = await readDirectoryUsers(nodes.get(props.master)!.slapd, props.suffix);
  return { id, props: { ...props, ...directoryOutputs(users) } };
}

export async function delete_(): Promise<void> {
  // Users and their mail stay where they are: removing the resource only stops managing homes.
}
export { delete_ as delete };

function directoryOutputs(users: ReadonlyMap<string, DirectoryUser>): { directory: Record<string, string>; frozen: string[] } {
  const directory: Record<string, string> = {};
  for (const [u, d] of [...users].sort(([a], [b]) => (a < b ? -1 : 1))) directory[u] = d.home;
  return { directory, frozen: [...users.values()].filter((u) => u.frozen).map((u) => u.uid).sort() };
}

async function connect(inputs: UserPlacementInputs): Promise<Map<string, MoveNode>> {
  const live = inputs.nodes.filter((n) => n.state !== "revoked" && n.ssh);
  const conns = await Promise.all(live.map((n) => sshConnection(sshTarget({ node: n.name, ssh: n.ssh! }))));
  return new Map(live.map((n, i) => [n.name, { name: n.name, vpnAddress: n.vpnAddress, storePath: n.storePath, conn: conns[i], slapd: new SlapdControl(n.name, conns[i], ldapiUrl(inputs.ldapiSocket)) }]));
}

const log = (line: string) => process.stderr.write(`${line}\n`);

async function apply(inputs: UserPlacementInputs, oldCopies: readonly OldCopy[]): Promise<UserPlacementOutputs> {
  const nodes = await connect(inputs);
  const master = nodes.get(inputs.master);
  if (!master) throw new Error(`the directory master ${inputs.master} is not a live node`);
  const users = await readDirectoryUsers(master.slapd, inputs.suffix);
  const missing = Object.keys(inputs.homes).filter((u) => !users.has(u));
  if (missing.length > 0) throw new Error(`the directory has no user ${missing.join(", ")}: nothing was moved`);

  // Every user not where the placement wants it, and every user an interrupted move left frozen.
  const work = [...users.values()]
    .filter((u) => (inputs.homes[u.uid] !== undefined && inputs.homes[u.uid] !== u.home) || u.frozen)
    .map((u) => ({ uid: u.uid, from: u.home, to: inputs.homes[u.uid] ?? u.home }));
  const ctx = { nodes, master: inputs.master, suffix: inputs.suffix, log };
  const reports: MoveReport[] = [];
  const failures: string[] = [];
  let next = 0;
  const worker = async () => {
    while (next < work.length) {
      const w = work[next++];
      try {
        reports.push(await moveUser(ctx, w.uid, w.from, w.to));
      } catch (e) {
        failures.push(`${w.uid} (${w.from} → ${w.to}): ${(e as Error).message}`);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(inputs.limits.concurrency, work.length) }, worker));

  const now = Date.now();
  const copies: OldCopy[] = [
    ...oldCopies,
    ...reports.filter((r) => r.from !== r.to && r.resumed !== "already-done").map((r) => ({ user: r.user, node: r.from, since: now })),
    ...reports.filter((r) => r.setAside).map((r) => ({ user: r.user, node: r.to, since: now, path: r.setAside })),
  ];
  const kept: OldCopy[] = [];
  for (const c of copies) {
    const n = nodes.get(c.node);
    if (!n) continue; // revoked or gone: nothing left to remove
    if (c.since + inputs.limits.graceSeconds * 1000 > now) kept.push(c);
    else log(`[move] old copy of ${c.user} on ${c.node}${c.path ? ` (${c.path})` : ""}: ${await removeOldCopy(n, inputs.suffix, c.user, c.path)}`);
  }
  if (failures.length > 0) throw new Error(`${failures.length} of ${work.length} moves failed (each user is at one home and not frozen):\n${failures.map((f) => `  - ${f}`).join("\n")}`);
  const after = await readDirectoryUsers(master.slapd, inputs.suffix);
  return { ...inputs, ...directoryOutputs(after), oldCopies: kept, lastMoves: reports };
}
