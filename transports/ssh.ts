/**
 * The one SSH transport: every host operation in rplan goes through here.
 *
 * - Host keys are pinned from the stack config; a node whose presented key is not pinned is refused
 *   with a message naming the node (never trust on first use).
 * - Auth is the admin's own: a key file named by RPLAN_SSH_KEY / the target, or the SSH agent.
 *   No private key ever enters the stack.
 * - One connection per host per process, reused by every command (the dynamic-provider host is one
 *   process per deployment, so an `up` opens one connection per node).
 * - Arguments are quoted here, data travels on stdin, files are written atomically.
 * - Optional SOCKS5 proxy per node (admins reach nodes over Tor).
 * - A lab address is reached only over the lab bridge (transports/lab-route.ts): with the lab down
 *   it would leave through the uplink, so it is refused before any packet.
 * - Connecting (TCP, proxy and SSH handshake) is bounded in time: a dead node fails, never hangs.
 */
import * as crypto from "crypto";
import * as dns from "dns";
import * as fs from "fs";
import { Client, ClientChannel, ConnectConfig } from "ssh2";
import { SocksClient } from "socks";
import { Duplex } from "stream";
import { checkLabRoute, isIpLiteral } from "./lab-route";

/** Where and how to reach one node. */
export interface SshTarget {
  /** Node name, used in every message. */
  readonly node: string;
  readonly host: string;
  readonly port?: number;
  readonly user?: string;
  /** Pinned public host keys, "type base64" (comment optional). At least one. */
  readonly hostKeys: readonly string[];
  /** Admin private key file; defaults to $RPLAN_SSH_KEY, then the agent at $SSH_AUTH_SOCK. */
  readonly privateKeyPath?: string;
  /** socks5://host:port (e.g. a local Tor client). */
  readonly proxy?: string;
}

export interface ExecResult {
  readonly stdout: string;
  readonly stderr: string;
  readonly code: number;
}

export interface ExecOptions {
  /** Data for the command's stdin (secrets go here, never in argv). */
  readonly stdin?: string | Buffer;
  /** Resolve with a non-zero code instead of throwing. */
  readonly allowFailure?: boolean;
  /** What to call the command in errors instead of its text (e.g. when the text is long). */
  readonly label?: string;
}

/** Raised for host-key mismatches, unreachable nodes and failed commands; always names the node. */
export class SshError extends Error {
  constructor(
    message: string,
    readonly node: string,
    readonly code?: number,
  ) {
    super(message);
    this.name = "SshError";
  }
}

/** The node presented a host key that is not pinned: refused before authenticating. */
export class HostKeyMismatch extends SshError {
  constructor(message: string, node: string) {
    super(message, node);
    this.name = "HostKeyMismatch";
  }
}

/** A lab address the kernel would not send over the lab bridge: refused, nothing was sent. */
export class OffLabRoute extends SshError {
  constructor(message: string, node: string) {
    super(message, node);
    this.name = "OffLabRoute";
  }
}

/** The server refused a new channel (a transient session limit): safe to retry, nothing ran. */
class ChannelRefused extends SshError {}

/** Quote one argument for a POSIX shell. */
export function shellQuote(arg: string): string {
  if (arg === "") return "''";
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(arg)) return arg;
  return "'" + arg.replace(/'/g, "'\\''") + "'";
}

/** Join argv into one shell command line, each argument quoted. */
export function shellCommand(argv: readonly string[]): string {
  return argv.map(shellQuote).join(" ");
}

interface PinnedKey {
  readonly type: string;
  readonly blob: Buffer;
}

/** Parse "type base64 [comment]" and check the blob names the same type. */
export function parseHostKey(line: string): PinnedKey {
  const [type, b64] = line.trim().split(/\s+/);
  const blob = Buffer.from(b64 ?? "", "base64");
  if (!type || !b64 || blob.length < 4) throw new Error(`not an OpenSSH public key: "${line}"`);
  const len = blob.readUInt32BE(0);
  if (blob.subarray(4, 4 + len).toString() !== type) {
    throw new Error(`public key says "${type}" but its blob is of another type`);
  }
  return { type, blob };
}

