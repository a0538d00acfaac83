import * as pulumi from "@pulumi/pulumi";
import type { ClusterConfig } from "../planning/config";
import { placementProblems, PlacementLimitsInput } from "../planning/placement/moves";
import { UserPlacementResource } from "../providers/user-placement";
import type { LdapReplica } from "./ldap-replica";
import { MailRouting, storePathOf } from "./mail-routing";
import type { Node } from "./node";

/** The placement record (placement.<stack>.yaml), as the program read it. */
export interface PlacementRecordInput {
  readonly users: Readonly<Record<string, { readonly home: string; readonly bytes: number }>>;
  readonly pins: Readonly<Record<string, string>>;
  readonly limits: PlacementLimitsInput;
}

export interface UserPlacementArgs {
  /** The validated cluster config: every node and its state. */
  readonly cluster: ClusterConfig;
  /** The Node component of every non-revoked node, by name. */
  readonly nodes: Readonly<Record<string, Node>>;
  /** The directory: homes are written on its master and read from every replica. */
  readonly ldap: LdapReplica;
  /** Mail: moves need each node's daemons configured (the move channel, the freeze). */
  readonly mail: MailRouting;
  /** Every user's home, reviewed like code. */
  readonly record: PlacementRecordInput;
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

  constructor(name: string, args: UserPlacementArgs, opts?: pulumi.ComponentResourceOptions) {
    const homes = Object.fromEntries(Object.entries(args.record.users).map(([u, p]) => [u, p.home]));
    const sizes = Object.fromEntries(Object.entries(args.record.users).map(([u, p]) => [u, p.bytes]));
    const nodeRefs = args.cluster.nodes.map((n) => ({ name: n.name, state: n.state }));
    const problems = placementProblems({ homes, sizes, pins: args.record.pins, limits: args.record.limits, nodes: nodeRefs }, {});
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
        })),
        master: ldap.master,
        suffix: ldap.suffix,
        ldapiSocket: ldap.settings.ldapiSocket,
        homes,
        sizes,
        pins: args.record.pins,
        limits: args.record.limits,
      },
      { parent: this, dependsOn: [...Object.values(args.mail.daemons).flatMap((d) => [d.postfix, d.dovecot]), args.ldap.entries] },
    );
    this.registerOutputs({ directory: this.resource.directory, moves: this.resource.moves });
  }
}
