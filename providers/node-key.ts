import * as pulumi from "@pulumi/pulumi";
import type { NodeKeyInputs } from "./impl/node-key";
import { ThinResource } from "./thin";

export type NodeKeyArgs = { readonly [K in keyof NodeKeyInputs]: pulumi.Input<NodeKeyInputs[K]> };

/**
 * A node's tinc RSA key pair, generated on the node inside its (verified, unlocked) encrypted mount.
 * Only the public half is an output. A new `generation` replaces it with a fresh key.
 */
export class NodeKey extends ThinResource {
  declare public readonly publicKey: pulumi.Output<string>;
  declare public readonly fingerprint: pulumi.Output<string>;
  declare public readonly privateKeyPath: pulumi.Output<string>;
  declare public readonly generation: pulumi.Output<number>;

  constructor(name: string, args: NodeKeyArgs, opts?: pulumi.CustomResourceOptions) {
    super("node-key", "NodeKey", name, { publicKey: undefined, fingerprint: undefined, ...args }, opts);
  }
}
