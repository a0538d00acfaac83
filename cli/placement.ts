/**
 * `npm run placement -- <command> [--stack lab] [--config Pulumi.x.yaml]`
 *
 *   show                                   every user (home, standby, size, pin), then each node's fill
 *   sizes                                  measure every user's data on every live node (du over SSH); update bytes
 *   sync [--adopt-directory-homes]         add directory users missing from the file; report drift, never fix it silently
 *   plan add <node> | drain <node> | rebalance [--tolerance 0.03] [--max-bytes N] [--no-measure]
 *                                          measure, plan, print the plan and write the planned homes into the file,
 *                                          with users off revoked nodes promoted and every user's standby (planning/placement/standby.ts)
 *
 * The placement file (`rplan:placement`, docs/move-users.md) is the only thing written; nothing
 * moves until `pulumi up`. Every argument and the file are checked before any host is contacted.
 * Exit 1 = a node could not be measured; 2 = an error.
 */
import * as fs from "fs";
import type { ClusterConfig } from "../planning/config";
import {
  applyPlan,
  applySizes,
  completeRecord,
  DEFAULT_TOLERANCE,
  emptyPlacementRecord,
  PlacementInputError,
  planAddNode,
  planDrain,
  planRebalance,
  PlacementRecord,
  promoteRevoked,
  syncWithDirectory,
  toClusterState,
} from "../planning/placement";
import { directoryHomes, measureUserBytes, readStandbyStatus } from "../ops/placement";
import { standbyRows } from "../planning/quantum/standby-status";
import { readClusterConfig } from "../stack-file/config";
import { placementFilePath, readPlacementRecord, writePlacementRecord } from "../stack-file/placement";
import { closeAllSsh } from "../transports/ssh";
import { LAB_STACK_FILES, optionValue, parseArgs, stackOf, useLabKeyFor } from "./options";
import { formatPlan, formatShow, formatSizes, formatStandbys, formatSync, nextStep, table } from "./placement-report";

const USAGE =
  "usage: npm run placement -- show | standby | sizes | sync [--adopt-directory-homes] | plan add <node> | plan drain <node> | plan rebalance  [--tolerance T] [--max-bytes N] [--no-measure]  [--stack S] [--config F]";

/** The record, or one clear error when the stack names no placement file. */
function recordOf(cluster: ClusterConfig, allowMissing = false): PlacementRecord {
  const file = placementFilePath(cluster);
  if (file === undefined) throw new Error("this stack has no rplan:placement: add e.g. `rplan:placement: placement.<stack>.yaml` to its stack config");
  if (allowMissing && !fs.existsSync(file)) {
    console.log(`${file} does not exist yet: starting from an empty placement`);
    return emptyPlacementRecord();
  }
  return readPlacementRecord(cluster)!;
}

/** Measure, print what changed, and return the updated record (exit 1 when a node was not measured). */
async function measure(cluster: ClusterConfig, rec: PlacementRecord): Promise<PlacementRecord> {
  const measured = await measureUserBytes(cluster, Object.keys(rec.users));
  const result = applySizes(rec, measured);
  console.log(formatSizes(result, measured));
  if (measured.some((m) => m.error)) process.exitCode = 1;
  return result.record;
}

