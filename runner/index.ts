/**
 * The stack runner: a test tool that stands in for the Pulumi CLI, which cannot be installed here.
 * It evaluates the program with Pulumi's runtime, drives dynamic resources through @pulumi/pulumi's
 * own dynamic-provider host over gRPC, stands in for @pulumi/command, @pulumi/tls and
 * @pulumi/random, runs the policy pack, and keeps encrypted state. See docs/stack-runner.md.
 *
 * `up` is a preview (nothing touched; any error or mandatory policy violation stops it) followed
 * by the update, each in a fresh process, as `pulumi up` previews before it applies.
 */
import { ChildProcess, fork } from "child_process";
import * as path from "path";
import * as readline from "readline";
import { PassKind, PassRequest, PassResult } from "./pass";
import { maskMap } from "./props";
import { defaultParallel } from "./scheduler";
import { defaultStateFile } from "./state";
import { hasChanges, Step } from "./steps";
import { stackFilesFor } from "../stack-file/stack-files";
import { RecordedResource, RunnerStackFiles, RunResult, RunStackOptions, RunStep, StackRunError } from "./types";
import type { WorkerMessage } from "./worker";

export * from "./types";

/**
 * Nothing that touches hosts runs until the stack's guard accepts every live node's address. The
 * lab's (LAB_STACK_FILES): its nodes live at 198.51.100.0/24 behind the lab bridge, and with the
 * lab down those addresses would be routed out of the machine.
 */
function assertHostsReachable(configFile: string | undefined, files: RunnerStackFiles, assertHostReachable: (host: string) => void): void {
  const { readClusterConfig } = require("../stack-file/config") as typeof import("../stack-file/config");
  const { isLive } = require("../planning/node-roles") as typeof import("../planning/node-roles");
  for (const n of readClusterConfig({ stack: files.stack, configFile, stackFiles: files }).nodes) if (isLive(n)) assertHostReachable(n.ssh.host);
}

/** The rplan checkout this runner belongs to. */
export const RPLAN_PROJECT_DIR = path.resolve(__dirname, "..");

/** The runner's own fixture program (project "fixture": files in a directory, no SSH), for its tests and benchmark. */
export const FIXTURE_PROGRAM = path.join(__dirname, "fixture-program");

const WORKER = path.join(__dirname, "worker.ts");

function startWorker(cwd: string, typeCheck: boolean, env: Readonly<Record<string, string>>): ChildProcess {
  // Without --type-check: tsconfig.json's ts-node options (swc, so transpile-only).
  const register = typeCheck ? require.resolve("./register-type-check.js") : require.resolve("ts-node/register/transpile-only");
  // The environment is passed explicitly: under jest, `process.env` is the test's own copy.
  return fork(WORKER, [], { cwd, env: { ...process.env, ...env }, execArgv: ["-r", register], stdio: ["ignore", "pipe", "pipe", "ipc"] });
}

/** Run one pass in a fresh process; what the program itself prints is passed on too. */
function runPassInWorker(req: PassRequest, log: (line: string) => void, typeCheck: boolean, env: Readonly<Record<string, string>>): Promise<PassResult> {
  const child = startWorker(req.projectDir, typeCheck, env);
  // The last lines the process wrote to stderr go into the error if it dies without reporting,
  // so a crash (a V8 fatal error, a signal) says what happened.
  const stderrTail: string[] = [];
  readline.createInterface({ input: child.stdout! }).on("line", log);
  readline.createInterface({ input: child.stderr! }).on("line", (line) => {
    stderrTail.push(line);
    if (stderrTail.length > 20) stderrTail.shift();
    log(line);
  });
  return new Promise((resolve, reject) => {
    let settled = false;
    child.on("message", (m: WorkerMessage) => {
      if (m.kind === "log") return log(m.line);
      settled = true;
      if (m.kind === "done") resolve(m.result);
      else reject(new Error(m.message));
    });
    // "close", not "exit": messages still in the IPC channel when the process exits come first.
    child.on("close", (code, signal) => {
      if (settled) return;
      const tail = stderrTail.length > 0 ? `; its last stderr lines:\n${stderrTail.join("\n")}` : "";
      reject(new Error(`the stack runner's ${req.pass} process died (${signal ?? `exit ${code}`}) before reporting${tail}`));
    });
    child.send(req);
  });
}

