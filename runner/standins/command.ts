/**
 * Stand-ins for @pulumi/command (a Go plugin the npm package does not ship), following
 * pulumi-command's provider: `create` runs on create, `update` (or `create` again) on update with
 * the previous PULUMI_COMMAND_STDOUT/STDERR in the environment, `delete` on delete; changes to
 * `connection` or `triggers` replace, other input changes update; stdout/stderr are outputs with one
 * trailing newline trimmed; a non-zero exit fails the step; `connection` is a secret.
 *
 * Remote commands really run over SSH through rplan's one SSH transport (transports/ssh.ts): the
 * host key is pinned from the stack config (never trusted on first use) and the admin's key comes
 * from RPLAN_SSH_KEY or the SSH agent — credentials in `connection` are refused. Differences from
 * upstream: `environment` is exported by a prefix on the command line (upstream uses SSH setenv,
 * which sshd drops unless AcceptEnv allows it), and output is logged when the command ends.
 */
import { spawn } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import { shellQuote, sshConnection } from "../../transports/ssh";
import { deepEqual, isPropertyObject, makeSecret, PropertyMap, PropertyValue, UNKNOWN } from "../props";
import { CheckFailure, CheckResult, DiffResult, ReadResult, ResourcePlugin, Target } from "../providers/plugin";
import { PinnedHosts } from "./pinned-hosts";

type Log = (line: string) => void;
interface Output {
  stdout: string;
  stderr: string;
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

function env(p: PropertyMap, previous?: PropertyMap): Record<string, string> {
  const e: Record<string, string> = {};
  if (isPropertyObject(p.environment)) for (const [k, v] of Object.entries(p.environment)) e[k] = String(v);
  if (previous?.stdout) e.PULUMI_COMMAND_STDOUT = String(previous.stdout);
  if (previous?.stderr) e.PULUMI_COMMAND_STDERR = String(previous.stderr);
  return e;
}

function checkEnvironment(p: PropertyMap): CheckFailure[] {
  if (p.environment === undefined || p.environment === null) return [];
  if (!isPropertyObject(p.environment)) return [{ property: "environment", reason: "must be a map of names to strings" }];
  return Object.keys(p.environment)
    .filter((k) => !ENV_NAME.test(k))
    .map((k) => ({ property: `environment.${k}`, reason: "is not a valid environment variable name" }));
}

function trimmed(o: Output): Output {
  return { stdout: o.stdout.replace(/\n$/, ""), stderr: o.stderr.replace(/\n$/, "") };
}

function logOutput(log: Log, name: string, o: Output): void {
  for (const line of `${o.stdout}${o.stderr}`.split("\n").filter(Boolean)) log(`    [${name}] ${line}`);
}

function uniqueId(name: string): string {
  return name + crypto.randomBytes(4).toString("hex");
}

/** Shared shape of Command-like resources: which inputs replace and which update. */
abstract class CommandLike implements ResourcePlugin {
  readonly acceptSecrets = false;
  protected abstract readonly replaceKeys: readonly string[];

  async diff(_t: Target, _id: string, oldInputs: PropertyMap, _o: PropertyMap, news: PropertyMap): Promise<DiffResult> {
    const keys = [...new Set([...Object.keys(oldInputs), ...Object.keys(news)])];
    const changed = keys.filter((k) => !deepEqual(oldInputs[k] ?? null, news[k] ?? null));
    const replaces = changed.filter((k) => this.replaceKeys.includes(k));
    return { changes: changed.length ? "some" : "none", replaces, deleteBeforeReplace: false };
  }

  async read(_t: Target, id: string, _i: PropertyMap, outputs: PropertyMap): Promise<ReadResult> {
    return { id, outputs }; // upstream has no read either: the last outputs stand
  }

