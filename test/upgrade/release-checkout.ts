/**
 * The previous release, for the upgrade test (./upgrade.lab.test.ts): its commit (the one line of
 * ./previous-release), a build of it in a directory of its own (`git archive` of that commit,
 * `npm ci` with the project's npm cache), its own stack runner run there (`npm run stack -- …`, so it
 * finds the lab's stack files through its own lab/state.ts), and the stack outputs a run recorded.
 */
import { spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { RPLAN_PROJECT_DIR } from "../../runner";
import { projectName } from "../../runner/pass";
import { PropertyMap, stripSecretsMap } from "../../runner/props";
import { ROOT_STACK_TYPE } from "../../runner/registration";
import { StateStore } from "../../runner/state";
import { findPassphrase } from "../../stack-file/secrets";
import type { StackFiles } from "../../stack-file/stack-files";

export const PREVIOUS_RELEASE_FILE = path.join(__dirname, "previous-release");

/** The commit of the previous release: the file's one line, a full commit hash. */
export function previousReleaseCommit(file = PREVIOUS_RELEASE_FILE): string {
  const text = fs.readFileSync(file, "utf8").trim();
  if (!/^[0-9a-f]{40}$/.test(text)) throw new Error(`${file} must hold one line, the previous release's full commit hash (git rev-parse <tag>); it holds ${JSON.stringify(text.slice(0, 80))}`);
  return text;
}

/** The environment for another checkout's npm: this run's, without the settings of the npm that started it (its cache kept). */
function npmEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^npm_/i.test(k) || /^npm_config_cache$/i.test(k)) env[k] = v;
  delete env.INIT_CWD;
  return env;
}

/**
 * Run a command with its output appended to `logFile`; rejects with `what`, the log's path and its
 * last lines when it exits non-zero, cannot start, or outlives `timeoutMs`.
 */
export function runLogged(what: string, cmd: string, args: string[], o: { cwd: string; logFile: string; timeoutMs: number; env?: NodeJS.ProcessEnv }): Promise<void> {
  fs.appendFileSync(o.logFile, `\n$ (cd ${o.cwd} && ${cmd} ${args.join(" ")})\n`);
  const out = fs.openSync(o.logFile, "a");
  const tail = () => fs.readFileSync(o.logFile, "utf8").trimEnd().split("\n").slice(-40).join("\n");
  return new Promise<void>((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: o.cwd, env: o.env ?? process.env, stdio: ["ignore", out, out] });
    const timer = setTimeout(() => child.kill("SIGTERM"), o.timeoutMs);
    const fail = (why: string) => reject(new Error(`${what}: ${why} (whole output: ${o.logFile}); its last lines:\n${tail()}`));
    child.on("error", (e) => {
      clearTimeout(timer);
      fs.closeSync(out);
      fail(`could not start ${cmd}: ${e.message}`);
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      fs.closeSync(out);
      if (code === 0) resolve();
      else fail(signal ? `killed by ${signal}${signal === "SIGTERM" ? ` after ${o.timeoutMs / 1000} s` : ""}` : `exit ${code}`);
    });
  });
}

/**
 * The previous release built in `dir` (created; must not exist yet): the commit's tree from this
 * clone's history, its dependencies installed as its package-lock.json says, its provider bundle
 * built (npm ci runs the postinstall build). Fails naming the step that could not be done.
 */
