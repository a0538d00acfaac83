/**
 * Throwaway slapd processes for tests, on THIS machine, touching nothing shared:
 * - the binary is Debian's slapd extracted by test/ldap/fetch-slapd.sh (no package installed, no
 *   maintainer script run), or $RPLAN_SLAPD_ROOT, or the system's /usr/sbin/slapd if present;
 * - each instance lives in its own temp directory (cn=config, database, pid, ldapi socket) and
 *   listens on its private ldapi socket and one 127.0.0.1 port; /etc/ldap is never read or written;
 * - the test starts and kills every instance it made (SIGTERM to the PID it spawned) and removes its
 *   directory. No network namespace, container, mount or device is involved.
 */
import { ChildProcess, execFileSync, spawn } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { baseEntries, behindSids, bootstrapLdif, DEFAULT_SLAPD_SETTINGS, defaultServerId, INDEXES, nodeIdentityDn, renderAcl, SlapdNodeSpec, SlapdSettings, treeDns } from "../../planning/ldap";
import { applyEntries } from "../../providers/impl/ldap-entries";
import { convergeConfig } from "../../ops/slapd-takeover";
import type { CommandRunner, StreamOpener } from "../../transports/ldap";
import { SlapdControl } from "../../ops/slapd-control";
import { ldapiUrl, sleep, withRootLdap } from "../../transports/ldap";
import type { ExecOptions, ExecResult } from "../../transports/ssh";

export interface SlapdDist {
  readonly slapd: string;
  readonly modulePath: string;
  readonly schemaDir: string;
  readonly env: NodeJS.ProcessEnv;
}

const has = (p: string) => fs.existsSync(p);

/** Where a slapd binary is, or why there is none (the tests then skip, saying so). */
export function findSlapd(): SlapdDist | string {
  if (process.getuid?.() !== 0) return "not root (root's SASL EXTERNAL identity over ldapi is what the providers use)";
  const tool = ["ldapsearch", "ldapmodify"].find((t) => !["/usr/bin", "/bin", "/usr/local/bin"].some((d) => has(`${d}/${t}`)));
  if (tool) return `${tool} not found (apt-get install ldap-utils)`;
  const roots = [process.env.RPLAN_SLAPD_ROOT && path.join(process.env.RPLAN_SLAPD_ROOT, "root"), path.resolve(__dirname, "../../node_modules/.cache/rplan-slapd/root"), "/"].filter(Boolean) as string[];
  for (const root of roots) {
    const slapd = path.join(root, "usr/sbin/slapd");
    if (!has(slapd) || !has(path.join(root, "usr/lib/ldap/back_mdb.so"))) continue;
    const libs = path.join(root, "usr/lib/x86_64-linux-gnu");
    return {
      slapd,
      modulePath: path.join(root, "usr/lib/ldap"),
      schemaDir: has(path.join(root, "etc/ldap/schema/core.ldif")) ? path.join(root, "etc/ldap/schema") : "/etc/ldap/schema",
      env: { ...process.env, LD_LIBRARY_PATH: root === "/" ? (process.env.LD_LIBRARY_PATH ?? "") : libs },
    };
  }
  const why = "no slapd binary: run test/ldap/fetch-slapd.sh (extracts Debian's slapd into node_modules/.cache without installing it)";
  // CI sets this: there, a missing slapd must fail the run instead of skipping the suites quietly.
  if (process.env.RPLAN_REQUIRE_SLAPD) throw new Error(`RPLAN_REQUIRE_SLAPD is set but ${why}`);
  return why;
}

/** Runs commands locally (the tests' stand-in for an SSH connection). */
export const localRunner: CommandRunner = {
  run(argv: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
    return new Promise((resolve, reject) => {
      const p = spawn(argv[0], argv.slice(1), { stdio: ["pipe", "pipe", "pipe"] });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      p.stdout.on("data", (d) => out.push(d));
      p.stderr.on("data", (d) => err.push(d));
      p.on("error", reject);
      p.on("close", (code) => {
        const r = { stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString(), code: code ?? -1 };
        if (r.code !== 0 && !opts.allowFailure) reject(new Error(`${opts.label ?? argv.join(" ")} failed (exit ${r.code}): ${r.stderr}`));
        else resolve(r);
      });
      // A command that exits without reading its stdin (e.g. a failed probe) must not fail the suite with EPIPE.
      p.stdin.on("error", () => undefined);
      p.stdin.end(opts.stdin ?? "");
    });
  },
};

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** One throwaway slapd. */
export class LocalSlapd {
  readonly ctl: SlapdControl;
  private constructor(
    readonly name: string,
    readonly dir: string,
    readonly port: number,
    readonly settings: SlapdSettings,
    private proc: ChildProcess,
  ) {
    this.ctl = new SlapdControl(name, localRunner, ldapiUrl(settings.ldapiSocket));
  }

  get socket(): string {
    return this.settings.ldapiSocket;
  }

  get url(): string {
    return `ldap://127.0.0.1:${this.port}/`;
  }

