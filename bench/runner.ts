/**
 * Stack runner benchmark hooks. Each runStack starts fresh processes (a pass worker, the
 * dynamic-provider host, the policy pack when there is one), so these timings include that start-up.
 * Standalone:
 *   npx ts-node -e 'require("./bench/runner").benchRunnerFixture({ files: 50 }).then(console.log)'
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { performance } from "node:perf_hooks";
import { LAB_STACK_FILES } from "../lab/stack-files";
import { FIXTURE_PROGRAM, runStack, RunStackOptions } from "../runner";

export interface RunnerTimings {
  /** Resources in the stack after the up (components and the stack included). */
  readonly resources: number;
  /** `up`: preview + apply, wall clock, and each pass as measured inside its process. */
  readonly upSeconds: number;
  readonly upPreviewSeconds: number;
  readonly upApplySeconds: number;
  /** A preview right after the up, which must find nothing to do. */
  readonly noopPreviewSeconds: number;
  readonly noopPreviewChanged: boolean;
}

const seconds = (ms: number | undefined) => Number(((ms ?? 0) / 1000).toFixed(2));

/** Time an `up` and then a no-op preview of a stack (default: the lab stack with its own state). */
export async function benchRunner(opts: Omit<RunStackOptions, "op"> = { stack: "lab", stackFiles: LAB_STACK_FILES }): Promise<RunnerTimings> {
  let t = performance.now();
  const up = await runStack({ ...opts, op: "up" });
  const upSeconds = seconds(performance.now() - t);
  t = performance.now();
  const preview = await runStack({ ...opts, op: "preview" });
  return {
    resources: up.resources.length,
    upSeconds,
    upPreviewSeconds: seconds(up.timings.previewMs),
    upApplySeconds: seconds(up.timings.applyMs),
    noopPreviewSeconds: seconds(performance.now() - t),
    noopPreviewChanged: preview.changed,
  };
}

/**
 * The same on the runner's own fixture program (runner/fixture-program: dynamic resources writing
 * files, a RandomPassword, a component) with `files` extra files, in a temp dir; no SSH, no lab.
 */
export async function benchRunnerFixture(opts: { files: number; log?: (line: string) => void } = { files: 10 }): Promise<RunnerTimings & { readonly firstPreviewSeconds: number }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bench-runner-"));
  const out = path.join(dir, "out");
  fs.mkdirSync(out);
  const extra = JSON.stringify(Array.from({ length: opts.files }, (_, i) => `f${i}.txt`));
  fs.writeFileSync(path.join(dir, "Pulumi.bench.yaml"), `config:\n  fixture:dir: ${out}\n  fixture:greeting: hello\n  fixture:extraFiles: '${extra}'\n`);
  const base = {
    stack: "bench",
    projectDir: FIXTURE_PROGRAM,
    configFile: path.join(dir, "Pulumi.bench.yaml"),
    stateFile: path.join(dir, "state.json"),
    passphrase: "bench",
    log: opts.log,
  };
  try {
    const t = performance.now();
    await runStack({ ...base, op: "preview" });
    const firstPreviewSeconds = seconds(performance.now() - t);
    return { firstPreviewSeconds, ...(await benchRunner(base)) };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** One way of loading the program and the policy pack, timed over the rounds. */
export interface RunnerLoadTimings {
  readonly typeCheck: boolean;
  /** No-op preview (one pass) and no-op up (preview + apply), wall clock, one per round. */
  readonly previewSeconds: number[];
  readonly upSeconds: number[];
}

/**
 * The runner's default (swc transpiles the program, the pack is not type-checked) against
 * `--type-check` (both type-checked by TypeScript, as the Pulumi CLI's language host and policy
 * analyzer load them), on a stack with nothing to do: what every pass pays before any step. The
 * two ways alternate within each round, the first swapping every round. Default: the lab stack.
 */
export async function benchRunnerLoading(rounds: number, opts: Omit<RunStackOptions, "op" | "typeCheck"> = { stack: "lab", stackFiles: LAB_STACK_FILES }): Promise<RunnerLoadTimings[]> {
  const ways: RunnerLoadTimings[] = [false, true].map((typeCheck) => ({ typeCheck, previewSeconds: [], upSeconds: [] }));
  const time = async (op: "preview" | "up", typeCheck: boolean) => {
    const t = performance.now();
    const r = await runStack({ ...opts, op, typeCheck });
    if (r.changed) throw new Error(`the runner bench needs a stack with nothing to do, but ${op} changed it`);
    return seconds(performance.now() - t);
  };
  await time("up", false); // warm the file cache
  for (let round = 0; round < rounds; round++) {
    for (const way of round % 2 === 0 ? ways : [...ways].reverse()) {
      way.previewSeconds.push(await time("preview", way.typeCheck));
      way.upSeconds.push(await time("up", way.typeCheck));
    }
  }
  return ways;
}
