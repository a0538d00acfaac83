/**
 * Which host keys to pin for a `command:remote` connection. The upstream provider would trust
 * whatever key a host presents; rplan never trusts on first use, so a connection is allowed only to
 * a host the stack config declares (`rplan:nodes[].ssh`), with that node's pinned keys and proxy.
 */
import type { SshTarget } from "../../transports/ssh";

interface NodeEntry {
  name?: unknown;
  ssh?: { host?: unknown; port?: unknown; user?: unknown; hostKeys?: unknown; proxy?: unknown };
}

export class PinnedHosts {
  private constructor(private readonly targets: readonly SshTarget[]) {}

  /** From the parsed stack config; a malformed node list just pins nothing (the program reports it). */
  static fromConfig(parsed: Readonly<Record<string, unknown>>, project: string): PinnedHosts {
    const nodes = parsed[`${project}:nodes`];
    const targets: SshTarget[] = [];
    for (const n of Array.isArray(nodes) ? (nodes as NodeEntry[]) : []) {
      const ssh = n?.ssh;
      if (!ssh || typeof ssh.host !== "string" || !Array.isArray(ssh.hostKeys)) continue;
      targets.push({
        node: typeof n.name === "string" ? n.name : ssh.host,
        host: ssh.host,
        port: typeof ssh.port === "number" ? ssh.port : 22,
        user: typeof ssh.user === "string" ? ssh.user : "root",
        hostKeys: ssh.hostKeys.filter((k): k is string => typeof k === "string"),
        proxy: typeof ssh.proxy === "string" ? ssh.proxy : undefined,
      });
    }
    return new PinnedHosts(targets);
  }

  /** The target for host:port as user, or an error that says why the runner refuses. */
  target(what: string, host: string, port: number, user: string): SshTarget {
    const t = this.targets.find((x) => x.host === host && (x.port ?? 22) === port);
    if (!t || t.hostKeys.length === 0) {
      throw new Error(
        `${what}: no pinned host key for ${host}:${port} in the stack config (rplan:nodes[].ssh.hostKeys); ` +
          "the stack runner never trusts a host key on first use",
      );
    }
    return { ...t, user };
  }
}
