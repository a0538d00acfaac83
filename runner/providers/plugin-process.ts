/**
 * Starting a plugin the way the engine does (sdk/go/common/resource/plugin/plugin.go): run it with
 * the engine's address as its argument, read the gRPC port it prints as its first line of stdout,
 * and show everything else it prints as that plugin's diagnostics.
 */
import { ChildProcess, spawn } from "child_process";
import * as readline from "readline";

/**
 * The engine address handed to plugins. Neither the dynamic-provider host nor the policy-pack host
 * ever dials it (they only require the argument; provider-side `pulumi.log` falls back to the
 * console because the engine never sets PULUMI_NODEJS_ENGINE for plugins), so no Engine service is
 * served; a plugin that did dial it would fail loudly, not silently.
 */
export const ENGINE_ADDRESS = "127.0.0.1:1";

export interface PluginProcess {
  readonly port: number;
  readonly child: ChildProcess;
  stop(): Promise<void>;
}

export function startPluginProcess(opts: {
  label: string;
  script: string;
  args: string[];
  /** Options for node itself, before the script (`-r <preload>`). */
  nodeArgs?: string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  log: (line: string) => void;
  timeoutMs?: number;
}): Promise<PluginProcess> {
  const child = spawn(process.execPath, [...(opts.nodeArgs ?? []), opts.script, ENGINE_ADDRESS, ...opts.args], {
    cwd: opts.cwd,
    env: opts.env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const stderr: string[] = [];
  readline.createInterface({ input: child.stderr! }).on("line", (line) => {
    stderr.push(line);
    opts.log(`[${opts.label}] ${line}`);
  });
  return new Promise((resolve, reject) => {
    let port: number | undefined;
    const timer = setTimeout(() => fail(`did not report its port within ${(opts.timeoutMs ?? 60000) / 1000}s`), opts.timeoutMs ?? 60000);
    const fail = (why: string) => {
      clearTimeout(timer);
      child.kill();
      reject(new Error(`${opts.label} ${why}${stderr.length ? ":\n" + stderr.slice(-20).join("\n") : ""}`));
    };
    child.on("error", (e) => fail(`could not start: ${e.message}`));
    child.on("exit", (code, signal) => {
      if (port === undefined) fail(`exited before it was ready (code ${code ?? signal})`);
    });
    readline.createInterface({ input: child.stdout! }).on("line", (line) => {
      if (port === undefined) {
        const n = Number(line.trim());
        if (!Number.isInteger(n) || n <= 0) return fail(`printed "${line}" instead of its port`);
        port = n;
        clearTimeout(timer);
        resolve({ port, child, stop: () => stopChild(child) });
      } else {
        opts.log(`[${opts.label}] ${line}`);
      }
    });
  });
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill("SIGTERM");
  });
}