  abstract check(t: Target, olds: PropertyMap, news: PropertyMap): Promise<CheckResult>;
  abstract create(t: Target, inputs: PropertyMap): Promise<{ id: string; outputs: PropertyMap }>;
  abstract update(t: Target, id: string, oldInputs: PropertyMap, oldOutputs: PropertyMap, news: PropertyMap): Promise<PropertyMap>;
  abstract delete(t: Target, id: string, inputs: PropertyMap, outputs: PropertyMap): Promise<void>;
}

/**
 * `connection` with upstream's defaults, checked, as a secret. The host must be one the stack config
 * pins a key for — checked here, so a preview already refuses it, before any host is changed.
 */
function checkConnection(news: PropertyMap, hosts: PinnedHosts): { inputs: PropertyMap; failures: CheckFailure[] } {
  const c = isPropertyObject(news.connection) ? news.connection : {};
  const failures: CheckFailure[] = [];
  const port = c.port ?? 22;
  if (typeof c.host !== "string" || !c.host) failures.push({ property: "connection.host", reason: "is required" });
  else if (c.host !== UNKNOWN && typeof port === "number") {
    try {
      hosts.target("connection", c.host, port, "root");
    } catch (e) {
      failures.push({ property: "connection.host", reason: (e as Error).message.replace(/^connection: /, "") });
    }
  }
  for (const k of ["password", "privateKey", "privateKeyPassword"]) {
    if (c[k] !== undefined && c[k] !== null) {
      failures.push({ property: `connection.${k}`, reason: "rplan keeps SSH credentials out of the stack: use RPLAN_SSH_KEY or the SSH agent" });
    }
  }
  const connection = makeSecret({ ...c, port: c.port ?? 22, user: c.user ?? "root" });
  return { inputs: { ...news, connection }, failures };
}

/** command:*:Command — create/update/delete run a shell command; only where it runs differs. */
abstract class ShellCommand extends CommandLike {
  protected abstract run(t: Target, p: PropertyMap, command: string, previous?: PropertyMap): Promise<Output>;

  async create(t: Target, p: PropertyMap): Promise<{ id: string; outputs: PropertyMap }> {
    const out = typeof p.create === "string" ? await this.run(t, p, p.create) : { stdout: "", stderr: "" };
    return { id: uniqueId(t.name), outputs: { ...p, ...out } };
  }

  async update(t: Target, _id: string, _oi: PropertyMap, oldOutputs: PropertyMap, p: PropertyMap): Promise<PropertyMap> {
    const command = typeof p.update === "string" ? p.update : typeof p.create === "string" ? p.create : undefined;
    const out = command ? await this.run(t, p, command, oldOutputs) : { stdout: String(oldOutputs.stdout ?? ""), stderr: String(oldOutputs.stderr ?? "") };
    return { ...p, ...out };
  }

  async delete(t: Target, _id: string, _i: PropertyMap, outputs: PropertyMap): Promise<void> {
    if (typeof outputs.delete === "string") await this.run(t, outputs, outputs.delete, outputs);
  }
}

export class RemoteCommand extends ShellCommand {
  protected readonly replaceKeys = ["connection", "triggers"];

  constructor(
    private readonly hosts: PinnedHosts,
    private readonly log: Log,
  ) {
    super();
  }

  async check(_t: Target, _olds: PropertyMap, news: PropertyMap): Promise<CheckResult> {
    const { inputs, failures } = checkConnection(news, this.hosts);
    return { inputs, failures: [...failures, ...checkEnvironment(news)] };
  }

  protected async run(t: Target, p: PropertyMap, command: string, previous?: PropertyMap): Promise<Output> {
    const c = p.connection as Record<string, PropertyValue>;
    const target = this.hosts.target(`${t.type} ${t.name}`, String(c.host), Number(c.port), String(c.user));
    const conn = await sshConnection(target);
    const exports = Object.entries(env(p, previous)).map(([k, v]) => `export ${k}=${shellQuote(v)}; `);
    const r = await conn.exec(exports.join("") + command, { stdin: typeof p.stdin === "string" ? p.stdin : undefined, allowFailure: true });
    logOutput(this.log, t.name, r);
    if (r.code !== 0) throw new Error(`Process exited with status ${r.code}: running ${JSON.stringify(command)}:\n${r.stdout}${r.stderr}`);
    return trimmed(r);
  }
}

export class LocalCommand extends ShellCommand {
  protected readonly replaceKeys = ["triggers"];

