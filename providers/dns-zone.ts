import * as pulumi from "@pulumi/pulumi";
import type { DnsZoneInputs } from "./impl/dns-zone";
import { ThinResource } from "./thin";

export type DnsZoneArgs = { readonly [K in keyof DnsZoneInputs]: pulumi.Input<DnsZoneInputs[K]> };

/** The zone's text and a serial that moves only when the content does (see impl/dns-zone.ts). Contacts no host. */
export class DnsZone extends ThinResource {
  declare public readonly text: pulumi.Output<string>;
  declare public readonly serial: pulumi.Output<number>;
  declare public readonly digest: pulumi.Output<string>;

  constructor(name: string, args: DnsZoneArgs, opts?: pulumi.CustomResourceOptions) {
    super("dns-zone", "DnsZone", name, { text: undefined, serial: undefined, digest: undefined, ...args }, opts);
  }
}
