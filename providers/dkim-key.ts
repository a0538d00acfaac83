import * as pulumi from "@pulumi/pulumi";
import type { DkimKeyInputs } from "./impl/dkim-key";
import { ThinResource } from "./thin";

export type DkimKeyArgs = { readonly [K in keyof DkimKeyInputs]: pulumi.Input<DkimKeyInputs[K]> };

/**
 * A node's DKIM signing key, generated on the node inside its (verified, unlocked) encrypted mount.
 * Only the public half (`publicKey`, the zone's `p=` value) is an output. A new `generation`
 * replaces it with a fresh key.
 */
export class DkimKey extends ThinResource {
  declare public readonly publicKey: pulumi.Output<string>;
  declare public readonly selector: pulumi.Output<string>;
  declare public readonly privateKeyPath: pulumi.Output<string>;
  declare public readonly generation: pulumi.Output<number>;

  constructor(name: string, args: DkimKeyArgs, opts?: pulumi.CustomResourceOptions) {
    super("dkim-key", "DkimKey", name, { publicKey: undefined, ...args }, opts);
  }
}
