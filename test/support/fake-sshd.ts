/**
 * A throwaway SSH server on 127.0.0.1 for unit tests (ssh2's Server class): its own fresh host key,
 * accepts any public key, answers each `exec` with a handler's canned result, and forwards
 * `direct-streamlocal` channels (how the LDAP transport reaches slapd's ldapi socket) to a local
 * Unix socket of the test's choosing. Records every TCP connection, login and command, so a test can
 * prove that a host was — or was not — contacted. Nothing runs as a shell.
 */
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { Server, utils } from "ssh2";
import type { ExecResult } from "../../transports/ssh";

export interface FakeSshd {
  readonly port: number;
  /** The server's host key, "ssh-ed25519 AAAA…", as a stack config pins it. */
  readonly hostKey: string;
  /** TCP connections accepted (counted before any SSH is spoken). */
  readonly connections: () => number;
  /** Logins that succeeded. */
  readonly logins: () => number;
  /** Every command run, in order. */
  readonly commands: string[];
  close(): Promise<void>;
}

export interface FakeSshdOptions {
  /** The answer to one `exec` (default: exit 0, no output). */
  readonly exec?: (command: string) => Partial<ExecResult>;
  /** Where `direct-streamlocal` channels go (any requested socket path is sent here). */
  readonly streamlocal?: string;
}

/**
 * A fresh ed25519 key pair: { private (OpenSSH PEM), public ("ssh-ed25519 AAAA…") }.
 * ssh2's keygen strips leading zero bytes of the public key, so about one pair in 256 cannot be
 * parsed back (mscdex/ssh2#1390, #1513; a CI run failed on it): draw again until both parse.
 */
export function newKeyPair(): { private: string; public: string } {
  for (;;) {
    const k = utils.generateKeyPairSync("ed25519");
    if (!(utils.parseKey(k.private) instanceof Error) && !(utils.parseKey(k.public) instanceof Error)) return { private: k.private, public: k.public.trim() };
  }
}

/** An admin key file for the client side (removed by the caller's temp dir). */
export function adminKeyFile(dir: string): string {
  const file = path.join(dir, "admin_key");
  fs.writeFileSync(file, newKeyPair().private, { mode: 0o600 });
  return file;
}

export async function startFakeSshd(opts: FakeSshdOptions = {}): Promise<FakeSshd> {
  const keys = newKeyPair();
  let connections = 0;
  let logins = 0;
  const commands: string[] = [];
  const server = new Server({ hostKeys: [keys.private] }, (client) => {
    client.on("error", () => undefined);
    client.on("authentication", (ctx) => (ctx.method === "publickey" ? ctx.accept() : ctx.reject(["publickey"])));
    client.on("ready", () => {
      logins++;
      client.on("session", (accept) => {
        const session = accept();
        session.on("exec", (acceptExec, _reject, info) => {
          commands.push(info.command);
          const stream = acceptExec();
          const r = opts.exec?.(info.command) ?? {};
          // Drain stdin (the transport always ends it), then answer.
          stream.on("data", () => undefined);
          stream.once("end", () => {
            if (r.stdout) stream.write(r.stdout);
            if (r.stderr) stream.stderr.write(r.stderr);
            stream.exit(r.code ?? 0);
            stream.end();
          });
        });
      });
      client.on("openssh.streamlocal", (acceptStream, reject) => {
        if (!opts.streamlocal) return reject();
        const sock = net.connect({ path: opts.streamlocal });
        sock.once("connect", () => {
          const ch = acceptStream();
          ch.pipe(sock).pipe(ch);
          ch.on("close", () => sock.destroy());
          sock.on("close", () => ch.end());
        });
        sock.once("error", () => reject());
      });
    });
  });
  // Count TCP connections before SSH is spoken: a refused host key must still show up as a contact.
  const sockets = new Set<net.Socket>();
  const front = net.createServer((sock) => {
    connections++;
    sockets.add(sock);
    sock.once("close", () => sockets.delete(sock));
    server.injectSocket(sock);
  });
  await new Promise<void>((resolve) => front.listen(0, "127.0.0.1", () => resolve()));
  const port = (front.address() as net.AddressInfo).port;
  return {
    port,
    hostKey: keys.public,
    connections: () => connections,
    logins: () => logins,
    commands,
    close: () =>
      new Promise<void>((resolve) => {
        for (const sock of sockets) sock.destroy();
        front.close(() => resolve());
      }),
  };
}

/** A 127.0.0.1 port nothing listens on (for "unreachable"). */
export async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", () => r()));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** A temp directory removed at the end of the test file. */
export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}
