/**
 * `npm run status -- [--stack lab] [--config Pulumi.x.yaml] [--json]`
 *
 * Contacts every node that is not revoked over SSH with its pinned host keys and prints one line per
 * node: address, host key (OK, MISMATCH — refused before any login —, unreachable), encrypted mount
 * (unlocked, LOCKED). Revoked nodes are listed and never contacted. A preview never contacts a
 * host (check/diff do no I/O) and a no-op `up` contacts none either, so this (or `refresh`) is how a
 * swapped host key is noticed before an update needs the node.
 * Exit 0 = every contacted node OK and unlocked; 1 = a mismatch, an unreachable node or a locked
 * mount (each named); 2 = a usage or config error (no host contacted).
 */
import { formatHostStatus, hostStatus, hostStatusOk } from "../ops/host-status";
import { readClusterConfig } from "../stack-file/config";
import { closeAllSsh } from "../transports/ssh";
import { LAB_STACK_FILES, optionValue, parseArgs, stackOf, useLabKeyFor } from "./options";

const USAGE = "usage: npm run status -- [--stack <stack>] [--config <file>] [--json]";

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2), { valued: ["--stack", "--config"], flags: ["--json"] }, USAGE);
  if (args.positional.length > 0) throw new Error(`unknown arguments: ${args.positional.join(" ")}\n${USAGE}`);
  const stack = stackOf(args);
  const cluster = readClusterConfig({ stack, configFile: optionValue(args, "--config"), stackFiles: LAB_STACK_FILES });
  useLabKeyFor(stack);
  const rows = await hostStatus(cluster);
  console.log(args.flags.has("--json") ? JSON.stringify(rows, null, 2) : formatHostStatus(cluster, rows));
  if (!hostStatusOk(rows)) process.exitCode = 1;
}

main()
  .catch((e: Error) => {
    console.error(`status: ${e.message}`);
    process.exitCode = 2;
  })
  .finally(() => closeAllSsh());