export async function buildPreviousRelease(commit: string, dir: string, logFile: string): Promise<void> {
  const repo = RPLAN_PROJECT_DIR;
  const git = (args: string[], what: string) => runLogged(what, "git", ["-C", repo, ...args], { cwd: repo, logFile, timeoutMs: 120_000 });
  await git(["cat-file", "-e", `${commit}^{commit}`], `the previous release ${commit} (${PREVIOUS_RELEASE_FILE}) is not in the history of ${repo}: a shallow clone must fetch it (git fetch --unshallow)`);
  fs.mkdirSync(dir);
  const tar = `${dir}.tar`;
  await git(["archive", "--format=tar", `--output=${tar}`, commit], `cannot export the previous release ${commit} from ${repo}`);
  try {
    await runLogged(`cannot unpack the previous release ${commit}`, "tar", ["-xf", tar, "-C", dir], { cwd: dir, logFile, timeoutMs: 120_000 });
  } finally {
    fs.rmSync(tar, { force: true });
  }
  await runLogged(`the previous release ${commit} could not be built in ${dir} (npm ci)`, "npm", ["ci", "--no-audit", "--no-fund", "--prefer-offline"], { cwd: dir, logFile, timeoutMs: 900_000, env: npmEnv() });
}

/**
 * A build of the previous release made ahead by `npm test`'s lane beside the lab
 * (./prepare-previous-release.ts, test/side-by-side.js): off the lab lane's clock. `<dir>.ready`
 * holds the commit once the build is whole; `<dir>.failed` holds why it is not.
 */
export const PREPARED_RELEASE_ENV = "RPLAN_PREVIOUS_RELEASE_DIR";
export const preparedMarkers = (dir: string) => ({ ready: `${dir}.ready`, failed: `${dir}.failed` });

/** Builds the previous release into `dir` and leaves the marker that says how it went. */
export async function prepareRelease(commit: string, dir: string, logFile: string): Promise<void> {
  const m = preparedMarkers(dir);
  try {
    await buildPreviousRelease(commit, dir, logFile);
    fs.writeFileSync(m.ready, commit);
  } catch (e) {
    fs.writeFileSync(m.failed, (e as Error).message);
    throw e;
  }
}

/** Waits for a build prepareRelease makes elsewhere: resolves once it is ready for `commit`, rejects on its failure or after `timeoutMs`. */
export async function awaitPreparedRelease(dir: string, commit: string, timeoutMs: number, pollMs = 2000): Promise<void> {
  const m = preparedMarkers(dir);
  for (const end = Date.now() + timeoutMs; ; ) {
    if (fs.existsSync(m.failed)) throw new Error(`the previous release was not built in ${dir}: ${fs.readFileSync(m.failed, "utf8")}`);
    if (fs.existsSync(m.ready)) {
      const built = fs.readFileSync(m.ready, "utf8").trim();
      if (built !== commit) throw new Error(`${dir} holds the previous release ${built}, not ${commit}`);
      return;
    }
    if (Date.now() > end) throw new Error(`the previous release was not built in ${dir} within ${timeoutMs / 1000} s (no ${m.ready})`);
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

/** `npm run stack -- <args>` in the previous release's directory: its own runner and program. */
export function runPreviousStack(commit: string, dir: string, args: string[], logFile: string, timeoutMs: number): Promise<void> {
  // Its CLI transpiled, not type-checked again: that release was checked when it was made, and
  // type-checking its command line's imports took seconds of the test's one core (its passes
  // already load the program without a type check).
  return runLogged(`the previous release ${commit} failed: npm run stack -- ${args.join(" ")}`, "npm", ["run", "stack", "--", ...args], { cwd: dir, logFile, timeoutMs, env: { ...npmEnv(), TS_NODE_TRANSPILE_ONLY: "true" } });
}

/** The stack outputs a run recorded in a state file (on the root stack resource), secrets unwrapped. */
export function recordedStackOutputs(stateFile: string, stack: string, stackFiles: StackFiles): PropertyMap {
  const state = StateStore.open(stateFile, { project: projectName(RPLAN_PROJECT_DIR), stack, passphrase: findPassphrase(stack, undefined, stackFiles) });
  const root = state.all().find((r) => r.type === ROOT_STACK_TYPE && !r.delete);
  if (!root) throw new Error(`${stateFile} records no ${ROOT_STACK_TYPE} resource: no stack outputs`);
  return stripSecretsMap(root.outputs);
}
