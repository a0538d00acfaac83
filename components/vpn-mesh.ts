import * as pulumi from "@pulumi/pulumi";
import type { ClusterConfig } from "../planning/config";
import { MeshFileSlot, MeshMember, MeshPlan, nodeFileLayout, planMesh } from "../planning/mesh";
import { HostFiles } from "../providers/host-files";
import { MeshCheck } from "../providers/mesh-check";
import { NodeKey } from "../providers/node-key";
import type { Node } from "./node";

export interface VpnMeshArgs {
  /** The validated cluster config (index.ts reads it). */
  readonly cluster: ClusterConfig;
  /** The Node component of every non-revoked node, by node name. */
  readonly nodes: Readonly<Record<string, Node>>;
  /** How long the final check keeps probing a failing member before the update fails (ms, default 20 000). */
  readonly checkTimeoutMs?: number;
}

/** Every problem with the args at once (awsx `validateVpcArgs` style). */
export function validateVpnMeshArgs(args: VpnMeshArgs, plan: MeshPlan): void {
  const problems: string[] = [];
  for (const m of plan.members) if (!args.nodes[m.node]) problems.push(`mesh member ${m.node} has no Node component`);
  for (const r of plan.revoked) if (args.nodes[r.node]) problems.push(`revoked node ${r.node} must not have a Node component (it is never contacted)`);
  for (const name of Object.keys(args.nodes)) {
    if (!plan.members.some((m) => m.node === name) && !plan.revoked.some((r) => r.node === name)) problems.push(`Node ${name} is not in the cluster config`);
  }
  if (args.checkTimeoutMs !== undefined && !(Number.isInteger(args.checkTimeoutMs) && args.checkTimeoutMs >= 0)) problems.push("checkTimeoutMs must be a non-negative integer");
  if (problems.length > 0) throw new Error(`invalid VpnMesh args:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
}

/**
 * The tinc 1.0 full mesh among the active and draining nodes.
 *
 * Per member: a NodeKey (RSA key generated on the node inside its encrypted mount; only the public
 * half comes back), a HostFiles `<member>-tinc-hosts` (tinc.conf with ConnectTo every other member
 * and StrictSubnets, and the hosts/ directory: one file per member with address, /32 subnet,
 * compression and public key; strays removed; SIGHUP), and a HostFiles `<member>-tinc-self`
 * (tinc-up with address, MTU 1400 and ring routes, tinc-down, the key identity marker; unit
 * enabled and restarted) applied only after every member's hosts/ is up to date — so a node whose
 * key was rotated restarts with it only when every peer already trusts the new key, and a node
 * that joins starts only when every peer knows it. Finally a MeshCheck proves from every member
 * that the mesh is whole and that revoked or departed nodes are refused.
 */
export class VpnMesh extends pulumi.ComponentResource {
  /** Trust ring → VPN subnet, for the LDAP ACLs of the next capability. */
  public readonly ringCidrs: Readonly<Record<string, string>>;
  /** Member → tinc public key (PEM). */
  public readonly publicKeys: pulumi.Output<Record<string, string>>;
  /** Member → key fingerprint (SHA256 of the DER). */
  public readonly fingerprints: pulumi.Output<Record<string, string>>;
  /** from → to → ms over the VPN, measured by the last check. */
  public readonly matrix: pulumi.Output<Record<string, Record<string, number | null>>>;
  /** The pure plan (members, revoked nodes, settings). */
  public readonly plan: MeshPlan;
  public readonly keys: Readonly<Record<string, NodeKey>>;
  /** Per member: tinc.conf and hosts/ (applied first everywhere, then SIGHUP). */
  public readonly hostsFiles: Readonly<Record<string, HostFiles>>;
  /** Per member: tinc-up, tinc-down, key identity (applied after every member's hosts/, then restart). */
  public readonly selfFiles: Readonly<Record<string, HostFiles>>;
  public readonly check: MeshCheck;

  constructor(name: string, args: VpnMeshArgs, opts?: pulumi.ComponentResourceOptions) {
    // Plan and validate before registering anything: bad args stop here, with every problem.
    const plan = planMesh(args.cluster);
    validateVpnMeshArgs(args, plan);
    super("rplan:mesh:VpnMesh", name, {}, opts);
    this.plan = plan;
    this.ringCidrs = plan.ringCidrs;
    const s = plan.settings;

    const ssh = (m: MeshMember) => args.nodes[m.node].ssh;
    const mount = (m: MeshMember) => args.nodes[m.node].config.encryptedMount;

    const keys: Record<string, NodeKey> = {};
    for (const m of plan.members) {
      keys[m.node] = new NodeKey(
        `${name}-${m.node}-key`,
        {
          node: m.node,
          tincName: m.tincName,
          ssh: ssh(m),
          encryptedMount: mount(m),
          privateKeyPath: m.privateKeyPath,
          generation: m.keyGeneration,
          keyBits: s.keyBits,
        },
        { parent: this, dependsOn: [args.nodes[m.node].host] },
      );
    }
    this.keys = keys;

    const fill = (slot: MeshFileSlot) =>
      slot.keyOf === undefined
        ? { path: slot.path, content: slot.content, mode: slot.mode, owner: slot.owner }
        : { path: slot.path, content: keys[slot.keyOf].publicKey.apply(slot.render), mode: slot.mode, owner: slot.owner };

    const layouts = Object.fromEntries(plan.members.map((m) => [m.node, nodeFileLayout(plan, m.node)]));
    const hostsList: HostFiles[] = plan.members.map((m) => {
      const l = layouts[m.node];
      return new HostFiles(
        `${name}-${m.node}-tinc-hosts`,
        { node: m.node, ssh: ssh(m), encryptedMount: mount(m), files: l.peers.map(fill), prune: [...l.prunePeers], reload: l.reloadPeers.map((c) => [...c]) },
        { parent: this, dependsOn: [...args.nodes[m.node].daemonsAfter] },
      );
    });
    const selfList: HostFiles[] = plan.members.map((m) => {
      const l = layouts[m.node];
      return new HostFiles(
        `${name}-${m.node}-tinc-self`,
        { node: m.node, ssh: ssh(m), encryptedMount: mount(m), files: l.self.map(fill), reload: l.reloadSelf.map((c) => [...c]) },
        { parent: this, dependsOn: [...args.nodes[m.node].daemonsAfter, keys[m.node], ...hostsList] },
      );
    });

    this.hostsFiles = Object.fromEntries(plan.members.map((m, i) => [m.node, hostsList[i]]));
    this.selfFiles = Object.fromEntries(plan.members.map((m, i) => [m.node, selfList[i]]));

    const fingerprints = pulumi.all(Object.fromEntries(plan.members.map((m) => [m.node, keys[m.node].fingerprint])));
    this.fingerprints = fingerprints;
    this.publicKeys = pulumi.all(Object.fromEntries(plan.members.map((m) => [m.node, keys[m.node].publicKey])));
    this.check = new MeshCheck(
      `${name}-check`,
      {
        confDir: s.confDir,
        port: s.port,
        systemdUnit: s.systemdUnit,
        members: fingerprints.apply((fp) =>
          plan.members.map((m) => ({ node: m.node, tincName: m.tincName, vpnAddress: m.vpnAddress, publicAddress: m.publicAddress, ssh: ssh(m), fingerprint: fp[m.node] })),
        ),
        revoked: plan.revoked.map((r) => ({ ...r })),
        timeoutMs: args.checkTimeoutMs ?? 20_000,
      },
      { parent: this, dependsOn: [...hostsList, ...selfList] },
    );
    this.matrix = this.check.matrix;

    this.registerOutputs({ ringCidrs: this.ringCidrs, publicKeys: this.publicKeys, fingerprints: this.fingerprints, matrix: this.matrix });
  }
}
