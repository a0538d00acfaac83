/**
 * A minimal SMTP submission client for benchmarks: STARTTLS, AUTH PLAIN, then many messages per
 * session (one TLS handshake and one login per session, so what is measured is the server's work
 * per message, not the client's start-up). Several sessions in parallel. Bench only: the server's
 * certificate is not verified (the lab's are self-signed).
 */
import * as net from "net";
import * as tls from "tls";

export interface SubmitOptions {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  readonly from: string;
  readonly to: string;
  readonly messages: number;
  readonly sessions: number;
  /** The whole message (headers, blank line, body) for message `i`, lines ending in \r\n, no line starting with ".". */
  readonly message: (i: number) => string;
  /** Per reply (ms, default 30 000). */
  readonly timeoutMs?: number;
}

export interface SubmitResult {
  /** Messages answered 250 after DATA. */
  readonly accepted: number;
  /** Refusals, by reply. */
  readonly refused: string[];
}

export class Session {
  private sock: net.Socket;
  private buf = "";
  private lines: string[] = [];
  private waiting: ((line: string | Error) => void) | undefined;
  private failure: Error | undefined;

  constructor(
    sock: net.Socket,
    private readonly timeoutMs: number,
  ) {
    this.sock = sock;
    this.attach(sock);
  }

  private attach(sock: net.Socket): void {
    sock.setEncoding("utf8");
    sock.on("data", (d: string) => {
      this.buf += d;
      for (let i = this.buf.indexOf("\r\n"); i >= 0; i = this.buf.indexOf("\r\n")) {
        this.lines.push(this.buf.slice(0, i));
        this.buf = this.buf.slice(i + 2);
      }
      this.wake();
    });
    sock.on("error", (e) => this.fail(e));
    sock.on("close", () => this.fail(new Error("connection closed")));
  }

  private fail(e: Error): void {
    this.failure ??= e;
    this.wake();
  }

  private wake(): void {
    const w = this.waiting;
    if (!w) return;
    if (this.lines.length > 0) {
      this.waiting = undefined;
      w(this.lines.shift()!);
    } else if (this.failure) {
      this.waiting = undefined;
      w(this.failure);
    }
  }

  private line(): Promise<string> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting = undefined;
        reject(new Error(`no reply within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      this.waiting = (l) => {
        clearTimeout(timer);
        if (l instanceof Error) reject(l);
        else resolve(l);
      };
      this.wake();
    });
  }

  /** One reply (multi-line replies joined). */
  async reply(): Promise<{ code: number; text: string }> {
    const parts: string[] = [];
    for (;;) {
      const l = await this.line();
      parts.push(l);
      if (!/^\d{3}-/.test(l)) return { code: Number(l.slice(0, 3)), text: parts.join("\n") };
    }
  }

  async command(line: string, expect: number): Promise<void> {
    this.sock.write(`${line}\r\n`);
    const r = await this.reply();
    if (r.code !== expect) throw new Error(`${line.split(" ")[0]}: ${r.text}`);
  }

  /** STARTTLS: the rest of the session runs over TLS on the same connection. */
  async startTls(servername: string): Promise<void> {
    await this.command("STARTTLS", 220);
    const plain = this.sock;
    plain.removeAllListeners("data");
    plain.removeAllListeners("error");
    plain.removeAllListeners("close");
    const secure = tls.connect({ socket: plain, servername: net.isIP(servername) ? undefined : servername, rejectUnauthorized: false });
    await new Promise<void>((resolve, reject) => {
      secure.once("secureConnect", () => resolve());
      secure.once("error", reject);
    });
    this.sock = secure;
    this.attach(secure);
  }

  write(data: string): void {
    this.sock.write(data);
  }

  close(): void {
    this.sock.destroy();
  }
}

async function session(o: SubmitOptions, indexes: number[], result: { accepted: number; refused: string[] }): Promise<void> {
  const timeoutMs = o.timeoutMs ?? 30_000;
  const sock = net.connect({ host: o.host, port: o.port });
  await new Promise<void>((resolve, reject) => {
    sock.once("connect", () => resolve());
    sock.once("error", reject);
  });
  const s = new Session(sock, timeoutMs);
  try {
    if ((await s.reply()).code !== 220) throw new Error("no 220 greeting");
    await s.command("EHLO bench.client.example", 250);
    await s.startTls(o.host);
    await s.command("EHLO bench.client.example", 250);
    await s.command(`AUTH PLAIN ${Buffer.from(`\0${o.user}\0${o.password}`).toString("base64")}`, 235);
    for (const i of indexes) {
      await s.command(`MAIL FROM:<${o.from}>`, 250);
      await s.command(`RCPT TO:<${o.to}>`, 250);
      await s.command("DATA", 354);
      s.write(`${o.message(i)}\r\n.\r\n`);
      const r = await s.reply();
      if (r.code === 250) result.accepted++;
      else result.refused.push(r.text);
    }
    await s.command("QUIT", 221).catch(() => undefined);
  } finally {
    s.close();
  }
}

/** Submit `messages` messages over `sessions` parallel sessions; resolves when every session is done. */
export async function submitMany(o: SubmitOptions): Promise<SubmitResult> {
  if (!(o.messages > 0 && o.sessions > 0)) throw new Error("messages and sessions must be positive");
  const result = { accepted: 0, refused: [] as string[] };
  const per: number[][] = Array.from({ length: o.sessions }, () => []);
  for (let i = 0; i < o.messages; i++) per[i % o.sessions].push(i);
  await Promise.all(per.filter((p) => p.length > 0).map((p) => session(o, p, result)));
  return result;
}
