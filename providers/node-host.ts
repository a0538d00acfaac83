import * as pulumi from "@pulumi/pulumi";
import type { NodeFacts, NodeHostInputs } from "./impl/node-host";
import { ThinResource } from "./thin";

export type { NodeFacts };

/** Inputs of a NodeHost, each may be an Output. */
export type NodeHostArgs = { readonly [K in keyof NodeHostInputs]: pulumi.Input<NodeHostInputs[K]> };

/** The base state of one node, reached over SSH with its pinned host key. */
export class NodeHost extends ThinResource {
  declare public readonly facts: pulumi.Output<NodeFacts>;
  declare public readonly hostname: pulumi.Output<string>;

  constructor(name: string, args: NodeHostArgs, opts?: pulumi.CustomResourceOptions) {
    super("node-host", "NodeHost", name, { facts: undefined, ...args }, opts);
  }
}
