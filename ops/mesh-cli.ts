/**
 * `npm run mesh -- status [--stack lab] [--config Pulumi.x.yaml] [--wait SECONDS] [--json]`
 *
 * Drill helper: probes the VPN mesh from every member of the stack's config over SSH and prints
 * the connectivity matrix (every node to every node over VPN addresses, round-trip ms) and, for
 * each revoked node, which members prove they refuse it. Never contacts a revoked node. Exits 1
 * when anything is wrong. `--wait` keeps probing failing members (e.g. right after an `up`).
 */
import { closeAllSsh } from "../transports/ssh";
import { takeStack, useLabKeyFor } from "./cli-env";
import { checkMesh, checkSpecFromConfig, formatReport } from "./mesh-check";
import { readStackConfig, stackConfigPath } from "./stack-config";

function takeOption(argv: string[], name: string): string | undefined {
  const i = argv.indexOf(name);
  if (i < 0) return undefined;
  const [, value] = argv.splice(i, 2);
  if (value === undefined) throw new Error(`${name} needs a value`);
  return value;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const stack = takeStack(argv);
  const file = takeOption(argv, "--config") ?? stackConfigPath(stack);
  const wait = Number(takeOption(argv, "--wait") ?? 0);
  const json = argv.includes("--json");
  const rest = argv.filter((a) => a !== "--json");
  if (rest.length !== 1 || rest[0] !== "status" || !(wait >= 0)) throw new Error("usage: npm run mesh -- status [--stack <stack>] [--config <file>] [--wait <seconds>] [--json]");
  useLabKeyFor(stack);
  const spec = checkSpecFromConfig(readStackConfig(file));
  const report = await checkMesh(spec, { timeoutMs: wait * 1000 });
  console.log(json ? JSON.stringify({ matrix: report.matrix, problems: report.problems, members: report.members.map((m) => ({ node: m.node, refusedAfterMs: m.refusedAfterMs })) }, null, 2) : formatReport(spec, report));
  if (!report.ok) process.exitCode = 1;
}

main()
  .catch((e: Error) => {
    console.error(`mesh: ${e.message}`);
    process.exitCode = 2;
  })
  .finally(() => closeAllSsh());