/** SHA256 fingerprint as OpenSSH prints it. */
export function fingerprint(blob: Buffer): string {
  return "SHA256:" + crypto.createHash("sha256").update(blob).digest("base64").replace(/=+$/, "");
}

/** The host-key check: is the presented key blob one of the pinned keys (byte for byte)? */
export function hostKeyMatches(pinned: readonly string[], presented: Buffer): boolean {
  return pinned.map(parseHostKey).some((k) => k.blob.equals(presented));
}

/** Which host-key algorithms to ask for so the server presents a key we pinned. */
function hostKeyAlgorithms(keys: readonly PinnedKey[]): string[] {
  const algos = new Set<string>();
  for (const k of keys) {
    if (k.type === "ssh-rsa") ["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"].forEach((a) => algos.add(a));
    else algos.add(k.type);
  }
  return [...algos];
}

/** One open connection to one node. */
export class SshConnection {
  /**
   * sshd allows 10 sessions per connection by default (MaxSessions), and frees a slot a little after
   * the channel closes on our side: stay well below it and retry a refused channel open.
   */
  private static readonly maxChannels = 6;
  private active = 0;
  private readonly waiting: Array<() => void> = [];
  /** Commands in flight, failed at once if the connection drops (a vanished node must not hang an update). */
  private readonly inFlight = new Set<(e: Error) => void>();
  private lostWith?: Error;

  constructor(
    readonly target: SshTarget,
    private readonly client: Client,
  ) {}

  /** Run a shell command line. Throws SshError on a non-zero exit unless allowFailure. */
  async exec(command: string, opts: ExecOptions = {}): Promise<ExecResult> {
    await this.acquire();
    try {
      const result = await this.execWithRetry(command, opts.stdin);
      if (result.code !== 0 && !opts.allowFailure) {
        const what = opts.label ?? command;
        const detail = (result.stderr || result.stdout).trim().split("\n").slice(-5).join("\n");
        throw new SshError(`[${this.target.node}] \`${what}\` failed (exit ${result.code}): ${detail}`, this.target.node, result.code);
      }
      return result;
    } finally {
      this.release();
    }
  }

  /** Run argv with every argument quoted. */
  run(argv: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
    return this.exec(shellCommand(argv), { label: opts.label ?? argv.join(" "), ...opts });
  }

  /**
   * Write a file atomically: a temp file in the same directory (created 0600 by mktemp), mode and
   * owner set before any content, content from stdin, then rename over the target.
   */
  async writeFile(path: string, content: string | Buffer, opts: { mode?: string; owner?: string } = {}): Promise<void> {
    const script =
      'set -eu; d=$(dirname "$1"); t=$(mktemp "$d/.rplan.XXXXXX"); trap \'rm -f "$t"\' EXIT; ' +
      'chmod "$2" "$t"; chown "$3" "$t"; cat > "$t"; mv -f "$t" "$1"; trap - EXIT';
    await this.run(["sh", "-c", script, "sh", path, opts.mode ?? "0644", opts.owner ?? "root:root"], {
      stdin: content,
      label: `write ${path}`,
    });
  }

  /** Read a file; undefined when it does not exist. */
  async readFile(path: string): Promise<string | undefined> {
    const r = await this.run(["sh", "-c", 'test -e "$1" || exit 3; cat "$1"', "sh", path], { allowFailure: true });
    if (r.code === 3) return undefined;
    if (r.code !== 0) throw new SshError(`[${this.target.node}] cannot read ${path}: ${r.stderr.trim()}`, this.target.node, r.code);
    return r.stdout;
  }

  /**
   * A byte stream to a Unix socket (OpenSSH streamlocal forwarding) or a TCP port on the node's
   * loopback, through this connection: how the LDAP transport reaches slapd without a network port.
   */
  openStream(endpoint: { readonly socketPath: string } | { readonly host: "127.0.0.1"; readonly port: number }, cb: (err: Error | undefined, stream?: ClientChannel) => void): void {
    if (this.lostWith) return cb(this.lostWith);
    if ("socketPath" in endpoint) this.client.openssh_forwardOutStreamLocal(endpoint.socketPath, cb);
    else this.client.forwardOut("127.0.0.1", 0, endpoint.host, endpoint.port, cb);
  }

