import * as pulumi from "@pulumi/pulumi";
import type { ClusterConfig } from "../planning/config";
import { DEFAULT_TTL, KNOT_CONF, KNOT_STOP, knotReload, renderKnotConf, zoneFilePath, zoneProblems, ZoneError, type ZoneInput } from "../planning/dns";
import { DnsCheck } from "../providers/dns-check";
import { DnsZone } from "../providers/dns-zone";
import { HostFiles } from "../providers/host-files";
import type { Node } from "./node";
import { isLive, sendsMail, servesDns } from "../planning/node-roles";

export interface DnsArgs {
  /** The validated cluster config (index.ts reads it): domain, nodes and their states, `rplan:dns`. */
  readonly cluster: ClusterConfig;
  /** The Node component of every non-revoked node, by node name. */
  readonly nodes: Readonly<Record<string, Node>>;
  /**
   * Node → the public half of its DKIM key (MailRouting's), published at `<node>._domainkey`. A node
   * without one (no mail, or revoked) has no selector: a revoked node's signatures stop verifying in
   * the same update that withdraws it.
   */
  readonly dkimPublicKeys?: Readonly<Record<string, pulumi.Input<string>>>;
  /** How long the final check keeps asking a failing node before the update fails (ms, default 20 000). */
  readonly checkTimeoutMs?: number;
}

/** The zone's input from the config: every node, revoked ones included (the renderer leaves them out; the check proves them gone). */
export function zoneInputOf(cluster: ClusterConfig): Omit<ZoneInput, "previous"> {
  const dns = cluster.dns ?? { ttl: DEFAULT_TTL };
  return {
    domain: cluster.domain,
    ttl: dns.ttl,
    nodes: cluster.nodes.map((n) => ({ name: n.name, state: n.state, publicAddress: n.publicAddress })),
    ...(dns.dmarc ? { dmarc: { ...dns.dmarc } } : {}),
  };
}

/** Every problem with the args at once. */
export function validateDnsArgs(args: DnsArgs, zone: Omit<ZoneInput, "previous">): void {
  const problems = zoneProblems(zone);
  for (const n of args.cluster.nodes) {
    if (!isLive(n) && args.nodes[n.name]) problems.push(`revoked node ${n.name} must not have a Node component (it is never contacted)`);
    if (isLive(n) && !args.nodes[n.name]) problems.push(`node ${n.name} has no Node component`);
    if (!sendsMail(n) && args.dkimPublicKeys?.[n.name] !== undefined) problems.push(`revoked node ${n.name} must not publish a DKIM key (its selector is withdrawn)`);
  }
  for (const name of Object.keys(args.dkimPublicKeys ?? {})) if (!args.cluster.nodes.some((n) => n.name === name)) problems.push(`dkimPublicKeys names ${name}, which is not a node of the cluster`);
  if (args.checkTimeoutMs !== undefined && !(Number.isInteger(args.checkTimeoutMs) && args.checkTimeoutMs >= 0)) problems.push("checkTimeoutMs must be a non-negative integer");
  if (problems.length > 0) throw new ZoneError(problems);
}

/**
 * The cluster's DNS: the zone (planning/dns) served by knot on every ACTIVE node, on its public
 * address, and proven by real queries after every change.
 *
 * A component of its own, not part of MailDaemons or MailRouting: the zone is the cluster's, not a
 * node's mail configuration — it changes when any node changes state (a revocation must withdraw a
 * node from every survivor in the same update, like the mesh), knot is a daemon of its own with its
 * own reload, and the zone (NS, MX, SPF, the service names) is needed with or without a directory,
 * while MailRouting exists only with one.
 *
 * - `dns-zone` (DnsZone): the zone text and its serial, which moves only when the content does; the
 *   previous serial and digest are that resource's own state (see providers/impl/dns-zone.ts).
 * - Per active node: `dns-<node>-knot-conf` (knot.conf: listen on the public address only; check,
 *   enable, restart) and `dns-<node>-zone` (the zone file; `knotc zone-check`, `knotc -b zone-reload`).
 * - Per draining node: `dns-<node>-knot-conf` lists no file: the old knot.conf is removed and knot
 *   stopped and disabled. As docs/dns.md says, only active nodes serve (NS lists only them); a
 *   draining node keeps its own name in the zone the others serve.
 * - `dns-check` (DnsCheck): `dig` on every non-revoked node against every server: the new serial
 *   everywhere, revoked nodes (and nodes dropped from the config) gone; the update fails otherwise.
 * A revoked node gets nothing and is never contacted.
 */
