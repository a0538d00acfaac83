/** The stack runner's public types (see ./index.ts for runStack). */
import type { StackFiles } from "../stack-file/stack-files";
import type { PolicyViolation } from "./providers/policy-host";
import type { StepOp } from "./steps";

export type { PolicyViolation, StepOp };

export type StackOp = "preview" | "up" | "refresh" | "destroy";

/**
 * A stack's files kept outside the project (stack-file/stack-files.ts), and what must hold before
 * the runner touches its hosts. The lab's stack "lab": LAB_STACK_FILES in lab/stack-files.ts.
 */
export interface RunnerStackFiles extends StackFiles {
  /**
   * Throws if the node at `host` must not be contacted now. Called for every live node's SSH host
   * before an up, refresh or destroy of this stack starts anything (never for a preview).
   */
  readonly assertHostReachable?: (host: string) => void;
}

export interface RunStackOptions {
  readonly op: StackOp;
  readonly stack: string;
  /** The Pulumi project (where Pulumi.yaml is); default: the rplan checkout. */
  readonly projectDir?: string;
  /** Default: Pulumi.<stack>.yaml in the project, else `stackFiles.configFile`. */
  readonly configFile?: string;
  /** Default: `stackFiles.stateFile`, else .rplan/state/<stack>.json. */
  readonly stateFile?: string;
  /** Default: PULUMI_CONFIG_PASSPHRASE, PULUMI_CONFIG_PASSPHRASE_FILE, or `stackFiles.passphraseFile`. */
  readonly passphrase?: string;
  /**
   * Where this stack keeps its files outside the project, and its guard before hosts are touched;
   * ignored unless `stackFiles.stack` is `stack`. Runs of the lab's stack pass LAB_STACK_FILES
   * (lab/stack-files.ts): /var/lib/rplan-lab/{Pulumi.lab.yaml,stack-passphrase,stack-state.json}.
   */
  readonly stackFiles?: RunnerStackFiles;
  /** Policy pack config (the CLI's --policy-pack-config format); default policy/<stack>-config.json if present. */
  readonly policyConfig?: string;
  /** The program, relative to the project; default: index.ts. */
  readonly program?: string;
  /** Receives every printed line as it is printed. */
  readonly log?: (line: string) => void;
  /** Print every property of created and deleted resources too (`--diff`). */
  readonly showDetail?: boolean;
  /** Extra environment for the run's processes (program, providers), e.g. RPLAN_SSH_KEY. */
  readonly env?: Readonly<Record<string, string>>;
  /** Type-check the program while loading it, as the Pulumi language host does (slower). */
  readonly typeCheck?: boolean;
  /**
   * Steps at once (`--parallel`; 1: one at a time). Default, as the CLI's: PULUMI_PARALLEL (from `env`,
   * else this process's environment) if a positive integer, else 4 × the CPUs.
   */
  readonly parallel?: number;
  /**
   * `up` only: apply without a preview pass first (`pulumi up --skip-preview`). The apply checks
   * every resource against the policy pack before its step, as the preview would; what is lost is
   * the plan shown before anything is touched. For runs whose plan nobody reads (a test's setup).
   */
  readonly skipPreview?: boolean;
}

export interface RunStep {
  readonly op: StepOp;
  readonly type: string;
  readonly name: string;
  readonly urn: string;
  /**
   * The old URN this resource took over through an alias (renamed, re-parented or re-typed): it keeps
   * that resource's ID and outputs, and the old URN is not deleted.
   */
  readonly aliasOf?: string;
  /** Changed top-level properties: "~hostname", "+port", "-legacy". */
  readonly diffs: string[];
  /** The per-property lines printed under the step. */
  readonly detail: string[];
  /**
   * Wall clock (epoch ms): when the step's provider call started and when the step was done (for a
   * "same" step both are when it was decided). Independent steps may overlap (docs/stack-runner.md,
   * "Scheduling"); `steps` lists them in registration order (deletes after, in deletion order;
   * refresh in dependency order), not in the order they finished.
   */
  readonly startedAt?: number;
  readonly endedAt?: number;
}

/** A registration as the program made it; secrets shown as "[secret]", unknowns as "[unknown]". */
export interface RecordedResource {
  readonly urn: string;
  readonly type: string;
  readonly name: string;
  readonly parent: string;
  readonly custom: boolean;
  readonly inputs: Record<string, unknown>;
  readonly dependencies: readonly string[];
  readonly propertyDependencies: Readonly<Record<string, readonly string[]>>;
}

export interface RunResult {
  readonly op: StackOp;
  readonly stack: string;
  /** For up: the steps applied (the preview's are in `preview`). */
  readonly steps: RunStep[];
  readonly resources: RecordedResource[];
  /** Stack outputs, secrets masked. */
  readonly outputs: Record<string, unknown>;
  readonly policyViolations: PolicyViolation[];
  /** Whether anything was (for preview: would be) created, updated, replaced or deleted. */
  readonly changed: boolean;
  /** Everything printed, as one string. */
  readonly printed: string;
  readonly stateFile: string;
  /** Wall-clock milliseconds: the whole run, and per pass. */
  readonly timings: { readonly totalMs: number; readonly previewMs?: number; readonly applyMs?: number };
  /**
   * For up: the preview that was checked before anything was applied, and what it printed (as a
   * `preview` run's `printed`; absent with skipPreview).
   */
  readonly preview?: { readonly steps: RunStep[]; readonly printed: string };
}

/** A run that stopped; `printed` holds what was printed, `result` what is known (e.g. violations). */
export class StackRunError extends Error {
  constructor(
    message: string,
    readonly printed: string,
    readonly result?: RunResult,
  ) {
    super(message);
    this.name = "StackRunError";
  }
}
