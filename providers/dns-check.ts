import * as pulumi from "@pulumi/pulumi";
import type { DnsCheckInputs } from "./impl/dns-check";
import { ThinResource } from "./thin";

export type DnsCheckArgs = { readonly [K in keyof DnsCheckInputs]: pulumi.Input<DnsCheckInputs[K]> };

/**
 * Verifies the served zone with `dig` from every node that is not revoked, against every name
 * server, after the zone changed: the new serial everywhere, revoked nodes gone. Fails the update
 * loudly otherwise. Never contacts a revoked node.
 */
export class DnsCheck extends ThinResource {
  declare public readonly goneAfterMs: pulumi.Output<Record<string, Record<string, number | null>>>;

  constructor(name: string, args: DnsCheckArgs, opts?: pulumi.CustomResourceOptions) {
    super("dns-check", "DnsCheck", name, { goneAfterMs: undefined, checkedMs: undefined, ...args }, opts);
  }
}
