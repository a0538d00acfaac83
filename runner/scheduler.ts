/**
 * How many steps run at once, and in what order they start — the engine's step executor
 * (pkg/resource/deploy/step_executor.go): a fixed number of workers (`--parallel`, default 4 × CPUs,
 * PULUMI_PARALLEL honoured: pkg/cmd/pulumi/operations/up.go), each taking the next piece of work
 * as it frees up; after a failure no new step starts and the running ones finish.
 */
import * as os from "os";

/** `--parallel` when not given: PULUMI_PARALLEL if it is a positive integer, else 4 × the CPUs. */
export function defaultParallel(env: string | undefined = process.env.PULUMI_PARALLEL): number {
  const n = Number(env);
  return Number.isInteger(n) && n > 0 ? n : 4 * os.cpus().length;
}

/** At most `limit` tasks at once; the others wait and start in the order they came. */
export class Pool {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly limit: number) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.running < this.limit) this.running++;
    else await new Promise<void>((start) => this.waiting.push(start)); // a finishing task hands over its place
    try {
      return await task();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }
}

/**
 * Runs `f` on every item, at most `limit` at once, each only once the items it waits for
 * (`after[i]`: indices; none if absent) have succeeded; of the items ready to start, the first in the list starts
 * first, so with a limit of 1 they run exactly in list order when that order respects `after`.
 * After a failure nothing more starts; it rejects, once the running ones have finished, with the
 * error (or all of them, one per line). A cycle, which no real program makes, never leaves an item out.
 */
export function runGraph<T>(items: readonly T[], after: readonly (readonly number[])[], limit: number, f: (item: T, index: number) => Promise<void>): Promise<void> {
  const blocking = items.map((_, i) => after[i]?.length ?? 0);
  const unblocks: number[][] = items.map(() => []);
  after.forEach((a, i) => a.forEach((j) => unblocks[j].push(i)));
  const started = items.map(() => false);
  const errors: Error[] = [];
  let running = 0;
  return new Promise((resolve, reject) => {
    const pump = (): void => {
      while (errors.length === 0 && running < limit) {
        let i = started.findIndex((s, k) => !s && blocking[k] === 0);
        if (i < 0 && running === 0) i = started.indexOf(false); // only a cycle is left
        if (i < 0) break;
        started[i] = true;
        running++;
        f(items[i], i)
          .then(() => unblocks[i].forEach((k) => blocking[k]--), (e: Error) => void errors.push(e))
          .finally(() => {
            running--;
            pump();
          });
      }
      if (running > 0) return;
      if (errors.length === 0) resolve();
      else reject(errors.length === 1 ? errors[0] : new Error(errors.map((e) => e.message).join("\n")));
    };
    pump();
  });
}
