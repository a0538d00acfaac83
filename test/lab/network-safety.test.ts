import { diffSnapshots, findConflicts, HostNetwork, overlaps, parseResolvConf } from "../../lab/network-safety";

/** The host LAB.md describes: uplink 192.0.2.0/24 + fd00::/64, resolver in 10/8, mirrors at 203.0.113.80. */
const host = (extra: Partial<HostNetwork> = {}): HostNetwork => ({
  routes: [
    { dst: "default", gateway: "192.0.2.1", dev: "eth0" },
    { dst: "192.0.2.0/24", dev: "eth0" },
    { dst: "fd00::/64", dev: "eth0" },
    { dst: "default", gateway: "fd00::1", dev: "eth0" },
    ...(extra.routes ?? []),
  ],
  addresses: [{ cidr: "127.0.0.1/8", dev: "lo" }, { cidr: "192.0.2.2/24", dev: "eth0" }, { cidr: "fd00::2/64", dev: "eth0" }, ...(extra.addresses ?? [])],
  resolvers: extra.resolvers ?? ["10.255.255.53"],
  packageHosts: extra.packageHosts ?? [
    { name: "deb.debian.org", address: "203.0.113.80" },
    { name: "registry.npmjs.org", address: "203.0.113.80" },
  ],
});

describe("overlap detection", () => {
  test("the host LAB.md describes is safe", () => {
    expect(findConflicts(host())).toEqual([]);
  });

  test("a route over part of the lab network is refused, naming the route", () => {
    const c = findConflicts(host({ routes: [{ dst: "198.51.100.0/25", gateway: "192.0.2.1", dev: "eth0" }] }));
    expect(c).toEqual(["lab network 198.51.100.0/24 overlaps host route 198.51.100.0/25 via 192.0.2.1 dev eth0"]);
  });

  test("a wider route that contains the lab network is refused too", () => {
    expect(findConflicts(host({ routes: [{ dst: "198.0.0.0/8", dev: "eth0" }] })).join("\n")).toMatch(/lab network .* overlaps host route 198\.0\.0\.0\/8/);
  });

  test("the resolver inside the lab network is refused", () => {
    expect(findConflicts(host({ resolvers: ["198.51.100.53"] }))).toEqual(["lab network 198.51.100.0/24 contains the resolver 198.51.100.53"]);
  });

  test("a package host resolving into the VPN range is refused, naming the host", () => {
    const c = findConflicts(host({ packageHosts: [{ name: "deb.debian.org", address: "198.18.3.4" }] }));
    expect(c).toEqual(["lab VPN range 198.18.0.0/16 contains 198.18.3.4, the address of deb.debian.org"]);
  });

  test("host addresses and gateways inside the lab ranges are refused; every conflict is listed", () => {
    const c = findConflicts(
      host({
        addresses: [{ cidr: "198.18.7.1/24", dev: "tun0" }],
        routes: [{ dst: "10.0.0.0/8", gateway: "198.51.100.254", dev: "eth1" }],
      }),
    );
    expect(c).toHaveLength(2);
    expect(c.join("\n")).toContain("host address 198.18.7.1/24 on tun0");
    expect(c.join("\n")).toContain("gateway of host route 10.0.0.0/8 via 198.51.100.254");
  });

  test("the lab's own bridge and veths are not conflicts (adding a node to a running lab)", () => {
    const ours = host({ routes: [{ dst: "198.51.100.0/24", dev: "rplab0" }], addresses: [{ cidr: "198.51.100.1/24", dev: "rplab0" }] });
    expect(findConflicts(ours)).toEqual([]);
  });

  test("ranges that stray into the uplink or the mirrors are refused", () => {
    expect(findConflicts(host(), [{ cidr: "203.0.113.0/25", what: "bad range" }]).join("\n")).toContain("bad range 203.0.113.0/25 lies in the reserved 203.0.113.0/24");
  });

  test("overlaps() on prefixes", () => {
    expect(overlaps("198.51.100.0/24", "198.51.100.77")).toBe(true);
    expect(overlaps("198.51.100.0/24", "198.51.101.0/24")).toBe(false);
    expect(overlaps("198.18.0.0/16", "198.19.0.0/16")).toBe(false);
    expect(overlaps("198.18.0.0/16", "198.16.0.0/14")).toBe(true);
    expect(overlaps("198.18.0.0/16", "fd00::/64")).toBe(false);
    expect(() => overlaps("198.18.0.0/33", "1.2.3.4")).toThrow(/bad IPv4 prefix/);
  });

  test("resolv.conf parsing", () => {
    expect(parseResolvConf("# x\nsearch lan\nnameserver 10.255.255.53\n nameserver fd00::53\n")).toEqual(["10.255.255.53", "fd00::53"]);
  });

  test("snapshot diff names what changed", () => {
    const a = { route: "r\n", addr: "a\n", netns: "" };
    expect(diffSnapshots(a, { ...a })).toEqual([]);
    expect(diffSnapshots(a, { ...a, netns: "rplab-lab1\n" })).toEqual([expect.stringMatching(/^netns differs/)]);
  });
});

describe("lab addresses never leave the machine", () => {
  test("a lab address goes over the bridge when the lab is up, and is refused otherwise", () => {
    const { routedThroughLab, assertRoutedThroughLab } = require("../../lab/network-safety");
    const { readLabState } = require("../../lab");
    const up = readLabState()?.nodes.length > 0;
    expect(routedThroughLab("198.51.100.11")).toBe(up);
    if (up) return;
    expect(() => assertRoutedThroughLab("198.51.100.11")).toThrow(/the lab is not up: traffic to 198\.51\.100\.11 would not go over rplab0/);
  });
});
