import type { ServiceDescriptor } from "./descriptor";

/**
 * The cluster's zone, served on every active node (components/dns.ts); dig (bind9-dnsutils) is the
 * client the DNS check runs on every node. Debian's stock knot would serve its example config.
 */
export const knot = {
  name: "knot",
  purpose: "the cluster's DNS zone, on every active node",
  packages: ["knot", "bind9-dnsutils"],
  disabledUntilConfigured: ["knot.service"],
  duties: { zone: (node) => `dns-${node}-zone`, knotConf: (node) => `dns-${node}-knot-conf` },
  clusterDuties: { dnsCheck: "dns-check" },
} satisfies ServiceDescriptor;
