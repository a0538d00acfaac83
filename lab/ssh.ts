/** How the lab is reached over SSH: its key, the nodes' pinned host keys, a cheap "is sshd up" probe. */
import * as fs from "fs";
import * as net from "net";
import * as path from "path";
import type { SshTarget } from "../transports/ssh";
import { run } from "./exec";
import { assertRoutedThroughLab, routedThroughLab } from "./network-safety";
import { readLabState, SSH_KEY } from "./state";

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

/** True when something on host:port speaks SSH (reads the identification banner). */
export function sshBanner(host: string, port = 22, timeoutMs = 1000): Promise<boolean> {
  if (!routedThroughLab(host)) return Promise.resolve(false); // never probe a lab address off the lab
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
  assertRoutedThroughLab(node.address);
  return { node: name, host: node.address, port: 22, user: "root", hostKeys: node.hostKeys, privateKeyPath: SSH_KEY };
}
