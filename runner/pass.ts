/**
 * One pass of the stack runner, in its own process (./worker.ts): a preview, the apply half of an
 * `up`, a refresh or a destroy. Config and state are loaded — and every problem with them reported
 * — before any plugin starts, so bad input stops here with nothing touched.
 */
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { loadStackConfig, StackConfig } from "../stack-file/config";
import { formatSteps, summaryLine } from "./display";
import { PolicyHost, PolicyViolation } from "./providers/policy-host";
import { ProviderRegistry } from "./providers/registry";
import { maskMap, PropertyMap } from "./props";
import { header, outputLines, violationLines } from "./report";
import { Registration } from "./registration";
import { findPassphrase, requirePassphrase } from "../stack-file/secrets";
import type { StackFiles } from "../stack-file/stack-files";
import { StateStore } from "./state";
import { lockState } from "./state-lock";
import { Step } from "./steps";
import type { Deployment } from "./deployment";

export type PassKind = "preview" | "apply" | "refresh" | "destroy";

export interface PassRequest {
  readonly pass: PassKind;
  readonly stack: string;
  readonly projectDir: string;
  readonly configFile?: string;
  readonly stateFile: string;
  readonly passphrase?: string;
  /** Where the stack's config and passphrase are when neither is given (sent over IPC: data only). */
  readonly stackFiles?: StackFiles;
  readonly policyConfig?: string;
  readonly program: string;
  readonly showDetail: boolean;
  /** Steps at once (`--parallel`). */
  readonly parallel: number;
  /** Type-check the program and the policy pack while loading them (`--type-check`). */
  readonly typeCheck: boolean;
}

export interface PassResult {
  readonly steps: Step[];
  readonly registrations: Registration[];
  readonly outputs: PropertyMap;
  readonly policyViolations: PolicyViolation[];
  readonly errors: string[];
  readonly durationMs: number;
}

export class InputError extends Error {}

export function projectName(projectDir: string): string {
  const file = path.join(projectDir, "Pulumi.yaml");
  if (!fs.existsSync(file)) throw new InputError(`no Pulumi.yaml in ${projectDir}: not a Pulumi project`);
  const doc = YAML.parse(fs.readFileSync(file, "utf8")) as { name?: unknown } | null;
  if (!doc || typeof doc.name !== "string") throw new InputError(`${file} has no project name`);
  return doc.name;
}

/** What the language host puts in the program's environment (read when the SDK first loads). */
function programEnvironment(req: PassRequest, project: string, config: StackConfig): void {
  Object.assign(process.env, {
    PULUMI_NODEJS_PROJECT: project,
    PULUMI_NODEJS_STACK: req.stack,
    PULUMI_NODEJS_ORGANIZATION: "organization",
    PULUMI_NODEJS_DRY_RUN: String(req.pass === "preview"),
    PULUMI_NODEJS_PARALLEL: String(req.parallel), // as the language host passes --parallel (this SDK does not read it back)
    PULUMI_NODEJS_ROOT_DIRECTORY: req.projectDir,
    PULUMI_CONFIG: JSON.stringify(config.values),
    PULUMI_CONFIG_SECRET_KEYS: JSON.stringify(config.secretKeys),
  });
}

export async function runPass(req: PassRequest, log: (line: string) => void): Promise<PassResult> {
  const started = Date.now();
  const project = projectName(req.projectDir);
  const config = loadStackConfig({ projectDir: req.projectDir, project, stack: req.stack, configFile: req.configFile, passphrase: req.passphrase, stackFiles: req.stackFiles });
  const passphrase =
    req.pass === "preview" ? findPassphrase(req.stack, req.passphrase, req.stackFiles) : requirePassphrase(req.stack, req.passphrase, `to ${req.pass} the stack`, req.stackFiles);
  const unlock = req.pass === "preview" ? () => undefined : lockState(req.stateFile, req.pass === "apply" ? "up" : req.pass, log);
  try {
    return await runLocked(req, project, config, passphrase, log, started);
  } finally {
    unlock();
  }
}

