import * as pulumi from "@pulumi/pulumi";
import type { ClusterConfig } from "../planning/config";
import { placementProblems } from "../planning/placement/moves";
import { PlacementRecord, recordAsInputs } from "../planning/placement/record";
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

  constructor(name: string, args: UserPlacementArgs, opts?: pulumi.ComponentResourceOptions) {
    const nodeRefs = args.cluster.nodes.map((n) => ({ name: n.name, state: n.state }));
    const problems = placementProblems(args.record, nodeRefs, {});
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
        ...recordAsInputs(args.record),
      },
      { parent: this, dependsOn: [...Object.values(args.mail.daemons).flatMap((d) => [d.postfix, d.dovecot]), args.ldap.entries] },
    );
    this.registerOutputs({ directory: this.resource.directory, moves: this.resource.moves });
  }
}
