/**
 * `npm run mesh -- status [--stack lab] [--config Pulumi.x.yaml] [--wait SECONDS] [--json]`
 *
 * Drill helper: probes the VPN mesh from every member of the stack's config over SSH and prints
 * the connectivity matrix (every node to every node over VPN addresses, round-trip ms) and, for
 * each revoked node, which members prove they refuse it. Never contacts a revoked node. Exits 1
 * when anything is wrong. `--wait` keeps probing failing members (e.g. right after an `up`).
 * `--json` prints the matrix, each member's refusal times and the findings as `{node, kind,
 * message, revoked?}` objects (see MeshFinding in planning/mesh/probes.ts).
 */
import { checkMesh, checkSpecFromConfig, formatReport } from "../ops/mesh-check";
import { readClusterConfig } from "../stack-file/config";
import { closeAllSsh } from "../transports/ssh";
import { LAB_STACK_FILES, optionValue, parseArgs, stackOf, useLabKeyFor } from "./options";

const USAGE = "usage: npm run mesh -- status [--stack <stack>] [--config <file>] [--wait <seconds>] [--json]";

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2), { valued: ["--stack", "--config", "--wait"], flags: ["--json"] }, USAGE);
  const stack = stackOf(args);
  const wait = Number(optionValue(args, "--wait") ?? 0);
  const json = args.flags.has("--json");
  if (args.positional.length !== 1 || args.positional[0] !== "status" || !(wait >= 0)) throw new Error(USAGE);
  const spec = checkSpecFromConfig(readClusterConfig({ stack, configFile: optionValue(args, "--config"), stackFiles: LAB_STACK_FILES }));
  useLabKeyFor(stack);
  const report = await checkMesh(spec, { timeoutMs: wait * 1000 });
  console.log(json ? JSON.stringify({ matrix: report.matrix, findings: report.findings, members: report.members.map((m) => ({ node: m.node, refusedAfterMs: m.refusedAfterMs })) }, null, 2) : formatReport(spec, report));
  if (!report.ok) process.exitCode = 1;
}

main()
  .catch((e: Error) => {
    console.error(`mesh: ${e.message}`);
    process.exitCode = 2;
  })
  .finally(() => closeAllSsh());