  constructor(
    private readonly projectDir: string,
    private readonly log: Log,
  ) {
    super();
  }

  async check(_t: Target, _olds: PropertyMap, news: PropertyMap): Promise<CheckResult> {
    const failures = checkEnvironment(news);
    for (const k of ["assetPaths", "archivePaths"]) {
      if (Array.isArray(news[k]) && news[k].length > 0) failures.push({ property: k, reason: "is not supported by the stack runner's stand-in" });
    }
    return { inputs: news, failures };
  }

  protected run(t: Target, p: PropertyMap, command: string, previous?: PropertyMap): Promise<Output> {
    const interpreter = Array.isArray(p.interpreter) && p.interpreter.length > 0 ? p.interpreter.map(String) : ["/bin/sh", "-c"];
    const child = spawn(interpreter[0], [...interpreter.slice(1), command], {
      cwd: typeof p.dir === "string" ? p.dir : this.projectDir,
      env: { ...process.env, ...env(p, previous) },
      stdio: ["pipe", "pipe", "pipe"],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (d: Buffer) => out.push(d));
    child.stderr.on("data", (d: Buffer) => err.push(d));
    child.stdin.on("error", () => undefined); // a command that ignores its stdin must not crash the runner (EPIPE)
    child.stdin.end(typeof p.stdin === "string" ? p.stdin : undefined);
    return new Promise((resolve, reject) => {
      child.on("error", reject);
      child.on("close", (code) => {
        const o = { stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() };
        logOutput(this.log, t.name, o);
        if (code !== 0) return reject(new Error(`Process exited with status ${code}: running ${JSON.stringify(command)}:\n${o.stdout}${o.stderr}`));
        resolve(trimmed(o));
      });
    });
  }
}

/** command:remote:CopyFile — copies a local file to the host (mode kept); deleting leaves it. */
export class RemoteCopyFile extends CommandLike {
  protected readonly replaceKeys = ["connection", "triggers"];

  constructor(private readonly hosts: PinnedHosts) {
    super();
  }

  async check(_t: Target, _olds: PropertyMap, news: PropertyMap): Promise<CheckResult> {
    const { inputs, failures } = checkConnection(news, this.hosts);
    if (typeof news.localPath !== "string") failures.push({ property: "localPath", reason: "is required" });
    if (typeof news.remotePath !== "string") failures.push({ property: "remotePath", reason: "is required" });
    return { inputs, failures };
  }

  private async copy(t: Target, p: PropertyMap): Promise<void> {
    const c = p.connection as Record<string, PropertyValue>;
    const user = String(c.user);
    const conn = await sshConnection(this.hosts.target(`${t.type} ${t.name}`, String(c.host), Number(c.port), user));
    const local = String(p.localPath);
    const mode = (fs.statSync(local).mode & 0o777).toString(8).padStart(4, "0");
    await conn.writeFile(String(p.remotePath), fs.readFileSync(local), { mode, owner: user === "root" ? "root:root" : `${user}:` });
  }

  async create(t: Target, p: PropertyMap): Promise<{ id: string; outputs: PropertyMap }> {
    await this.copy(t, p);
    return { id: uniqueId(t.name), outputs: p };
  }

  async update(t: Target, _id: string, _oi: PropertyMap, _oo: PropertyMap, p: PropertyMap): Promise<PropertyMap> {
    await this.copy(t, p);
    return p;
  }

  async delete(): Promise<void> {
    // upstream leaves the copied file in place
  }
}
