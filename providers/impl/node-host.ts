/**
 * NodeHost: the base of every node. Verifies the pinned host key (by connecting), sets the
 * hostname, ensures the packages, checks that the declared encrypted mount is an unlocked
 * encrypted filesystem, creates a key directory per service inside it, and reports node facts.
 * Deleting the resource leaves the host as it is: dropping a node from the stack must never
 * destroy data (revocation is the mesh's job and never contacts the node).
 */
import type { SshEndpointInput } from "../../planning/config";
import type * as pulumi from "@pulumi/pulumi";
import { EncryptedMount } from "../../planning/encrypted-mount";
import { landedArgv } from "../../planning/key-landing";
import { PREINSTALL_SLAPD_DEFAULTS } from "../../planning/ldap/slapd-config";
import { probeMount, requireUnlocked } from "../../ops/unlock";
import { SshConnection, SshError, sshConnection } from "../../transports/ssh";
import { diffKeys } from "./diff";
import { sshTarget } from "./common";

export interface NodeHostInputs {
  readonly node: string;
  /** Carried for reviewers and the policy pack (country rule); the host itself is not changed by them. */
  readonly country: string;
  readonly state: "active" | "draining";
  readonly ssh: SshEndpointInput;
  readonly hostname: string;
  readonly packages: string[];
  readonly encryptedMount: EncryptedMount;
  readonly keyDirs: Record<string, string>;
}

export interface NodeFacts {
  readonly machineId: string;
  readonly kernel: string;
  readonly os: string;
  readonly mountFsType: string;
  readonly mountSource: string;
}

const SLAPD_DEFAULTS = "/etc/default/slapd";
const BUSINESS = ["node", "country", "state", "ssh", "hostname", "packages", "encryptedMount", "keyDirs"];

export async function check(_olds: unknown, news: NodeHostInputs): Promise<pulumi.dynamic.CheckResult> {
  return { inputs: news };
}

export async function diff(_id: string, olds: NodeHostInputs, news: NodeHostInputs): Promise<pulumi.dynamic.DiffResult> {
  // The node's name is its identity: a different name is a different host.
  return diffKeys(olds as any, news as any, BUSINESS, ["node"]);
}

export async function create(inputs: NodeHostInputs): Promise<pulumi.dynamic.CreateResult> {
  return { id: inputs.node, outs: { ...inputs, facts: await converge(inputs) } };
}

export async function update(_id: string, _olds: NodeHostInputs, news: NodeHostInputs): Promise<pulumi.dynamic.UpdateResult> {
  return { outs: { ...news, facts: await converge(news) } };
}

export async function read(id: string, props: NodeHostInputs): Promise<pulumi.dynamic.ReadResult> {
  const conn = await sshConnection(sshTarget(props));
  return { id, props: { ...props, facts: await facts(conn, props.encryptedMount) } };
}

export async function delete_(): Promise<void> {
  // Intentionally nothing: see the file comment.
}
export { delete_ as delete };

async function converge(inputs: NodeHostInputs): Promise<NodeFacts> {
  const conn = await sshConnection(sshTarget(inputs));
  await setHostname(conn, inputs.hostname);
  await ensurePackages(conn, inputs.packages);
  await requireUnlocked(conn, inputs.encryptedMount);
  // Through the landing walk, not install -d: a key directory replaced by a symlink is refused
  // (install -d would follow it and chmod its target).
  const dirs = Object.values(inputs.keyDirs);
  await conn.run(landedArgv(inputs.node, inputs.encryptedMount, 'for d; do land_target=$d; land_dir "$d"; land_own; done', dirs), { label: "create key directories" });
  return facts(conn, inputs.encryptedMount);
}

async function setHostname(conn: SshConnection, hostname: string): Promise<void> {
  const current = (await conn.run(["cat", "/etc/hostname"], { allowFailure: true })).stdout.trim();
  if (current !== hostname) await conn.writeFile("/etc/hostname", hostname + "\n");
  await conn.run(["sh", "-c", '[ "$(hostname)" = "$1" ] || hostname "$1"', "sh", hostname], { label: `set hostname ${hostname}` });
}

async function ensurePackages(conn: SshConnection, packages: readonly string[]): Promise<void> {
  const r = await conn.run(["dpkg-query", "-W", "-f=${Package} ${db:Status-Status}\\n", ...packages], { allowFailure: true });
  const installed = new Set(r.stdout.split("\n").filter((l) => l.endsWith(" installed")).map((l) => l.split(" ")[0]));
  const missing = packages.filter((p) => !installed.has(p));
  if (missing.length === 0) return;
  // Debian's slapd starts at install on every address: give it ldapi only first (kept by confold).
  if (missing.includes("slapd") && (await conn.readFile(SLAPD_DEFAULTS)) === undefined) await conn.writeFile(SLAPD_DEFAULTS, PREINSTALL_SLAPD_DEFAULTS, { mode: "0644" });
  const dpkg = ["-o", "Dpkg::Options::=--force-confold", "-o", "Dpkg::Options::=--force-confdef"];
  const apt = await conn.run(["env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "install", "-y", "-q", "--no-install-recommends", ...dpkg, ...missing], {
    allowFailure: true,
  });
  if (apt.code !== 0) {
    throw new SshError(`[${conn.target.node}] cannot install missing packages ${missing.join(", ")}: ${apt.stderr.trim().split("\n").slice(-2).join(" ")}`, conn.target.node);
  }
}

async function facts(conn: SshConnection, mount: EncryptedMount): Promise<NodeFacts> {
  const r = await conn.exec(". /etc/os-release; cat /etc/machine-id; uname -r; echo \"$PRETTY_NAME\"", { label: "read node facts" });
  const [machineId, kernel, os] = r.stdout.trim().split("\n");
  const m = await probeMount(conn, mount);
  return {
    machineId,
    kernel,
    os,
    mountFsType: m.state === "unlocked" ? m.fsType : "",
    mountSource: m.state === "unlocked" ? m.source : "",
  };
}
