/**
 * Where mesh lab tests run: the shared lab (systemd-nspawn Debian nodes, `lab/`), or the private
 * harness (./harness/harness.sh: chroots in network namespaces, for development while the lab is
 * busy). Chosen by RPLAN_MESH_TARGET=lab|harness; unset: the lab when running as root.
 */
import { SSH_KEY } from "../../lab/state";
import * as fs from "fs";
import type { ClusterConfig, NodeConfig } from "../../planning/config";
import { validateClusterConfig } from "../../planning/config";
import { sshConnection, SshConnection } from "../../transports/ssh";

export interface MeshTarget {
  readonly name: "lab" | "harness";
  /** Make sure the nodes exist (the lab: ensureLab); returns the node names in order. */
  prepare(nodes: number): Promise<string[]>;
  /** The cluster config for the first `n` nodes, with per-node overrides (state, vpnKeyGeneration). */
  config(n: number, overrides?: Record<string, Partial<Pick<NodeConfig, "state" | "vpnKeyGeneration">>>): ClusterConfig;
  /** Test-only admin access to a node (also to a revoked one: the test plays the attacker). */
  conn(cluster: ClusterConfig, node: string): Promise<SshConnection>;
  /** tincd's log lines since `sinceSec` (epoch seconds). */
  tincLog(conn: SshConnection, sinceSec: number): Promise<string>;
}

function applyOverrides(c: ClusterConfig, n: number, overrides: Record<string, Partial<NodeConfig>>): ClusterConfig {
  return { ...c, nodes: c.nodes.slice(0, n).map((x) => ({ ...x, ...(overrides[x.name] ?? {}) })) };
}

const connFor = (cluster: ClusterConfig, node: string) => {
  const n = cluster.nodes.find((x) => x.name === node)!;
  return sshConnection({ node, host: n.ssh.host, port: n.ssh.port, user: n.ssh.user, hostKeys: n.ssh.hostKeys });
};

export const labTarget: MeshTarget = {
  name: "lab",
  async prepare(nodes) {
    const { ensureLab } = await import("../../lab");
    const state = await ensureLab({ nodes });
    if (!process.env.RPLAN_SSH_KEY) process.env.RPLAN_SSH_KEY = SSH_KEY;
    return state.nodes.map((x) => x.name);
  },
  config(n, overrides = {}) {
    const { readClusterConfig } = require("../../stack-file/config") as typeof import("../../stack-file/config");
    return applyOverrides(readClusterConfig({ stack: "lab" }), n, overrides);
  },
  conn: connFor,
  async tincLog(conn, sinceSec) {
    return (await conn.run(["journalctl", "-u", "tinc@rplan", `--since=@${sinceSec}`, "-o", "cat", "--no-pager"], { allowFailure: true })).stdout;
  },
};

const HARNESS = process.env.MESH_HARNESS_DIR ?? "/tmp/meshx";

export const harnessTarget: MeshTarget = {
  name: "harness",
  async prepare(nodes) {
    const have = Array.from({ length: 9 }, (_, k) => `m${k + 1}`).filter((m) => fs.existsSync(`${HARNESS}/${m}/root/etc/ssh/ssh_host_ed25519_key.pub`));
    if (have.length < nodes) throw new Error(`the mesh harness has ${have.length} nodes, ${nodes} needed: N=${nodes} test/mesh/harness/harness.sh up`);
    if (!process.env.RPLAN_SSH_KEY) process.env.RPLAN_SSH_KEY = `${HARNESS}/id`;
    return have;
  },
  config(n, overrides = {}) {
    const countries = ["NL", "DE", "SE", "IS", "CH"];
    const rings = ["core", "core", "member", "edge", "member"];
    const vpn = ["198.18.0.11", "198.18.0.12", "198.18.1.13", "198.18.2.14", "198.18.1.15"];
    const raw = {
      domain: "lab.rplan.test",
      rings: { core: "198.18.0.0/24", member: "198.18.1.0/24", edge: "198.18.2.0/24" },
      nodes: Array.from({ length: 5 }, (_, k) => {
        const i = k + 1;
        const key = `${HARNESS}/m${i}/root/etc/ssh/ssh_host_ed25519_key.pub`;
        const hostKey = fs.existsSync(key) ? fs.readFileSync(key, "utf8").split(" ").slice(0, 2).join(" ") : "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBCzH/emCREXiZji0OzV3o6I9XlM9Bhj6EeTcVnBXBhp";
        return {
          name: `m${i}`,
          country: countries[k],
          publicAddress: `192.168.77.1${i}`,
          ssh: { host: `192.168.77.1${i}`, port: 22, user: "root", hostKeys: [hostKey] },
          vpnAddress: vpn[k],
          ring: rings[k],
          encryptedMount: { kind: "gocryptfs", path: "/srv/crypt", cipherDir: "/srv/.crypt-cipher" },
          capacity: 1000 * i,
          state: "active",
        };
      }),
      policy: { minCountries: 1 },
    };
    return applyOverrides(validateClusterConfig(raw), n, overrides);
  },
  conn: connFor,
  async tincLog(conn, sinceSec) {
    const log = (await conn.run(["sh", "-c", "cat /var/log/tinc.rplan.log 2>/dev/null || true"])).stdout;
    const since = new Date(sinceSec * 1000);
    return log
      .split("\n")
      .filter((l) => {
        const t = /^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)/.exec(l)?.[1];
        return t !== undefined && new Date(t.replace(" ", "T") + "Z") >= since;
      })
      .join("\n");
  },
};

/** The target chosen by the environment, or undefined when mesh lab tests should be skipped. */
export function meshTarget(): MeshTarget | undefined {
  const chosen = process.env.RPLAN_MESH_TARGET ?? (process.getuid?.() === 0 ? "lab" : "");
  return chosen === "lab" ? labTarget : chosen === "harness" ? harnessTarget : undefined;
}
