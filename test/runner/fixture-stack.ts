/** Running the runner's fixture program (runner/fixture-program) in a temp dir, for the end-to-end runner tests. */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { FIXTURE_PROGRAM, runStack, RunStackOptions } from "../../runner/index";
import { ResourceState, StateStore } from "../../runner/state";

export const FILES = FIXTURE_PROGRAM;
export const PASSPHRASE = "test-pass";

export interface Env {
  dir: string;
  out: string;
  config: string;
  state: string;
}

export function env(): Env {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "runner-it-"));
  const out = path.join(dir, "out");
  fs.mkdirSync(out);
  return { dir, out, config: path.join(dir, "Pulumi.test.yaml"), state: path.join(dir, "state.json") };
}

export function writeConfig(e: Env, values: Record<string, string>): void {
  const lines = Object.entries({ "fixture:dir": e.out, ...values }).map(([k, v]) => `  ${k}: ${v}`);
  fs.writeFileSync(e.config, `config:\n${lines.join("\n")}\n`);
}

export const stack = (e: Env, op: RunStackOptions["op"], extra: Partial<RunStackOptions> = {}) =>
  runStack({ op, stack: "test", projectDir: FILES, configFile: e.config, stateFile: e.state, passphrase: PASSPHRASE, ...extra });

export const ops = (r: { steps: { op: string; name: string }[] }) => r.steps.filter((s) => s.op !== "same").map((s) => `${s.op} ${s.name}`);

/** The stack's state as the next run will see it (snapshot plus journal). */
export const savedState = (e: Env): StateStore => StateStore.open(e.state, { project: "fixture", stack: "test", passphrase: PASSPHRASE });

export const fileResources = (e: Env): ResourceState[] => savedState(e).all().filter((r) => r.type.endsWith("fixture:TextFile"));
