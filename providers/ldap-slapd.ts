import * as pulumi from "@pulumi/pulumi";
import type { SlapdConfigInputs, SwitchReport } from "./impl/ldap-slapd";
import { ThinResource } from "./thin";

export type SlapdConfigArgs = { readonly [K in Exclude<keyof SlapdConfigInputs, "transition">]: pulumi.Input<SlapdConfigInputs[K]> };

/**
 * One node's slapd, configured through cn=config over ldapi (see providers/impl/ldap-slapd.ts).
 * When the node becomes master, its update freezes the old master, waits for its contextCSN and
 * promotes it; the other nodes' SlapdConfigs must depend on the master's.
 */
export class SlapdConfig extends ThinResource {
  /** Role change shown by preview ("" when none). */
  declare public readonly transition: pulumi.Output<string>;
  declare public readonly applied: pulumi.Output<string[]>;
  declare public readonly contextCSN: pulumi.Output<string[]>;
  declare public readonly switch: pulumi.Output<SwitchReport | undefined>;

  constructor(name: string, args: SlapdConfigArgs, opts?: pulumi.CustomResourceOptions) {
    super("ldap-slapd", "SlapdConfig", name, { transition: undefined, applied: undefined, contextCSN: undefined, switch: undefined, ...args }, opts);
  }
}