function numberOption(value: string | undefined, name: string, ok: (n: number) => boolean, what: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === "" || !ok(n)) throw new Error(`${name} needs ${what} (got ${JSON.stringify(value)})\n${USAGE}`);
  return n;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2), { valued: ["--stack", "--config", "--tolerance", "--max-bytes"], flags: ["--no-measure", "--adopt-directory-homes"] }, USAGE);
  const [cmd, op, node, ...extra] = args.positional;
  const stack = stackOf(args);
  const cluster = readClusterConfig({ stack, configFile: optionValue(args, "--config"), stackFiles: LAB_STACK_FILES });
  const planOnly = (flag: string) => {
    if (cmd !== "plan" && (args.flags.has(flag) || args.values.has(flag))) throw new Error(`${flag} is only for plan\n${USAGE}`);
  };
  ["--tolerance", "--max-bytes", "--no-measure"].forEach(planOnly);
  if (cmd !== "sync" && args.flags.has("--adopt-directory-homes")) throw new Error(`--adopt-directory-homes is only for sync\n${USAGE}`);
  useLabKeyFor(stack);

  if (cmd === "standby") {
    if (op !== undefined) throw new Error(`unknown arguments: ${args.positional.slice(1).join(" ")}\n${USAGE}`);
    if (!cluster.ldap) throw new Error("this stack has no rplan:ldap: homes live in the directory");
    const [{ statuses, errors }, homes] = await Promise.all([readStandbyStatus(cluster), directoryHomes(cluster)]);
    const rows = standbyRows(statuses, Object.fromEntries(homes), Date.now());
    console.log(rows.length === 0 ? "no standby status yet" : table(["user", "home", "standby", "state", "lag now", "last lag", "message"], rows));
    const missing = [...homes.keys()].filter((u) => !rows.some((r) => r[0] === u)).sort();
    if (missing.length > 0) console.log(`no status on its home (no standby, or no change copied yet): ${missing.join(", ")}`);
    for (const e of errors) console.error(e);
    if (errors.length > 0 || rows.some((r) => r[3] !== "ok")) process.exitCode = 1;
    return;
  }
  if (cmd === "show" || cmd === "sizes" || cmd === "sync") {
    if (op !== undefined) throw new Error(`unknown arguments: ${args.positional.slice(1).join(" ")}\n${USAGE}`);
    if (cmd === "show") return void console.log(formatShow(recordOf(cluster), cluster.nodes));
    if (cmd === "sizes") {
      const rec = await measure(cluster, recordOf(cluster));
      return void console.log(`wrote ${writePlacementRecord(cluster, rec)}`);
    }
    if (!cluster.ldap) throw new Error("this stack has no rplan:ldap: sync reads the users from the directory");
    const rec = recordOf(cluster, true);
    const result = syncWithDirectory(rec, await directoryHomes(cluster), cluster.nodes, { adoptDirectoryHomes: args.flags.has("--adopt-directory-homes") });
    console.log(formatSync(result));
    console.log(`wrote ${writePlacementRecord(cluster, result.record)}`);
    // A preview only knows the directory as the stack last read it: users added since need a refresh.
    return void console.log(`next: \`npm run stack -- refresh --stack ${stack}\` (the stack reads the directory's users), then preview and up`);
  }

  if (cmd !== "plan" || !["add", "drain", "rebalance"].includes(op ?? "") || extra.length > 0) throw new Error(USAGE);
  if ((op === "rebalance") !== (node === undefined)) throw new Error(`${op === "rebalance" ? "rebalance takes no node" : `plan ${op} needs a node`}\n${USAGE}`);
  if (node !== undefined && !cluster.nodes.some((n) => n.name === node)) throw new Error(`unknown node ${JSON.stringify(node)} (nodes: ${cluster.nodes.map((n) => n.name).join(", ")})`);
  if (op === "drain" && args.values.has("--tolerance")) throw new Error(`a drain moves only the drained node's users: --tolerance does not apply\n${USAGE}`);
  const tolerance = numberOption(optionValue(args, "--tolerance"), "--tolerance", (t) => t >= 0 && t < 1, "a fraction in [0, 1), e.g. 0.03") ?? DEFAULT_TOLERANCE;
  let rec = recordOf(cluster);
  const cap = numberOption(optionValue(args, "--max-bytes"), "--max-bytes", (n) => Number.isSafeInteger(n) && n >= 0, "a whole number of bytes") ?? rec.limits.maxBytesMoved;
  if (!args.flags.has("--no-measure")) rec = await measure(cluster, rec);
  // Users on revoked nodes are promoted first (onto their standby copy when there is one), so the
  // planner never plans a copy off a node that cannot be read.
  const { record: promoted, promotions } = promoteRevoked(rec, cluster.nodes);
  const state = toClusterState(promoted, cluster.nodes);
  const plan =
    op === "add" ? planAddNode(state, node!, { tolerance, maxBytesMoved: cap })
    : op === "drain" ? planDrain(state, node!, { maxBytesMoved: cap })
    : planRebalance(state, { tolerance, maxBytesMoved: cap });
  console.log(formatPlan(plan, cluster.nodes, cap));
  // Standbys after the moves: a user moved onto its standby gets a new one, preferably its old home.
  const previousHomes = Object.fromEntries(Object.entries(promoted.users).map(([u, p]) => [u, p.home]));
  const done = completeRecord(applyPlan(promoted, plan), cluster.nodes, { previousHomes });
  if (done.problems.length > 0) throw new PlacementInputError(done.problems);
  console.log(`\n${formatStandbys(promotions, done.changes)}`);
  const homesChanged = plan.moves.length > 0 || promotions.length > 0;
  const standbysChanged = done.changes.some((c) => c.from !== c.to);
  if (!homesChanged && !standbysChanged && args.flags.has("--no-measure")) return void console.log("the placement file is unchanged");
  const file = writePlacementRecord(cluster, done.record);
  console.log(!homesChanged && !standbysChanged ? `wrote the new sizes to ${file}; no home changed` : nextStep(cluster.placementFile ?? file, stack));
}

main()
  .catch((e: Error) => {
    console.error(`placement: ${e.message}`);
    process.exitCode = 2;
  })
  .finally(() => closeAllSsh());
