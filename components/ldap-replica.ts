import * as crypto from "crypto";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import type { ClusterConfig } from "../planning/config";
import { baseEntries, DEFAULT_SWITCH_TIMEOUT_MS, LdapNodePlan, LdapPlan, nodeIdentityEntry, planLdap, slapdNodeSpec, sshaHash } from "../planning/ldap";
import { HostFiles } from "../providers/host-files";
import { LdapEntries } from "../providers/ldap-entries";
import { SlapdConfig } from "../providers/ldap-slapd";
import type { Node } from "./node";
import type { VpnMesh } from "./vpn-mesh";

export interface LdapReplicaArgs {
  /** The validated cluster config (index.ts reads it); `ldap` must be set. */
  readonly cluster: ClusterConfig;
  /** The Node component of every non-revoked node, by node name. */
  readonly nodes: Readonly<Record<string, Node>>;
  /** The VPN: replication runs over it, and slapd listens on each node's VPN address. */
  readonly mesh: VpnMesh;
  /** How long a new master may take to catch up with the old one during a switch (ms, default 10 000). */
  readonly switchTimeoutMs?: number;
}

/** Every problem with the args at once. */
export function validateLdapReplicaArgs(args: LdapReplicaArgs, plan: LdapPlan): void {
  const problems: string[] = [];
  for (const n of plan.nodes) if (!args.nodes[n.node]) problems.push(`replica ${n.node} has no Node component`);
  for (const r of plan.revoked) if (args.nodes[r]) problems.push(`revoked node ${r} must not have a Node component (it is never contacted)`);
  for (const name of Object.keys(args.nodes)) if (!plan.nodes.some((n) => n.node === name) && !plan.revoked.includes(name)) problems.push(`Node ${name} is not in the cluster config`);
  if (args.switchTimeoutMs !== undefined && !(Number.isInteger(args.switchTimeoutMs) && args.switchTimeoutMs > 0)) problems.push("switchTimeoutMs must be a positive integer");
  if (problems.length > 0) throw new Error(`invalid LdapReplica args:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
}

/** A digest that changes when a secret is rotated, without revealing it. */
function secretDigest(node: string, secret: string): string {
  return crypto.createHash("sha256").update(`rplan-ldap-secret\0${node}\0${present(node, secret)}`).digest("hex").slice(0, 16);
}

/** A RandomPassword always has a result once known; only test mocks can forget it — say so. */
function present(node: string, secret: string | undefined): string {
  if (typeof secret !== "string" || secret === "") throw new Error(`the replication secret of ${node} has no value (a mock RandomPassword must return a result)`);
  return secret;
}

/**
 * slapd on every node, one master role, replication over the VPN.
 *
 * Per node: a RandomPassword (its replication identity's secret; a new one for every survivor
 * whenever the set of revoked nodes changes), a HostFiles writing it inside the node's encrypted
 * mount (`<slapd key dir>/replicator.secret`, 0600, openldap), and a SlapdConfig (cn=config inside
 * the mount; syncprov everywhere; consumers: refreshAndPersist from the master, referral to it).
 * On the master: an LdapEntries with the tree and every node's identity (hash of its secret); a
 * revoked node's identity is deleted there. Order: the master's SlapdConfig, then the entries, then
 * every consumer's SlapdConfig — so in a master switch the new master's takeover (freeze old master,
 * wait for contextCSN, promote) runs before the old master is demoted and the others repointed.
 */
export class LdapReplica extends pulumi.ComponentResource {
  public readonly plan: LdapPlan;
  /** Node → role. */
  public readonly roles: Readonly<Record<string, string>>;
  /** Node → olcServerID. */
  public readonly serverIds: Readonly<Record<string, number>>;
  public readonly secrets: Readonly<Record<string, random.RandomPassword>>;
  public readonly secretFiles: Readonly<Record<string, HostFiles>>;
  public readonly slapd: Readonly<Record<string, SlapdConfig>>;
  public readonly entries: LdapEntries;
  /** Node → contextCSN after the last update (replication state, for reviewers and benchmarks). */
  public readonly contextCSN: pulumi.Output<Record<string, string[]>>;
  /** What the last master switch did and how long it took (undefined when none ran). */
  public readonly lastSwitch: pulumi.Output<unknown>;

  constructor(name: string, args: LdapReplicaArgs, opts?: pulumi.ComponentResourceOptions) {
    const plan = planLdap(args.cluster);
    validateLdapReplicaArgs(args, plan);
    super("rplan:ldap:LdapReplica", name, {}, opts);
    this.plan = plan;
    this.roles = Object.fromEntries(plan.nodes.map((n) => [n.node, n.role]));
    this.serverIds = Object.fromEntries(plan.nodes.map((n) => [n.node, n.serverId]));

    const ssh = (node: string) => args.nodes[node].ssh;
    const mount = (node: string) => args.nodes[node].config.encryptedMount;
    const master = { node: plan.master, ssh: ssh(plan.master) };
    const revoked = plan.revoked.join(",");
    // slapd binds the node's VPN address: it starts after the VPN's unit.
    const settings = { ...plan.settings, startAfter: [`${args.mesh.plan.settings.systemdUnit}.service`] };

    const secrets: Record<string, random.RandomPassword> = {};
    const secretFiles: Record<string, HostFiles> = {};
    for (const n of plan.nodes) {
      secrets[n.node] = new random.RandomPassword(
        `${name}-${n.node}-secret`,
        // Alphanumeric only: it is written inside a quoted syncrepl value. 40 characters ≈ 238 bits.
        { length: 40, special: false, keepers: { node: n.node, revoked } },
        { parent: this, additionalSecretOutputs: ["result", "bcryptHash"] },
      );
      secretFiles[n.node] = new HostFiles(
        `${name}-${n.node}-secret-file`,
        { node: n.node, ssh: ssh(n.node), encryptedMount: mount(n.node), files: [{ path: n.secretPath, content: secrets[n.node].result, mode: "0600", owner: `${plan.settings.user}:${plan.settings.group}` }] },
        { parent: this, dependsOn: [args.nodes[n.node].host] },
      );
    }
    this.secrets = secrets;
    this.secretFiles = secretFiles;

    const slapdFor = (n: LdapNodePlan, dependsOn: pulumi.Resource[]) =>
      new SlapdConfig(
        `${name}-${n.node}-slapd`,
        {
          node: n.node,
          ssh: ssh(n.node),
          encryptedMount: mount(n.node),
          spec: slapdNodeSpec(plan, n.node),
          settings,
          secretPath: n.secretPath,
          secretDigest: secrets[n.node].result.apply((s) => secretDigest(n.node, s)),
          master,
          revoked: [...plan.revoked],
          switchTimeoutMs: args.switchTimeoutMs ?? DEFAULT_SWITCH_TIMEOUT_MS,
        },
        { parent: this, dependsOn: [...args.nodes[n.node].daemonsAfter, secretFiles[n.node], args.mesh.check, ...dependsOn] },
      );

    const masterPlan = plan.nodes.find((n) => n.node === plan.master)!;
    const masterSlapd = slapdFor(masterPlan, []);
    const identities = plan.nodes.map((n) => secrets[n.node].result.apply((s) => nodeIdentityEntry(plan.suffix, n.node, sshaHash(present(n.node, s), n.identityDn))));
    this.entries = new LdapEntries(
      `${name}-entries`,
      {
        master,
        socketPath: plan.settings.ldapiSocket,
        suffix: plan.suffix,
        entries: pulumi.all(identities).apply((ids) => [...baseEntries(plan.suffix, args.cluster.domain), ...ids]),
        prune: [plan.dns.nodes],
      },
      { parent: this, dependsOn: [masterSlapd] },
    );
    const slapd: Record<string, SlapdConfig> = { [plan.master]: masterSlapd };
    for (const n of plan.nodes) if (n.node !== plan.master) slapd[n.node] = slapdFor(n, [masterSlapd, this.entries]);
    this.slapd = slapd;

    // The master's as read after the entries were written (its SlapdConfig runs before them).
    const csnOf = (node: string) => (node === plan.master ? pulumi.all([this.entries.contextCSN, slapd[node].contextCSN]).apply(([e, s]) => e ?? s) : slapd[node].contextCSN);
    this.contextCSN = pulumi.all(Object.fromEntries(plan.nodes.map((n) => [n.node, csnOf(n.node)]))) as pulumi.Output<Record<string, string[]>>;
    // "none" rather than undefined: an undefined stack output is dropped with a warning.
    this.lastSwitch = masterSlapd.switch.apply((s) => s ?? "none");
    this.registerOutputs({ roles: this.roles, serverIds: this.serverIds, contextCSN: this.contextCSN, lastSwitch: this.lastSwitch });
  }
}
