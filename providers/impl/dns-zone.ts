/**
 * DnsZone: the zone text with its serial. The serial must move only when the content does
 * (`nextSerial(digest, previous)`), and the previous serial and digest live in the stack's state —
 * which a Pulumi program cannot read, but a provider's update gets as `olds`. So this resource is
 * the zone's memory and nothing else: no host is contacted, create renders serial 1, update renders
 * with the recorded {serial, digest}, and diff compares only the zone's input, so a no-op `up`
 * never runs update and the serial stays. The HostFiles that write the zone take `text` from here.
 */
import type * as pulumi from "@pulumi/pulumi";
import { renderZone, zoneProblems, type ZoneInput } from "../../planning/dns";
import { diffKeys } from "./diff";
import { isUnknown } from "./common";

export interface DnsZoneInputs {
  /** The zone's input without `previous` (that is this resource's own state). */
  readonly zone: Omit<ZoneInput, "previous">;
}

export interface DnsZoneOutputs extends DnsZoneInputs {
  readonly text: string;
  readonly serial: number;
  readonly digest: string;
}

export async function check(_olds: unknown, news: DnsZoneInputs): Promise<pulumi.dynamic.CheckResult> {
  if (isUnknown(news.zone)) return { inputs: news };
  if (typeof news.zone !== "object" || news.zone === null || !Array.isArray(news.zone.nodes)) return { inputs: news, failures: [{ property: "zone", reason: "zone must be {domain, ttl, nodes, dmarc}" }] };
  const problems = zoneProblems(news.zone);
  return problems.length ? { inputs: news, failures: problems.map((reason) => ({ property: "zone", reason })) } : { inputs: news };
}

export async function diff(_id: string, olds: DnsZoneOutputs, news: DnsZoneInputs): Promise<pulumi.dynamic.DiffResult> {
  return diffKeys(olds as any, news as any, ["zone"]);
}

export async function create(inputs: DnsZoneInputs): Promise<pulumi.dynamic.CreateResult> {
  return { id: inputs.zone.domain, outs: { ...inputs, ...renderZone(inputs.zone) } };
}

export async function update(_id: string, olds: DnsZoneOutputs, news: DnsZoneInputs): Promise<pulumi.dynamic.UpdateResult> {
  return { outs: { ...news, ...renderZone({ ...news.zone, previous: { serial: olds.serial, digest: olds.digest } }) } };
}

export async function read(id: string, props: DnsZoneOutputs): Promise<pulumi.dynamic.ReadResult> {
  return { id, props };
}

export async function delete_(): Promise<void> {
  // Nothing on any host.
}
export { delete_ as delete };
