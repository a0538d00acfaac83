/**
 * Every node's reachability, as the admin checks it before trusting anything else: contacts every
 * node that is not revoked over SSH with its pinned host keys (a mismatch is refused before any
 * login), then asks whether its encrypted mount is unlocked. Revoked nodes are listed, never
 * contacted. Used by `npm run status`.
 */
import type { ClusterConfig } from "../planning/config";
import { HostKeyMismatch, sshConnection } from "../transports/ssh";
import { probeMount } from "./unlock";
import { isLive } from "../planning/node-roles";

export interface HostStatusRow {
  readonly node: string;
  /** host:port as contacted (plus the proxy, when there is one). */
  readonly address: string;
  readonly hostKey: "OK" | "MISMATCH" | "unreachable" | "not contacted";
  readonly mount: "unlocked" | "LOCKED" | "NOT ENCRYPTED" | "unknown" | "-";
  /** Why, when something is wrong (names the node). */
  readonly problem?: string;
}

/** Contact every non-revoked node in parallel; never throws for a node's problem. */
export async function hostStatus(cluster: ClusterConfig): Promise<HostStatusRow[]> {
  return Promise.all(
    cluster.nodes.map(async (n): Promise<HostStatusRow> => {
      const address = `${n.ssh.host}:${n.ssh.port ?? 22}${n.ssh.proxy ? ` via ${n.ssh.proxy}` : ""}`;
      if (!isLive(n)) return { node: n.name, address, hostKey: "not contacted", mount: "-" };
      let conn;
      try {
        conn = await sshConnection({ node: n.name, ...n.ssh });
      } catch (e) {
        const mismatch = e instanceof HostKeyMismatch;
        return { node: n.name, address, hostKey: mismatch ? "MISMATCH" : "unreachable", mount: "-", problem: (e as Error).message };
      }
      try {
        const m = await probeMount(conn, n.encryptedMount);
        if (m.state === "unlocked") return { node: n.name, address, hostKey: "OK", mount: "unlocked" };
        return { node: n.name, address, hostKey: "OK", mount: m.state === "locked" ? "LOCKED" : "NOT ENCRYPTED", problem: m.message };
      } catch (e) {
        return { node: n.name, address, hostKey: "OK", mount: "unknown", problem: (e as Error).message };
      }
    }),
  );
}

/** Healthy: every contacted node presented a pinned key and has its mount unlocked. */
export function hostStatusOk(rows: readonly HostStatusRow[]): boolean {
  return rows.every((r) => r.hostKey === "not contacted" || (r.hostKey === "OK" && r.mount === "unlocked"));
}

/** One line per node (node, address, host key, mount, state), then each problem; mismatches first. */
export function formatHostStatus(cluster: ClusterConfig, rows: readonly HostStatusRow[]): string {
  const state = new Map(cluster.nodes.map((n) => [n.name, n.state]));
  const table = [["node", "address", "host key", "mount", "state"], ...rows.map((r) => [r.node, r.address, r.hostKey, r.mount, state.get(r.node) ?? ""])];
  const widths = table[0].map((_, i) => Math.max(...table.map((row) => row[i].length)));
  const lines = table.map((row) => row.map((c, i) => c.padEnd(widths[i])).join("  ").trimEnd());
  const mismatched = rows.filter((r) => r.hostKey === "MISMATCH");
  const others = rows.filter((r) => r.problem && r.hostKey !== "MISMATCH");
  if (mismatched.length > 0) {
    lines.push("", `REFUSED: host key mismatch on ${mismatched.map((r) => r.node).join(", ")} — the node presented a key that is not pinned in the stack config. Do not use it until the key is verified over a trusted channel.`);
  }
  for (const r of [...mismatched, ...others]) lines.push(`  - ${r.problem}`);
  lines.push(hostStatusOk(rows) ? "OK" : "NOT OK");
  return lines.join("\n");
}