async function runLocked(req: PassRequest, project: string, config: StackConfig, passphrase: string | undefined, log: (line: string) => void, started: number): Promise<PassResult> {
  const state = StateStore.open(req.stateFile, { project, stack: req.stack, passphrase, configSalt: config.encryptionSalt });
  programEnvironment(req, project, config);

  log(header(req.pass, req.stack));
  reportInterrupted(req.pass, state, log);

  const providers = new ProviderRegistry({ projectDir: req.projectDir, project, config, log });
  let policy: Promise<PolicyHost | undefined> = Promise.resolve(undefined);
  const result = { steps: [] as Step[], registrations: [] as Registration[], outputs: {} as PropertyMap, policyViolations: [] as PolicyViolation[], errors: [] as string[] };
  try {
    if (req.pass === "refresh" || req.pass === "destroy") {
      const { refreshStack, destroyStack } = await import("./operations");
      result.steps = await (req.pass === "refresh" ? refreshStack : destroyStack)(state, providers, log, req.parallel);
    } else {
      providers.prestartDynamicHost();
      policy = PolicyHost.startIfPresent({ projectDir: req.projectDir, project, stack: req.stack, preview: req.pass === "preview", configValues: config.values, policyConfig: req.policyConfig, typeCheck: req.typeCheck, log });
      policy.catch(() => undefined); // its failure is reported where it is awaited, not as a stray rejection
      const d = await deploy(req, project, config, state, providers, policy, log, result);
      result.steps = d.steps;
      result.registrations = d.registrations;
      result.outputs = d.stackOutputs;
      result.policyViolations = d.violations;
    }
  } catch (e) {
    const message = (e as Error).message;
    if (!result.errors.includes(message)) result.errors.push(message);
  } finally {
    await providers.close();
    await (await policy.catch(() => undefined))?.close();
    if (req.pass !== "preview") state.compact();
  }
  printSummary(req, result, log);
  return { ...result, durationMs: Date.now() - started };
}

/**
 * Operations a killed run left in flight, reported as the CLI reports them ("Attempting to deploy or
 * update resources with N pending operations from previous deployment"). An interrupted update or
 * delete left its resource in state, so this run simply redoes it. An interrupted create left nothing
 * in state: where the CLI asks whether to import or clear it, the runner creates the resource again
 * if the program still declares it — this project's providers put an object in the same place for
 * the same inputs, so that overwrites whatever the interrupted create made — and keeps reporting it
 * until then; `refresh` clears it (the CLI's `refresh --clear-pending-creates`).
 */
function reportInterrupted(pass: PassKind, state: StateStore, log: (line: string) => void): void {
  for (const p of state.pendingOperations()) {
    const what = `${p.type} ${p.urn.split("::").pop()}`;
    log(p.operation !== "creating"
      ? `warning: a previous run was interrupted while ${p.operation} ${what}; it is still in state, so the next up redoes that step`
      : `warning: a previous run was interrupted while creating ${what}; whatever it made is not in state: ` +
        "the next up creates it again if the program still declares it, otherwise remove it from its host by hand");
  }
  if (pass === "refresh") state.clearPendingCreates().forEach((p) => p.operation === "creating" && log(`  cleared the interrupted create of ${p.urn}`));
  else if (pass !== "preview") state.settleInterrupted();
}

async function deploy(
  req: PassRequest,
  project: string,
  config: StackConfig,
  state: StateStore,
  providers: ProviderRegistry,
  policy: Promise<PolicyHost | undefined>,
  log: (line: string) => void,
  result: { errors: string[] },
): Promise<Deployment> {
  // Loaded only now: the Pulumi SDK reads its settings from the environment set above.
  const { Deployment } = await import("./deployment");
  const { evaluateProgram } = await import("./evaluate");
  const deployment = new Deployment({ preview: req.pass === "preview", stack: req.stack, project, state, providers, policy, log, parallel: req.parallel });
  const programErrors = await evaluateProgram({ projectDir: req.projectDir, program: req.program, project, stack: req.stack, preview: req.pass === "preview", config, deployment });
  // The engine's own errors say more than the program's echo of them ("failed to register …").
  result.errors.push(...(deployment.errors.length > 0 ? deployment.errors : programErrors));
  if (result.errors.length === 0) {
    try {
      await deployment.finish();
    } catch (e) {
      result.errors.push((e as Error).message);
    }
  }
  return deployment;
}

function printSummary(req: PassRequest, r: { steps: Step[]; outputs: PropertyMap; policyViolations: PolicyViolation[]; errors: string[] }, log: (l: string) => void): void {
  const lines: string[] = [];
  if (req.pass === "preview") lines.push(...formatSteps(r.steps, { showDetail: req.showDetail }));
  lines.push(...violationLines(r.policyViolations));
  if (r.errors.length === 0) lines.push(...outputLines(maskMap(r.outputs)));
  lines.push("");
  if (req.pass === "preview") lines.push(summaryLine(r.steps, "preview"));
  else if (req.pass === "refresh") lines.push(`Resources: ~ ${r.steps.filter((s) => s.op === "read" && s.diffs.length > 0).length} drifted, - ${r.steps.filter((s) => s.op === "delete").length} gone, ${r.steps.filter((s) => s.op === "read" && s.diffs.length === 0).length} unchanged`);
  else lines.push(summaryLine(r.steps, "done"));
  for (const e of r.errors) lines.push("", `error: ${e}`);
  lines.forEach(log);
}