  /** Paths of a new instance: settings and the spec's directories point into `dir`. */
  static async prepare(dist: SlapdDist, name: string): Promise<{ dir: string; port: number; settings: SlapdSettings; paths: Pick<SlapdNodeSpec, "configDir" | "dataDir"> }> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `rplan-slapd-${name}-`));
    for (const d of ["run", "data"]) fs.mkdirSync(path.join(dir, d));
    const settings = { ...DEFAULT_SLAPD_SETTINGS, runDir: path.join(dir, "run"), ldapiSocket: path.join(dir, "run", "ldapi"), modulePath: dist.modulePath, schemaDir: dist.schemaDir };
    return { dir, port: await freePort(), settings, paths: { configDir: path.join(dir, "config"), dataDir: path.join(dir, "data") } };
  }

  /**
   * slapadd the bootstrap LDIF of `spec` (as the provider does on a node), then start slapd;
   * `existing`: start it on a cn=config directory that is already there.
   */
  static async start(dist: SlapdDist, name: string, prepared: Awaited<ReturnType<typeof LocalSlapd.prepare>>, spec: SlapdNodeSpec, opts: { existing?: boolean } = {}): Promise<LocalSlapd> {
    const { dir, port, settings } = prepared;
    if (!opts.existing) {
      fs.mkdirSync(spec.configDir);
      fs.writeFileSync(path.join(dir, "bootstrap.ldif"), bootstrapLdif(spec, settings));
      execFileSync(dist.slapd, ["-T", "add", "-n0", "-F", spec.configDir, "-l", path.join(dir, "bootstrap.ldif")], { env: dist.env, stdio: ["ignore", "ignore", "pipe"] });
    }
    const proc = spawn(dist.slapd, ["-h", `${ldapiUrl(settings.ldapiSocket)} ldap://127.0.0.1:${port}/`, "-F", spec.configDir, "-d", "0"], { env: dist.env, stdio: ["ignore", "ignore", "pipe"] });
    const s = new LocalSlapd(name, dir, port, settings, proc);
    await s.ctl.waitReady(10_000);
    return s;
  }

  /** A stream to this slapd's ldapi socket (what the SSH channel is on a node). */
  ldapiOpener(): StreamOpener {
    return (cb) => {
      const sock = net.connect({ path: this.socket });
      sock.once("connect", () => cb(undefined, sock));
      sock.once("error", (e) => cb(e));
    };
  }

  /** A TCP stream to this slapd from a chosen loopback source address (for the ring ACLs). */
  tcpOpener(localAddress = "127.0.0.1"): StreamOpener {
    return (cb) => {
      const sock = net.connect({ host: "127.0.0.1", port: this.port, localAddress });
      sock.once("connect", () => cb(undefined, sock));
      sock.once("error", (e) => cb(e));
    };
  }

  async stop(): Promise<void> {
    const p = this.proc;
    if (p.exitCode === null && p.signalCode === null) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => p.kill("SIGKILL"), 5000);
        p.once("exit", () => (clearTimeout(t), resolve()));
        p.kill("SIGTERM");
      });
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A node's SlapdNodeSpec in a throwaway cluster on loopback (the consumer's syncrepl points at its master). */
export function localSpec(o: {
  node: string;
  master: string;
  suffix: string;
  paths: Pick<SlapdNodeSpec, "configDir" | "dataDir">;
  acl: string[];
  /** The master's URL, asked for only when the node is a consumer (a master may not be started yet). */
  masterUrl: () => string;
  /** Where syncrepl pulls from (default the master; e.g. a dead port, for an unreachable provider). */
  providerUrl?: string;
}): SlapdNodeSpec {
  const dns = treeDns(o.suffix);
  return {
    node: o.node,
    serverId: defaultServerId(o.node),
    suffix: o.suffix,
    role: o.node === o.master ? "master" : "consumer",
    ...o.paths,
    listen: [],
    acl: o.acl,
    indexes: INDEXES,
    limits: [`dn.children="${dns.nodes}" time=unlimited size=unlimited`],
    ...(o.node === o.master
      ? {}
      : {
          syncrepl: { rid: 1, provider: o.providerUrl ?? o.masterUrl(), binddn: nodeIdentityDn(o.suffix, o.node), searchbase: o.suffix, retry: "1 60 5 +", networkTimeout: 5 },
          updateRef: o.masterUrl(),
        }),
  };
}

/** Wait until `consumer` holds every write `master` has (contextCSN), or fail after `timeoutMs`. */
export async function waitCaughtUp(consumer: LocalSlapd, master: LocalSlapd, suffix: string, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  const want = await master.ctl.contextCsn(suffix);
  while (behindSids(want, await consumer.ctl.contextCsn(suffix)).length > 0) {
    if (Date.now() > until) throw new Error(`${consumer.ctl.node} did not catch up with ${master.ctl.node}`);
    await sleep(20);
  }
}

/**
 * A standalone master ("n1") holding rplan's tree under `suffix`: where every suite that needs one
 * directory and no replication starts.
 */
export async function startSeededMaster(d: SlapdDist, name: string, suffix: string): Promise<LocalSlapd> {
  const p = await LocalSlapd.prepare(d, name);
  const dns = treeDns(suffix);
  const spec = localSpec({ node: "n1", master: "n1", suffix, paths: p.paths, acl: renderAcl({ suffix, systemDn: dns.system, nodesDn: dns.nodes, rings: [] }), masterUrl: () => "" });
  const slapd = await LocalSlapd.start(d, name, p, spec);
  await convergeConfig(slapd.ctl, spec, slapd.settings);
  await withRootLdap("n1", slapd.ldapiOpener(), (c) => applyEntries(c, { master: { node: "n1", ssh: {} as never }, socketPath: "", suffix, entries: baseEntries(suffix, "example.org"), prune: [] }, undefined));
  return slapd;
}