export class Dns extends pulumi.ComponentResource {
  public readonly zone: DnsZone;
  /** Per active or draining node: knot.conf (draining: none, knot stopped). */
  public readonly knotConf: Readonly<Record<string, HostFiles>>;
  /** Per active node: the zone file. */
  public readonly zoneFiles: Readonly<Record<string, HostFiles>>;
  public readonly check: DnsCheck;
  /** The serial every server serves after the last update. */
  public readonly serial: pulumi.Output<number>;

  constructor(name: string, args: DnsArgs, opts?: pulumi.ComponentResourceOptions) {
    const zoneInput = zoneInputOf(args.cluster);
    // Validated before anything is registered: a zone the servers would refuse stops the preview.
    validateDnsArgs(args, zoneInput);
    super("rplan:dns:Dns", name, {}, opts);
    const domain = args.cluster.domain;
    // The zone with every live node's DKIM selector (keys are outputs: known once generated).
    const keys = pulumi.output((args.dkimPublicKeys ?? {}) as Record<string, pulumi.Input<string>>);
    const zone = keys.apply((k) => ({ ...zoneInput, nodes: zoneInput.nodes.map((n) => (k[n.name] ? { ...n, dkimPublicKey: k[n.name] } : n)) }));
    this.zone = new DnsZone(`${name}-zone`, { zone }, { parent: this });
    this.serial = this.zone.serial;

    const knotConf: Record<string, HostFiles> = {};
    const zoneFiles: Record<string, HostFiles> = {};
    for (const n of args.cluster.nodes) {
      if (!isLive(n)) continue;
      const node = args.nodes[n.name];
      const knot = { domain, listen: n.publicAddress };
      const serving = servesDns(n);
      knotConf[n.name] = new HostFiles(
        `${name}-${n.name}-knot-conf`,
        {
          node: n.name,
          ssh: node.ssh,
          files: serving ? [{ path: KNOT_CONF, content: renderKnotConf(knot), mode: "0644" }] : [],
          reload: serving ? knotReload(knot, "config") : [[...KNOT_STOP]],
        },
        { parent: this, dependsOn: [...node.daemonsAfter] },
      );
      if (!serving) continue;
      zoneFiles[n.name] = new HostFiles(
        `${name}-${n.name}-zone`,
        { node: n.name, ssh: node.ssh, files: [{ path: zoneFilePath(knot), content: this.zone.text, mode: "0644" }], reload: knotReload(knot, "zone") },
        { parent: this, dependsOn: [...node.daemonsAfter, knotConf[n.name]] },
      );
    }
    this.knotConf = knotConf;
    this.zoneFiles = zoneFiles;

    const live = args.cluster.nodes.filter(isLive);
    this.check = new DnsCheck(
      `${name}-check`,
      {
        zone,
        serial: this.zone.serial,
        probes: live.map((n) => ({ node: n.name, ssh: args.nodes[n.name].ssh })),
        servers: live.filter(servesDns).map((n) => n.publicAddress),
        timeoutMs: args.checkTimeoutMs ?? 20_000,
      },
      { parent: this, dependsOn: [...Object.values(knotConf), ...Object.values(zoneFiles)] },
    );
    this.registerOutputs({ serial: this.serial });
  }
}