  close(): void {
    this.client.end();
  }

  /** The connection dropped: fail every command in flight and any later one. */
  lost(reason: string): void {
    this.lostWith = new SshError(`[${this.target.node}] connection lost: ${reason}`, this.target.node);
    for (const fail of this.inFlight) fail(this.lostWith);
    this.inFlight.clear();
  }

  private async execWithRetry(command: string, stdin: string | Buffer | undefined): Promise<ExecResult> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.execOnce(command, stdin);
      } catch (e) {
        if (!(e instanceof ChannelRefused) || attempt >= 5) throw e;
        await new Promise((r) => setTimeout(r, 50 * 2 ** attempt));
      }
    }
  }

  private execOnce(command: string, stdin: string | Buffer | undefined): Promise<ExecResult> {
    if (this.lostWith) return Promise.reject(this.lostWith);
    return new Promise<ExecResult>((resolve, reject) => {
      this.inFlight.add(reject);
      const done = () => this.inFlight.delete(reject);
      this.client.exec(command, (err: Error | undefined, stream: ClientChannel) => {
        if (err) {
          done();
          return reject(new ChannelRefused(`[${this.target.node}] cannot start command: ${err.message}`, this.target.node));
        }
        const out: Buffer[] = [];
        const errOut: Buffer[] = [];
        let code = -1;
        stream.on("data", (d: Buffer) => out.push(d));
        stream.stderr.on("data", (d: Buffer) => errOut.push(d));
        stream.on("exit", (c: number | null, signal?: string) => (code = c ?? (signal ? 128 : -1)));
        stream.on("close", () => {
          done();
          resolve({ stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(errOut).toString(), code });
        });
        stream.end(stdin ?? undefined);
      });
    });
  }

  private acquire(): Promise<void> {
    if (this.active < SshConnection.maxChannels) {
      this.active++;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiting.push(() => (this.active++, resolve())));
  }

  private release(): void {
    this.active--;
    this.waiting.shift()?.();
  }
}

const pool = new Map<string, Promise<SshConnection>>();
let opened = 0;

/** Counters for benchmarks: how many TCP/SSH connections this process opened. */
export function sshStats(): { connectionsOpened: number } {
  return { connectionsOpened: opened };
}

/** The pooled connection to a target, opened on first use. */
export function sshConnection(target: SshTarget): Promise<SshConnection> {
  const key = `${target.user ?? "root"}@${target.host}:${target.port ?? 22}|${target.hostKeys.join(",")}|${target.proxy ?? ""}`;
  let conn = pool.get(key);
  if (!conn) {
    const opening = connect(target, () => pool.get(key) === opening && pool.delete(key));
    pool.set(key, opening);
    opening.catch(() => pool.delete(key));
    conn = opening;
  }
  return conn;
}

/** Close every pooled connection (end of a CLI command or test). */
export async function closeAllSsh(): Promise<void> {
  const all = [...pool.values()];
  pool.clear();
  for (const c of all) {
    try {
      (await c).close();
    } catch {
      // a connection that never opened has nothing to close
    }
  }
}

function authConfig(target: SshTarget): Partial<ConnectConfig> {
  const keyPath = target.privateKeyPath ?? process.env.RPLAN_SSH_KEY;
  if (keyPath) {
    try {
      return { privateKey: fs.readFileSync(keyPath) };
    } catch (e) {
      throw new SshError(`[${target.node}] cannot read the admin SSH key ${keyPath}: ${(e as Error).message}`, target.node);
    }
  }
  if (process.env.SSH_AUTH_SOCK) return { agent: process.env.SSH_AUTH_SOCK };
  throw new SshError(`[${target.node}] no admin credentials: set RPLAN_SSH_KEY to a key file or run an SSH agent (SSH_AUTH_SOCK)`, target.node);
}

