/**
 * OpenSSH for the lab's own chores (init/lock the encrypted mount, /etc/hosts, status): real `ssh` with
 * the node's host keys pinned and nothing trusted on first use, exactly as an admin would connect.
 */
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { run, RunResult } from "./exec";
import { readLabState, SSH_KEY } from "./state";

/** Same shape as SshTarget in transports/ssh.ts (the lead's module); kept here until that exists. */
export interface SshTarget {
  node: string;
  host: string;
  port?: number;
  user?: string;
  hostKeys: string[];
  privateKeyPath?: string;
  proxy?: string;
}

/** The lab's SSH key, generated once and kept across labs. */
export async function ensureLabKey(): Promise<string> {
  if (!fs.existsSync(SSH_KEY)) {
    fs.mkdirSync(path.dirname(SSH_KEY), { recursive: true, mode: 0o700 });
    await run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "rplan-lab", "-f", SSH_KEY]);
  }
  fs.chmodSync(SSH_KEY, 0o600);
  return fs.readFileSync(`${SSH_KEY}.pub`, "utf8");
}

/** known_hosts lines pinning the target's keys (`[host]:port` form when the port is not 22). */
export function knownHostsLines(t: SshTarget): string {
  const host = (t.port ?? 22) === 22 ? t.host : `[${t.host}]:${t.port}`;
  return t.hostKeys.map((k) => `${host} ${k}\n`).join("");
}

export function sshArgs(t: SshTarget, knownHostsFile: string): string[] {
  if (t.proxy) throw new Error(`${t.node}: the lab's ssh helper does not do proxies (${t.proxy})`);
  return [
    ...["-F", "none", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes", "-o", `UserKnownHostsFile=${knownHostsFile}`],
    ...["-o", "GlobalKnownHostsFile=/dev/null", "-o", "IdentitiesOnly=yes", "-o", "ConnectTimeout=5", "-o", "LogLevel=ERROR"],
    ...(t.privateKeyPath ? ["-i", t.privateKeyPath] : []),
    ...["-p", String(t.port ?? 22), "-l", t.user ?? "root", t.host],
  ];
}

/** Runs `command` on the target; `input` (e.g. a passphrase) goes over stdin, never argv. */
export async function sshRun(t: SshTarget, command: string, input?: string, check = true): Promise<RunResult> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rplan-ssh-"));
  try {
    const kh = path.join(dir, "known_hosts");
    fs.writeFileSync(kh, knownHostsLines(t));
    const res = await run("ssh", [...sshArgs(t, kh), command], { input, check: false, timeoutMs: 60_000 });
    if (check && res.code !== 0) throw new Error(`${t.node}: \`${command.split("\n")[0]}\` failed (exit ${res.code}): ${res.stderr.trim()}`);
    return res;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** True when something on host:port speaks SSH (reads the identification banner). */
export function sshBanner(host: string, port = 22, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect({ host, port });
    let buf = "";
    const done = (ok: boolean) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(timeoutMs, () => done(false));
    sock.on("error", () => done(false));
    sock.on("data", (d) => {
      buf += d.toString("latin1");
      if (buf.includes("\n")) done(buf.startsWith("SSH-2.0-"));
    });
    sock.on("close", () => done(false));
  });
}

/** How anything (tests, the runner, the lab itself) reaches a lab node: pinned keys, the lab key. */
export function labSshTarget(name: string): SshTarget {
  const node = readLabState()?.nodes.find((n) => n.name === name);
  if (!node) throw new Error(`no lab node ${name} (is the lab up? npm run lab -- up)`);
  return { node: name, host: node.address, port: 22, user: "root", hostKeys: node.hostKeys, privateKeyPath: SSH_KEY };
}
