/**
 * The one LDAP module: every LDAP operation in rplan goes through here.
 *
 * - Data (user entries, the tree, node identities, contextCSN): an ldapts Client whose socket is an
 *   SSH channel to the node — by default OpenSSH's streamlocal forwarding to slapd's ldapi socket
 *   (`openssh_forwardOutStreamLocal`), bound with SASL EXTERNAL: sshd opens the socket as the SSH
 *   user (root), so slapd sees uid 0 and grants root's rights. No LDAP password exists for admins, no
 *   local port is opened, and no LDAP port is ever reached from outside the node: the only path in
 *   is the pinned, key-authenticated SSH connection of transports/ssh.ts. (A TCP channel to the
 *   node's 127.0.0.1:389 is available too, `{ host, port }`, for a simple bind.)
 * - cn=config is read and changed with the OpenLDAP tools run on the node over SSH
 *   (ops/slapd-control.ts), not here: this module only carries bytes and knows no LDIF.
 *
 * Credentials never travel in argv.
 */
import { Duplex } from "stream";
import type { ClientChannel } from "ssh2";
import { Change, Attribute, Client, ResultCodeError } from "ldapts";
import type { ExecOptions, ExecResult, SshConnection } from "./ssh";
import { SshError } from "./ssh";

/** What runs a command on a node: an SshConnection, or a local runner in tests. */
export interface CommandRunner {
  run(argv: readonly string[], opts?: ExecOptions): Promise<ExecResult>;
}

/**
 * An LDAP failure on a node; the message names the node. Callers that quote tool output (cn=config
 * holds the replication credential) redact it first: ops/slapd-control.ts does.
 */
export class LdapError extends Error {
  constructor(
    message: string,
    readonly node: string,
    readonly code?: number,
  ) {
    super(message);
    this.name = "LdapError";
  }
}

/** ldapi URL for a socket path ("ldapi:///" for the system default). */
export function ldapiUrl(socketPath?: string): string {
  return socketPath ? `ldapi://${encodeURIComponent(socketPath)}` : "ldapi:///";
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ------------------------------------------------------------------ ldapts over an SSH channel

/** Opens one byte stream to slapd (an SSH channel, or a local socket in tests). */
export type StreamOpener = (cb: (err: Error | undefined, stream?: Duplex) => void) => void;

/**
 * A socket for ldapts' `createConnection` on top of a stream that opens asynchronously: ldapts calls
 * createConnection synchronously and waits for "connect", so this object exists at once, connects
 * when the channel is open, buffers writes until then, and mirrors the channel's data, end and close.
 * A new one is created for every (re)connect, so a dropped channel is simply reopened.
 */
export class ForwardedSocket extends Duplex {
  connecting = true;
  readyState: "opening" | "open" | "closed" = "opening";
  private stream?: Duplex;
  private readonly pending: Array<{ chunk: Buffer; cb: (err?: Error | null) => void }> = [];

  constructor(open: StreamOpener) {
    super();
    open((err, stream) => {
      if (err || !stream) {
        this.destroy(err ?? new Error("no stream"));
        return;
      }
      if (this.destroyed) {
        stream.destroy();
        return;
      }
      this.stream = stream;
      this.connecting = false;
      this.readyState = "open";
      stream.on("data", (d: Buffer) => {
        if (!this.push(d)) stream.pause();
      });
      stream.on("end", () => this.push(null));
      stream.on("error", (e: Error) => this.destroy(e));
      stream.on("close", () => this.destroy());
      for (const p of this.pending.splice(0)) stream.write(p.chunk, p.cb);
      this.emit("connect");
    });
  }

  _read(): void {
    this.stream?.resume();
  }

  _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    if (this.stream) this.stream.write(chunk, cb);
    else this.pending.push({ chunk, cb });
  }

  _final(cb: (err?: Error | null) => void): void {
    this.stream?.end();
    cb();
  }

  _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.readyState = "closed";
    this.stream?.destroy();
    cb(err);
  }

  setTimeout(): this {
    return this;
  }
  setKeepAlive(): this {
    return this;
  }
  setNoDelay(): this {
    return this;
  }
}

/** Where on the node the channel goes: slapd's ldapi socket, or a TCP port on the node's loopback. */
export type LdapEndpoint = { readonly socketPath: string } | { readonly host: "127.0.0.1"; readonly port: number };

/** A StreamOpener for an endpoint on the node, through its SSH connection. */
export function sshStreamOpener(conn: SshConnection, endpoint: LdapEndpoint): StreamOpener {
  const node = conn.target.node;
  return (cb) => {
    const done = (err: Error | undefined, ch?: ClientChannel) =>
      err ? cb(new SshError(`[${node}] cannot open an SSH channel to ${"socketPath" in endpoint ? endpoint.socketPath : `${endpoint.host}:${endpoint.port}`}: ${err.message}`, node)) : cb(undefined, ch);
    conn.openStream(endpoint, done);
  };
}

export interface LdapClientOptions {
  /** Per-operation timeout (ms). */
  readonly timeoutMs?: number;
}

/** An ldapts Client whose every connection is a fresh stream from `open`. */
export function ldapClient(open: StreamOpener, opts: LdapClientOptions = {}): Client {
  return new Client({
    url: "ldap://127.0.0.1:389",
    timeout: opts.timeoutMs ?? 15_000,
    connectTimeout: opts.timeoutMs ?? 15_000,
    createConnection: (() => new ForwardedSocket(open)) as any,
  });
}

