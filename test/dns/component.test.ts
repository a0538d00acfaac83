/**
 * Dns under Pulumi's mocks, with the real Node components: what each node state gets (active:
 * knot.conf and the zone; draining: knot stopped; revoked: nothing), the order (knot.conf before the
 * zone, the check after both), what the check asks from where, and bad args stopping before any
 * registration.
 */
import type { ClusterConfig } from "../../planning/config";
import { named, registerUnderMocks, Registration as Reg } from "../support/mock-components";
import { meshConfig } from "../mesh/support";

async function evaluateDns(cluster: ClusterConfig): Promise<Reg[]> {
  const { regs } = await registerUnderMocks(
    () => {
      const { buildCluster } = require("../../components/cluster");
      const { dns } = buildCluster({ cluster });
      return { result: dns, awaited: [dns.zone, ...Object.values(dns.knotConf), ...Object.values(dns.zoneFiles), dns.check] as any[] };
    },
    (type, _name, inputs) => {
      if (type.endsWith(":NodeHost")) return { facts: { machineId: "m", kernel: "k", os: "o", mountFsType: "f", mountSource: "s" } };
      if (type.endsWith(":DnsZone")) return { text: `; zone of ${inputs.zone.domain}\n`, serial: 7, digest: "d" };
      return {};
    },
  );
  return regs;
}

const mixed = () =>
  meshConfig((raw) => {
    raw.nodes[2].state = "draining";
    raw.nodes[3].state = "revoked";
    raw.dns = { ttl: 600, dmarc: { policy: "reject" } };
  });

describe("Dns under mocks", () => {
  test("active nodes get knot.conf and the zone, a draining node only knot stopped, a revoked node nothing", async () => {
    const regs = await evaluateDns(mixed());
    const dnsNames = regs.filter((r) => r.name.startsWith("dns")).map((r) => r.name).sort();
    expect(dnsNames).toEqual(["dns", "dns-check", "dns-n1-knot-conf", "dns-n1-zone", "dns-n2-knot-conf", "dns-n2-zone", "dns-n3-knot-conf", "dns-n5-knot-conf", "dns-n5-zone", "dns-zone"]);
    const conf = named(regs, "dns-n1-knot-conf").inputs;
    expect(conf.files.map((f: any) => f.path)).toEqual(["/etc/knot/knot.conf"]);
    expect(conf.files[0].content).toContain("listen: 198.51.100.11@53");
    expect(conf.reload).toEqual([["knotc", "conf-check"], ["systemctl", "enable", "knot"], ["systemctl", "restart", "knot"]]);
    const draining = named(regs, "dns-n3-knot-conf").inputs;
    expect(draining.files).toEqual([]);
    expect(draining.reload).toEqual([["systemctl", "disable", "--now", "knot"]]);
    const zone = named(regs, "dns-n2-zone");
    expect(zone.inputs.files).toEqual([{ path: "/var/lib/knot/example.org.zone", content: "; zone of example.org\n", mode: "0644" }]);
    expect(zone.inputs.reload).toEqual([["knotc", "zone-check", "example.org"], ["knotc", "-b", "zone-reload", "example.org"]]);
    expect(zone.deps).toEqual(expect.arrayContaining(["dns-n2-knot-conf", "n2-host"]));
  });

  test("the zone's input is the whole config's, revoked node included; the check asks from every non-revoked node every active one", async () => {
    const regs = await evaluateDns(mixed());
    const zone = named(regs, "dns-zone").inputs.zone;
    expect(zone).toMatchObject({ domain: "example.org", ttl: 600, dmarc: { policy: "reject" } });
    expect(zone.nodes.map((n: any) => `${n.name}:${n.state}`)).toEqual(["n1:active", "n2:active", "n3:draining", "n4:revoked", "n5:active"]);
    const check = named(regs, "dns-check");
    expect(check.inputs.serial).toBe(7);
    expect(check.inputs.probes.map((p: any) => p.node)).toEqual(["n1", "n2", "n3", "n5"]);
    expect(check.inputs.servers).toEqual(["198.51.100.11", "198.51.100.12", "198.51.100.15"]);
    expect(check.deps).toEqual(expect.arrayContaining(["dns-n1-zone", "dns-n2-zone", "dns-n5-zone", "dns-n1-knot-conf", "dns-n3-knot-conf"]));
    expect(regs.some((r) => r.name.startsWith("dns-n4"))).toBe(false);
  });

  test("a zone without an active node stops before anything of the zone is registered", async () => {
    const cluster = meshConfig((raw) => {
      for (const n of raw.nodes) n.state = "draining";
      delete raw.ldap;
    });
    await expect(evaluateDns(cluster)).rejects.toThrow("no active node: the zone would have no name server, MX or service address");
  });
});
