import * as pulumi from "@pulumi/pulumi";
import type { ClusterConfig } from "../planning/config";
import { placementProblems } from "../planning/placement/moves";
import { PlacementRecord, recordAsInputs } from "../planning/placement/record";
import { completeRecord, describeStandbyChange } from "../planning/placement/standby";
import { renderStandbyMap, STANDBY_MAP } from "../planning/quantum/standby-sync";
import { isLive } from "../planning/node-roles";
import { heldDirOf } from "../planning/mail/held";
import { HostFiles } from "../providers/host-files";
import { UserPlacementResource } from "../providers/user-placement";
import type { LdapReplica } from "./ldap-replica";
import { MailRouting, storePathOf } from "./mail-routing";
import type { Node } from "./node";

export interface UserPlacementArgs {
  /** The validated cluster config: every node and its state. */
  readonly cluster: ClusterConfig;
  /** The Node component of every non-revoked node, by name. */
  readonly nodes: Readonly<Record<string, Node>>;
  /** The directory: homes are written on its master and read from every replica. */
  readonly ldap: LdapReplica;
  /** Mail: moves need each node's daemons configured (the move channel, the freeze). */
  readonly mail: MailRouting;
  /** Every user's home, reviewed like code: the placement file (placement.<stack>.yaml) as the program read it. */
  readonly record: PlacementRecord;
  /** Per node, where its Maildirs live (as given to MailRouting). */
  readonly storePaths?: Readonly<Record<string, string>>;
}

/**
 * UserPlacement: the quantum — one user's data — lives on one node, and the placement record says
 * which. One resource carries the whole record out (providers/impl/user-placement.ts says why one
 * and not one per user): an update moves every user whose home changed, and the preview lists each
 * move ("alice: lab1 → lab3, 1.2 GB"). The record's own rules (known nodes, pins, the byte cap) are
 * checked here too, so a bad record stops the program before anything is registered.
 */
export class UserPlacement extends pulumi.ComponentResource {
  public readonly resource: UserPlacementResource;
  /** Node → the map of standbys its replicator reads (planning/quantum/standby-sync.ts). */
  public readonly standbyMaps: Readonly<Record<string, HostFiles>>;

  constructor(name: string, args: UserPlacementArgs, opts?: pulumi.ComponentResourceOptions) {
    const nodeRefs = args.cluster.nodes.map((n) => ({ name: n.name, state: n.state }));
    // A seized (revoked) home's users are promoted onto their standby, and every user gets a valid
    // standby, in this very update: the file catches up with `npm run placement -- plan`.
    const complete = completeRecord(args.record, args.cluster.nodes);
    const problems = [...complete.problems, ...placementProblems(complete.record, nodeRefs, {})];
    if (problems.length > 0) throw new Error(`invalid placement (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    super("rplan:placement:UserPlacement", name, {}, opts);
    const ldap = args.ldap.plan;
    this.resource = new UserPlacementResource(
      `${name}-homes`,
      {
        nodes: args.cluster.nodes.map((n) => ({
          name: n.name,
          state: n.state,
          ...(args.nodes[n.name] ? { ssh: args.nodes[n.name].ssh } : {}),
          vpnAddress: n.vpnAddress,
          storePath: args.storePaths?.[n.name] ?? storePathOf(n),
          heldPath: heldDirOf(n.encryptedMount.path),
        })),
        master: ldap.master,
        suffix: ldap.suffix,
        ldapiSocket: ldap.settings.ldapiSocket,
        ...recordAsInputs(complete.record),
        ...(complete.changes.length > 0 ? { standbyChanges: complete.changes.map(describeStandbyChange) } : {}),
        ...(complete.promotions.length > 0 ? { promotedFrom: Object.fromEntries(complete.promotions.map((p) => [p.user, p.from])) } : {}),
      },
      { parent: this, dependsOn: placementDependsOn(args, complete.promotions.length > 0) },
    );
    // Every live node's replicator reads who stands by for whom (it acts for the users the directory homes there).
    const standbys = recordAsInputs(complete.record).standbys ?? {};
    const vpnAddresses = Object.fromEntries(args.cluster.nodes.filter(isLive).map((n) => [n.name, n.vpnAddress]));
    const map = renderStandbyMap({ standbys: Object.fromEntries(Object.entries(standbys).filter(([, n]) => Object.hasOwn(vpnAddresses, n))), vpnAddresses });
    const standbyMaps: Record<string, HostFiles> = {};
    for (const n of args.cluster.nodes.filter(isLive)) {
      if (!args.nodes[n.name]) throw new Error(`UserPlacement: live node ${n.name} has no Node component`);
      standbyMaps[n.name] = new HostFiles(`${n.name}-standby-map`, { node: n.name, ssh: args.nodes[n.name].ssh, files: [{ path: STANDBY_MAP, content: map }] }, { parent: this, dependsOn: [args.mail.daemons[n.name].dovecot] });
    }
    this.standbyMaps = standbyMaps;
    this.registerOutputs({ directory: this.resource.directory, moves: this.resource.moves });
  }
}

/**
 * What the placement waits for. Moves need every node's mail daemons configured (the move channel,
 * the freeze), so normally all of them. While a seized home's users are being promoted, they wait
 * only for the directory's entries (after the master's slapd, after the survivors proved the seized
 * node cut off): a promotion writes homes on the master and asks running daemons to forget routes,
 * and waiting for every node's mail configuration would keep those users without mail for the
 * whole revocation (docs/seizure.md).
 */
export function placementDependsOn(args: Pick<UserPlacementArgs, "mail" | "ldap">, promoting: boolean): pulumi.Resource[] {
  if (promoting) return [args.ldap.entries];
  return [...Object.values(args.mail.daemons).flatMap((d) => [d.postfix, d.dovecot]), args.ldap.entries];
}
