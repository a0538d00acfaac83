/**
 * Proving that a lab node was — or was not — contacted: sshd's accepted logins in the node's one
 * log (/var/log/rplan.log, rotated files included: the journal keeps nothing), and a positive
 * control (a fresh OpenSSH login) showing the count does rise when the node is contacted, so a wrong
 * file or filter (a count stuck at 0) cannot pass for "never contacted".
 */
import { labSshTarget } from "../../lab";
import { logSinceCommand } from "../../planning/logs";
import { SshConnection } from "../../transports/ssh";
import { knownHostsFile, openssh } from "../lab/openssh";

/** sshd's accepted public-key logins so far on the node behind `conn` (a connection already open). */
export async function acceptedLogins(conn: SshConnection): Promise<number> {
  const r = await conn.exec(`${logSinceCommand("@0")} | grep -c ' sshd\\[[0-9]*\\]: Accepted publickey'`, { allowFailure: true });
  const n = Number(r.stdout.trim());
  if (!Number.isInteger(n)) throw new Error(`[${conn.target.node}] cannot count sshd logins: ${r.stderr || r.stdout}`);
  return n;
}

/** Log in to the node once with OpenSSH (pinned host keys) and wait until its log counts it. */
export async function controlLogin(conn: SshConnection, after: number, timeoutMs = 10_000): Promise<number> {
  const t = labSshTarget(conn.target.node);
  const r = await openssh(t.host, knownHostsFile([{ host: t.host, hostKeys: t.hostKeys }]), "true");
  if (r.code !== 0) throw new Error(`control login to ${t.node} failed: ${r.stderr}`);
  const end = Date.now() + timeoutMs;
  for (;;) {
    const n = await acceptedLogins(conn);
    if (n > after) return n;
    if (Date.now() > end) throw new Error(`a login to ${t.node} was not counted within ${timeoutMs} ms: the login count cannot prove the node was never contacted`);
    await new Promise((res) => setTimeout(res, 200));
  }
}