/** TCP connect plus SSH handshake (ssh2's readyTimeout starts before the TCP connect). */
export const CONNECT_TIMEOUT_MS = 20_000;
/** Reaching the node through the SOCKS5 proxy; Tor builds a circuit first, so a little longer. */
export const PROXY_CONNECT_TIMEOUT_MS = 30_000;

/**
 * Refuse a lab address that would not go over the lab bridge (transports/lab-route.ts). A host name
 * is resolved as the connection would resolve it and every address it gives is checked; through a
 * proxy a name is the proxy's to resolve (resolving it here could leak it), so only a literal
 * address is checked then. A literal lab address is guarded even through a proxy: it means nothing
 * beyond this machine.
 */
export async function assertLabRouteSafe(target: Pick<SshTarget, "node" | "host" | "proxy">): Promise<void> {
  let addresses: string[] = [target.host];
  if (!isIpLiteral(target.host)) {
    if (target.proxy) return;
    try {
      addresses = (await dns.promises.lookup(target.host, { all: true })).map((a) => a.address);
    } catch {
      return; // unresolvable: the connection fails by itself, sending nothing to any address
    }
  }
  const problems = addresses.map(checkLabRoute).filter((p): p is string => p !== undefined);
  if (problems.length > 0) {
    const via = target.host === addresses[0] && addresses.length === 1 ? "" : ` (${target.host})`;
    throw new OffLabRoute(`[${target.node}] not connecting${via}: ${problems.join("; ")}`, target.node);
  }
}

async function proxySocket(target: SshTarget): Promise<Duplex | undefined> {
  if (!target.proxy) return undefined;
  const url = new URL(target.proxy);
  if (url.protocol !== "socks5:" && url.protocol !== "socks5h:") {
    throw new SshError(`[${target.node}] unsupported proxy ${target.proxy}: only socks5:// is supported`, target.node);
  }
  const { socket } = await SocksClient.createConnection({
    timeout: PROXY_CONNECT_TIMEOUT_MS,
    proxy: { host: url.hostname, port: Number(url.port || 1080), type: 5 },
    command: "connect",
    destination: { host: target.host, port: target.port ?? 22 },
  });
  return socket;
}

/** Open and authenticate; `onClose` lets the pool forget a connection that dropped. */
async function connect(target: SshTarget, onClose: () => void): Promise<SshConnection> {
  if (target.hostKeys.length === 0) {
    throw new SshError(`[${target.node}] no pinned host key: refusing to connect (rplan never trusts on first use)`, target.node);
  }
  const pinned = target.hostKeys.map(parseHostKey);
  await assertLabRouteSafe(target); // before the proxy or the node sees a packet
  const auth = authConfig(target);
  const sock = await proxySocket(target);
  let presented: Buffer | undefined;
  const client = new Client();
  return new Promise((resolve, reject) => {
    const where = `${target.host}:${target.port ?? 22}`;
    client.on("ready", () => {
      opened++;
      const conn = new SshConnection(target, client);
      client.on("close", () => conn.lost("the server or network closed it"));
      client.on("error", (err: Error) => conn.lost(err.message));
      resolve(conn);
    });
    client.on("error", (err: Error) => {
      if (presented && !pinned.some((k) => k.blob.equals(presented!))) {
        const got = fingerprint(presented);
        const want = pinned.map((k) => `${k.type} ${fingerprint(k.blob)}`).join(", ");
        reject(new HostKeyMismatch(`[${target.node}] host key mismatch at ${where}: presented ${got}, pinned ${want}. Refusing to connect.`, target.node));
      } else {
        reject(new SshError(`[${target.node}] cannot connect to ${where}: ${err.message}`, target.node));
      }
    });
    client.on("close", onClose);
    client.connect({
      host: target.host,
      port: target.port ?? 22,
      username: target.user ?? "root",
      sock,
      readyTimeout: CONNECT_TIMEOUT_MS,
      keepaliveInterval: 15000,
      algorithms: { serverHostKey: hostKeyAlgorithms(pinned) as any },
      hostVerifier: (key: Buffer) => {
        presented = key;
        return hostKeyMatches(target.hostKeys, key);
      },
      ...auth,
    });
  });
}
