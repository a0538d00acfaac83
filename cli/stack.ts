/**
 * `npm run stack -- <op> …`: the stack runner's command line (see usage below and
 * docs/stack-runner.md). Exits non-zero on any error or mandatory policy violation.
 */
import * as path from "path";
import { RPLAN_PROJECT_DIR, runStack, StackOp, StackRunError } from "../runner";
import { projectName } from "../runner/pass";
import { fullKey, findStackConfigFile, setStackConfigValue } from "../stack-file/config";
import { LAB_STACK_FILES, optionValue, parseArgs, ParsedArgs, useLabKeyFor } from "./options";

const USAGE = `usage: npm run stack -- <preview|up|refresh|destroy> [--stack NAME] [--state FILE] [--config FILE]
                                 [--policy-config FILE] [--diff] [--type-check] [--parallel N]
       npm run stack -- config set [--secret] <key> <value> [--stack NAME] [--config FILE]

The stack runner is a TEST TOOL THAT STANDS IN FOR THE PULUMI CLI, which cannot be installed on this
machine. It evaluates the program with Pulumi's own runtime, drives dynamic resources through
@pulumi/pulumi's own dynamic-provider host over gRPC, stands in for @pulumi/random (passwords are
really generated), runs the policy pack, and keeps state with secrets encrypted by the stack passphrase. The engine's step logic
is its own. Where Pulumi is installed, use \`pulumi preview|up|refresh|destroy\`. See docs/stack-runner.md.

  preview        show what up would do (+ create, ~ update, +- replace, - delete); touches no host
  up             preview, then apply (stops before touching anything on an error or a mandatory violation)
  refresh        read every resource back and record drift
  destroy        delete every resource, dependents first
  --stack NAME   default: lab
  --state FILE   default: /var/lib/rplan-lab/stack-state.json for lab, else .rplan/state/<stack>.json
  --config FILE  default: Pulumi.<stack>.yaml (for lab, /var/lib/rplan-lab/Pulumi.lab.yaml as fallback)
  --diff         also print every property of created and deleted resources
  --type-check   type-check the program while loading it, as Pulumi's language host does
  --parallel N   run up to N resource operations at once (1: one at a time); default: $PULUMI_PARALLEL,
                 else 4 × the CPUs. Dependents always wait for what they depend on
Passphrase: PULUMI_CONFIG_PASSPHRASE, PULUMI_CONFIG_PASSPHRASE_FILE, or for lab /var/lib/rplan-lab/stack-passphrase.`;

type Args = ParsedArgs;
const parse = (argv: string[]) =>
  parseArgs(argv, { valued: ["--stack", "--state", "--config", "--policy-config", "--parallel"], flags: ["--diff", "--type-check", "--secret", "--help"] }, "");
const str = optionValue;

function configSet(args: Args, stack: string): void {
  const [, , key, value] = args.positional;
  if (args.positional[1] !== "set" || key === undefined || value === undefined) throw new Error("usage: config set [--secret] <key> <value>");
  const project = projectName(RPLAN_PROJECT_DIR);
  let file = str(args, "--config");
  if (!file) {
    try {
      file = findStackConfigFile(RPLAN_PROJECT_DIR, stack, undefined, LAB_STACK_FILES);
    } catch {
      file = path.join(RPLAN_PROJECT_DIR, `Pulumi.${stack}.yaml`);
    }
  }
  setStackConfigValue({ file, project, stack, key, value, secret: args.flags.has("--secret"), stackFiles: LAB_STACK_FILES });
  console.log(`set ${fullKey(project, key)}${args.flags.has("--secret") ? " (secret)" : ""} in ${file}`);
}

async function main(argv: string[]): Promise<number> {
  let args: Args;
  try {
    args = parse(argv);
  } catch (e) {
    console.error(`${(e as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const op = args.positional[0];
  if (args.flags.has("--help") || op === undefined) {
    console.log(USAGE);
    return op === undefined && !args.flags.has("--help") ? 2 : 0;
  }
  const stack = str(args, "--stack") ?? "lab";
  useLabKeyFor(stack);
  if (op === "config") {
    try {
      configSet(args, stack);
      return 0;
    } catch (e) {
      console.error(`error: ${(e as Error).message}`);
      return 1;
    }
  }
  if (!["preview", "up", "refresh", "destroy"].includes(op) || args.positional.length > 1) {
    console.error(`unknown command ${args.positional.join(" ")}\n\n${USAGE}`);
    return 2;
  }
  const parallel = str(args, "--parallel");
  if (parallel !== undefined && !/^[1-9][0-9]*$/.test(parallel)) {
    console.error(`--parallel needs a positive integer (got ${parallel})\n\n${USAGE}`);
    return 2;
  }
  try {
    await runStack({
      op: op as StackOp,
      stack,
      stackFiles: LAB_STACK_FILES,
      stateFile: str(args, "--state"),
      configFile: str(args, "--config"),
      policyConfig: str(args, "--policy-config"),
      showDetail: args.flags.has("--diff"),
      typeCheck: args.flags.has("--type-check"),
      parallel: parallel === undefined ? undefined : Number(parallel),
      log: (line) => console.log(line),
    });
    return 0;
  } catch (e) {
    const printed = e instanceof StackRunError ? e.printed : "";
    if (!printed.includes((e as Error).message)) console.error(`error: ${(e as Error).message}`);
    return 1;
  }
}

main(process.argv.slice(2)).then((code) => process.exit(code));
