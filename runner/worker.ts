/**
 * Child-process entry for one pass (./pass.ts). The Pulumi runtime is process-global and the
 * program is require()d, so every pass gets a fresh process; runStack (./index.ts) starts it with
 * ts-node, sends the request over IPC and receives log lines and the result back.
 */
import { PassRequest, PassResult, runPass } from "./pass";

export type WorkerMessage = { kind: "log"; line: string } | { kind: "done"; result: PassResult } | { kind: "failed"; message: string };

function send(m: WorkerMessage): Promise<void> {
  return new Promise((resolve) => process.send!(m, undefined, {}, () => resolve()));
}

process.once("message", (req: PassRequest) => {
  const lines: Promise<void>[] = [];
  const log = (line: string) => void lines.push(send({ kind: "log", line }));
  runPass(req, log).then(
    async (result) => {
      await Promise.all(lines);
      await send({ kind: "done", result });
      // A failed pass may leave the program's promises pending; a non-zero code keeps Pulumi's
      // exit hook from reporting them as leaks on top of the real error.
      process.exit(result.errors.length > 0 ? 2 : 0);
    },
    async (e: unknown) => {
      await Promise.all(lines);
      await send({ kind: "failed", message: e instanceof Error ? e.message : String(e) });
      process.exit(1);
    },
  );
});