function runStep(s: Step): RunStep {
  return { op: s.op, type: s.type, name: s.name, urn: s.urn, aliasOf: s.aliasOf, diffs: s.diffs, detail: s.detail ?? [], startedAt: s.startedAt, endedAt: s.endedAt };
}

function recorded(p: PassResult): RecordedResource[] {
  return p.registrations.map((r) => ({
    urn: r.urn,
    type: r.type,
    name: r.name,
    parent: r.parent,
    custom: r.custom,
    inputs: maskMap(r.inputs) as Record<string, unknown>,
    dependencies: r.dependencies,
    propertyDependencies: r.propertyDependencies,
  }));
}

export async function runStack(opts: RunStackOptions): Promise<RunResult> {
  const started = Date.now();
  const projectDir = path.resolve(opts.projectDir ?? RPLAN_PROJECT_DIR);
  const files = stackFilesFor(opts.stack, opts.stackFiles);
  const stateFile = path.resolve(opts.stateFile ?? defaultStateFile(projectDir, opts.stack, files));
  const parallel = opts.parallel ?? defaultParallel(opts.env?.PULUMI_PARALLEL ?? process.env.PULUMI_PARALLEL);
  if (!Number.isInteger(parallel) || parallel < 1) throw new StackRunError(`parallel must be a positive integer (got ${parallel})`, "");
  const printed: string[] = [];
  const log = (line: string) => {
    if (line.startsWith("note: ") && printed.includes(line)) return; // once per run, not per pass
    printed.push(line);
    opts.log?.(line);
  };
  const request = (pass: PassKind): PassRequest => ({
    pass,
    stack: opts.stack,
    projectDir,
    configFile: opts.configFile && path.resolve(opts.configFile),
    stateFile,
    passphrase: opts.passphrase,
    stackFiles: files && { stack: files.stack, configFile: files.configFile, passphraseFile: files.passphraseFile, stateFile: files.stateFile, missingConfigHint: files.missingConfigHint },
    policyConfig: opts.policyConfig && path.resolve(opts.policyConfig),
    program: opts.program ?? "index.ts",
    showDetail: opts.showDetail ?? false,
    parallel,
    typeCheck: opts.typeCheck ?? false,
  });
  if (files?.assertHostReachable && opts.op !== "preview") assertHostsReachable(opts.configFile, files, files.assertHostReachable);
  const run = async (pass: PassKind) => {
    try {
      return await runPassInWorker(request(pass), log, opts.typeCheck ?? false, opts.env ?? {});
    } catch (e) {
      throw new StackRunError((e as Error).message, printed.join("\n"));
    }
  };
  const result = (p: PassResult, extra: Partial<RunResult> = {}): RunResult => ({
    op: opts.op,
    stack: opts.stack,
    steps: p.steps.map(runStep),
    resources: recorded(p),
    outputs: maskMap(p.outputs) as Record<string, unknown>,
    policyViolations: p.policyViolations,
    changed: hasChanges(p.steps),
    printed: printed.join("\n"),
    stateFile,
    timings: { totalMs: Date.now() - started },
    ...extra,
  });
  const stopIfFailed = (p: PassResult, what: string, extra: Partial<RunResult> = {}) => {
    if (p.errors.length > 0) throw new StackRunError(p.errors.join("\n"), printed.join("\n"), result(p, extra));
    const mandatory = p.policyViolations.filter((v) => v.enforcementLevel === "mandatory");
    if (mandatory.length > 0) {
      throw new StackRunError(`${mandatory.length} mandatory policy violation(s)${what}`, printed.join("\n"), result(p, extra));
    }
  };

  if (opts.op !== "up") {
    const p = await run(opts.op);
    stopIfFailed(p, "");
    return result(p, { timings: { totalMs: Date.now() - started, previewMs: opts.op === "preview" ? p.durationMs : undefined } });
  }
  const preview = opts.skipPreview ? undefined : await run("preview");
  const previewPrinted = printed.join("\n");
  if (preview) {
    stopIfFailed(preview, ": nothing was applied");
    log("");
  }
  const apply = await run("apply");
  const extra = {
    ...(preview ? { preview: { steps: preview.steps.map(runStep), printed: previewPrinted } } : {}),
    timings: { totalMs: Date.now() - started, previewMs: preview?.durationMs, applyMs: apply.durationMs },
  };
  stopIfFailed(apply, "", extra);
  return result(apply, extra);
}

