/**
 * The one option parser of the admin commands (`npm run stack|ldap|mesh|unlock|lab`), and their
 * shared set-up: which stack, the lab's own admin key when on the lab, and where the lab's stack
 * keeps its files (LAB_STACK_FILES: its config, passphrase and state, when the project has none).
 */
import * as fs from "fs";
import { SSH_KEY as LAB_SSH_KEY } from "../lab/state";
import { LAB_STACK_FILES } from "../lab/stack-files";

export { LAB_SSH_KEY, LAB_STACK_FILES };

export interface ParsedArgs {
  readonly positional: string[];
  /** `--name value` options, every value in the order given. */
  readonly values: ReadonlyMap<string, string[]>;
  readonly flags: ReadonlySet<string>;
}

export interface ArgSpec {
  /** Options that take a value (`--stack lab`). */
  readonly valued?: readonly string[];
  /** Options that may be given more than once (`--alias a --alias b`). */
  readonly repeatable?: readonly string[];
  /** Options without a value (`--json`). */
  readonly flags?: readonly string[];
}

/** Every problem with argv in one error: unknown options, missing values, options given twice. */
export function parseArgs(argv: readonly string[], spec: ArgSpec, usage: string): ParsedArgs {
  const valued = new Set(spec.valued ?? []);
  const repeatable = new Set(spec.repeatable ?? []);
  const knownFlags = new Set(spec.flags ?? []);
  const positional: string[] = [];
  const values = new Map<string, string[]>();
  const flags = new Set<string>();
  const problems: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (valued.has(a)) {
      const v = argv[i + 1];
      if (v === undefined) problems.push(`${a} needs a value`);
      else if (values.has(a) && !repeatable.has(a)) problems.push(`${a} given twice`);
      else values.set(a, [...(values.get(a) ?? []), v]);
      i++;
    } else if (knownFlags.has(a)) flags.add(a);
    else if (a.startsWith("--")) problems.push(`unknown option ${a}`);
    else positional.push(a);
  }
  if (problems.length > 0) throw new Error(`${problems.join("; ")}\n${usage}`);
  return { positional, values, flags };
}

/** The single value of an option, if given. */
export function optionValue(args: ParsedArgs, name: string): string | undefined {
  return args.values.get(name)?.[0];
}

/** `--stack NAME` (default: $RPLAN_STACK or "lab"). */
export function stackOf(args: ParsedArgs): string {
  return optionValue(args, "--stack") ?? process.env.RPLAN_STACK ?? "lab";
}

/** On the lab stack, use the lab's key unless the admin chose one (real stacks: agent or RPLAN_SSH_KEY). */
export function useLabKeyFor(stack: string): void {
  if (stack === "lab" && !process.env.RPLAN_SSH_KEY && fs.existsSync(LAB_SSH_KEY)) process.env.RPLAN_SSH_KEY = LAB_SSH_KEY;
}
