import * as pulumi from "@pulumi/pulumi";
import type { MeshCheckInputs } from "./impl/mesh-check";
import { ThinResource } from "./thin";

export type MeshCheckArgs = { readonly [K in keyof MeshCheckInputs]: pulumi.Input<MeshCheckInputs[K]> };

/**
 * Verifies the mesh from every member after it changed: full connectivity, and every revoked or
 * departed node refused by every member. Fails the update loudly otherwise. Never contacts a
 * revoked node.
 */
export class MeshCheck extends ThinResource {
  declare public readonly matrix: pulumi.Output<Record<string, Record<string, number | null>>>;
  declare public readonly refusedBy: pulumi.Output<Record<string, Record<string, number | null>>>;

  constructor(name: string, args: MeshCheckArgs, opts?: pulumi.CustomResourceOptions) {
    super("mesh-check", "MeshCheck", name, { matrix: undefined, refusedBy: undefined, checkedMs: undefined, ...args }, opts);
  }
}