/**
 * Run `fn` with an ldapts Client bound as root on the node (SASL EXTERNAL over the forwarded ldapi
 * socket); always unbinds.
 */
export async function withRootLdap<T>(node: string, open: StreamOpener, fn: (client: Client) => Promise<T>, opts: LdapClientOptions = {}): Promise<T> {
  const client = ldapClient(open, opts);
  try {
    await client.bind("EXTERNAL");
  } catch (e) {
    await client.unbind().catch(() => undefined);
    throw ldapError(node, "bind as root (SASL EXTERNAL over ldapi)", e);
  }
  try {
    return await fn(client);
  } finally {
    await client.unbind().catch(() => undefined);
  }
}

/** An ldapts error as an LdapError naming the node and the operation (referrals explained). */
export function ldapError(node: string, what: string, e: unknown): LdapError {
  const code = e instanceof ResultCodeError || (typeof e === "object" && e !== null && typeof (e as { code?: unknown }).code === "number") ? (e as { code: number }).code : undefined;
  const msg = e instanceof Error ? e.message : String(e);
  if (code === 10) return new LdapError(`[${node}] ${what}: ${node} is not the master (it refers writes elsewhere): the write was not applied`, node, code);
  if (code === 53) return new LdapError(`[${node}] ${what}: ${node} refused the write (${msg || "unwilling to perform"}); it is frozen for a master switch or read-only`, node, code);
  return new LdapError(`[${node}] ${what} failed${code !== undefined ? ` (LDAP result ${code})` : ""}: ${msg}`, node, code);
}

// ------------------------------------------------------------------ entries

/** An entry's owned attributes as read (attribute names as given in `attrs`). */
export async function readEntry(client: Client, dn: string, attrs: readonly string[]): Promise<Record<string, string[]> | undefined> {
  try {
    const { searchEntries } = await client.search(dn, { scope: "base", attributes: [...attrs] });
    const e = searchEntries[0];
    if (!e) return undefined;
    const out: Record<string, string[]> = {};
    for (const a of attrs) {
      const key = Object.keys(e).find((k) => k.toLowerCase() === a.toLowerCase());
      const v = key ? e[key] : undefined;
      const values = v === undefined ? [] : (Array.isArray(v) ? v : [v]).map((x) => (Buffer.isBuffer(x) ? x.toString("utf8") : String(x)));
      // ldapts lists a requested attribute the server did not return (absent, or hidden by ACLs) with no values.
      if (values.length > 0) out[a] = values;
    }
    return out;
  } catch (e) {
    if (e instanceof ResultCodeError && e.code === 32) return undefined;
    throw e;
  }
}

const sameValues = (attr: string, a: readonly string[], b: readonly string[]) => {
  const f = (v: string) => (attr.toLowerCase() === "objectclass" ? v.toLowerCase() : v);
  const x = [...a].map(f).sort();
  const y = [...b].map(f).sort();
  return x.length === y.length && x.every((v, i) => v === y[i]);
};

/**
 * Make the entry `dn` hold exactly `attributes` for every attribute in `owned` (owned attributes not
 * in `attributes` are removed); other attributes are left alone. Adds the entry when missing.
 * Returns what was done.
 */
export async function syncEntry(client: Client, dn: string, attributes: Readonly<Record<string, readonly string[]>>, owned: readonly string[]): Promise<"added" | "modified" | "unchanged"> {
  const current = await readEntry(client, dn, owned);
  if (!current) {
    await client.add(dn, Object.fromEntries(Object.entries(attributes).map(([k, v]) => [k, [...v]])));
    return "added";
  }
  const changes: Change[] = [];
  for (const a of owned) {
    const want = attributes[a];
    const have = current[a];
    if (want && want.length > 0) {
      if (!have || !sameValues(a, have, want)) changes.push(new Change({ operation: "replace", modification: new Attribute({ type: a, values: [...want] }) }));
    } else if (have && have.length > 0) changes.push(new Change({ operation: "delete", modification: new Attribute({ type: a, values: [] }) }));
  }
  if (changes.length === 0) return "unchanged";
  await client.modify(dn, changes);
  return "modified";
}

/** Delete an entry; true when it existed. */
export async function deleteEntry(client: Client, dn: string): Promise<boolean> {
  try {
    await client.del(dn);
    return true;
  } catch (e) {
    if (e instanceof ResultCodeError && e.code === 32) return false;
    throw e;
  }
}

/** DNs of the direct children of `dn` ([] when it does not exist). */
export async function childDns(client: Client, dn: string): Promise<string[]> {
  try {
    const { searchEntries } = await client.search(dn, { scope: "one", attributes: ["1.1"] });
    return searchEntries.map((e) => e.dn);
  } catch (e) {
    if (e instanceof ResultCodeError && e.code === 32) return [];
    throw e;
  }
}

/** contextCSN through ldapts (root sees it on the suffix entry). */
export async function contextCsnOf(client: Client, suffix: string): Promise<string[]> {
  const e = await readEntry(client, suffix, ["contextCSN"]);
  return e?.contextCSN ?? [];
}
