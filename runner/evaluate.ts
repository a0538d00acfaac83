/**
 * Runs the program the way @pulumi/pulumi's language host does (cmd/run/run.js): config handed
 * over as PULUMI_CONFIG, the program required inside `runInPulumiStack` (so its exports become the
 * stack's outputs and its resources the stack's children), an exported function called and
 * awaited, and every outstanding RPC awaited before the run counts as finished. Only the resource
 * monitor differs: it is ours (./monitor.ts), installed through Pulumi's mock hook.
 */
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { Deployment } from "./deployment";
import { RunnerMonitor } from "./monitor";

export interface EvaluateOptions {
  readonly projectDir: string;
  readonly program: string;
  readonly project: string;
  readonly stack: string;
  readonly preview: boolean;
  readonly config: { readonly values: Readonly<Record<string, string>>; readonly secretKeys: readonly string[] };
  readonly deployment: Deployment;
}

/** Evaluate the program to the end; returns the errors it raised (empty when it succeeded). */
export async function evaluateProgram(o: EvaluateOptions): Promise<string[]> {
  const errors: string[] = [];
  const onError = (e: unknown) => {
    const message = e instanceof Error ? e.message : String(e);
    if (!errors.includes(message)) errors.push(message);
  };
  // Kept for the life of this single-use process, like the language host's handlers: a rejected
  // registration can surface after the program returns and must not kill the runner.
  process.on("unhandledRejection", onError);
  process.on("uncaughtException", onError);
  pulumi.runtime.setAllConfig({ ...o.config.values }, [...o.config.secretKeys]);
  pulumi.runtime.setMockOptions(new RunnerMonitor(o.deployment, o.stack, o.project), o.project, o.stack, o.preview, "organization");
  const programPath = path.resolve(o.projectDir, o.program);
  // After a failed step, resources that depend on the failed one wait forever for it, and so would
  // the program and the SDK's final wait for outstanding RPCs: like the engine, stop waiting once
  // a step has failed and every step already started has finished.
  const failed = o.deployment.failedAndIdle();
  try {
    await Promise.race([
      pulumi.runtime.runInPulumiStack(async () => {
        const exported = require(programPath) as unknown;
        return await (typeof exported === "function" ? (exported as () => unknown)() : exported);
      }),
      failed,
    ]);
  } catch (e) {
    onError(e);
  }
  await Promise.race([pulumi.runtime.disconnect(), failed]);
  if (pulumi.log.hasErrors() && errors.length === 0) errors.push("the program logged errors (see above)");
  return [...errors];
}
