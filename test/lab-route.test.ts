/**
 * The transport's guard against lab traffic leaving through the uplink. No test here connects to a
 * lab address: the decision is tested on `ip route get` answers, and the real calls run with
 * net.Socket's connect replaced, so even a missing guard sends nothing.
 */
import * as dns from "dns";
import * as net from "net";
import { execFileSync } from "child_process";
import { VPN_NET } from "../lab/network-safety";
import { RING_NETS } from "../lab/stack-config";
import { cidrContains, parseCidr } from "../planning/config/ipv4";
import { checkLabRoute, KernelRoute, LAB_BRIDGE, LAB_ONLY_RANGES, labRangeOf, labRouteProblem, parseRouteGet } from "../transports/lab-route";
import { assertLabRouteSafe, closeAllSsh, OffLabRoute, SshError, sshConnection } from "../transports/ssh";
import { fakeHostKey } from "./support/config-fixture";

/** `ip -j route get 198.51.100.11` on the build machine with the lab down, and with it up. */
const VIA_UPLINK = '[{"dst":"198.51.100.11","gateway":"192.0.2.1","dev":"eth0","prefsrc":"192.0.2.2","flags":[],"uid":0,"cache":[]}]\n';
const VIA_BRIDGE = '[{"dst":"198.51.100.11","dev":"rplab0","prefsrc":"198.51.100.1","flags":[],"uid":0,"cache":[]}]\n';

describe("the lab-route decision (pure)", () => {
  test("a lab address routed via the uplink is refused, naming the address, the range and the route", () => {
    const p = labRouteProblem("198.51.100.11", parseRouteGet(VIA_UPLINK));
    expect(p).toBe(
      "198.51.100.11 is in the lab network 198.51.100.0/24 but the kernel routes it via 192.0.2.1 dev eth0, not over the lab bridge rplab0 " +
        "(is the lab down? `npm run lab -- up`): refusing to send lab traffic anywhere else; nothing was sent",
    );
  });

  test("a lab address routed over the lab bridge may be reached", () => {
    expect(labRouteProblem("198.51.100.11", parseRouteGet(VIA_BRIDGE))).toBeUndefined();
  });

  test("any device but the bridge is refused, a veth or a look-alike name included", () => {
    for (const dev of ["eth0", "rplv-lab1", "rplab00", "tun0", "lo"]) {
      expect(labRouteProblem("198.51.100.11", { gateway: "192.0.2.1", dev })).toMatch(new RegExp(`dev ${dev}, not over the lab bridge`));
    }
  });

  test("no route, or an answer that isn't one, is refused (fail closed)", () => {
    expect(labRouteProblem("198.51.100.11", undefined)).toMatch(/routes it no route \(ip route get failed\)/);
    expect(labRouteProblem("198.51.100.11", parseRouteGet("RTNETLINK answers: Network is unreachable"))).toMatch(/refusing/);
    expect(labRouteProblem("198.51.100.11", parseRouteGet("[]"))).toMatch(/refusing/);
    expect(labRouteProblem("198.18.0.11", { type: "unreachable" } as KernelRoute)).toMatch(/routes it unreachable, not over/);
  });

  test("the whole VPN block is guarded, IPv4-mapped IPv6 included; neighbours are not", () => {
    for (const a of ["198.18.0.11", "198.18.2.14", "198.19.255.254", "::ffff:198.51.100.11"]) expect(labRouteProblem(a, { gateway: "192.0.2.1", dev: "eth0" })).toMatch(/refusing/);
    for (const a of ["198.17.255.255", "198.20.0.1", "198.51.101.1", "198.51.99.255"]) expect(labRangeOf(a)).toBeUndefined();
  });

  test("production addresses are none of its business, whatever the route", () => {
    for (const a of ["2001:db8:1::22", "203.0.113.5", "192.0.2.7", "127.0.0.1", "node1.example.org"]) {
      expect(labRouteProblem(a, { gateway: "192.0.2.1", dev: "eth0" })).toBeUndefined();
      expect(labRouteProblem(a, undefined)).toBeUndefined();
    }
  });

  test("the lab's own ranges lie inside what the transport guards (no drift)", () => {
    const guarded = (cidr: string) => LAB_ONLY_RANGES.some((r) => cidrContains(parseCidr(r.cidr)!, cidr.split("/")[0]) && parseCidr(cidr)!.bits >= parseCidr(r.cidr)!.bits);
    for (const c of [VPN_NET, ...Object.values(RING_NETS)]) expect(guarded(c)).toBe(true);
  });
});

describe("the transport refuses before any packet (real route on this machine)", () => {
  const connects: unknown[] = [];
  beforeEach(() => {
    connects.length = 0;
    // Belt and braces: whatever the guard decides, no socket in this test reaches the network.
    jest.spyOn(net.Socket.prototype, "connect").mockImplementation(function (this: net.Socket, ...args: unknown[]) {
      connects.push(args[0]);
      throw new Error("test: a connection was attempted");
    });
  });
  afterEach(async () => {
    jest.restoreAllMocks();
    await closeAllSsh();
  });

  /** Decided from the kernel's real answer, so the test is right with the lab up or down. */
  const overBridge = (a: string) => parseRouteGet(execFileSync("ip", ["-j", "route", "get", a], { encoding: "utf8" }))?.dev === LAB_BRIDGE;
  const labUp = () => overBridge("198.51.100.11");
  const target = { node: "lab1", host: "198.51.100.11", port: 22, hostKeys: [fakeHostKey("lab1")] };

  test("198.51.100.11 is refused when it would not go over the lab bridge, and accepted when it would", async () => {
    if (labUp()) {
      expect(checkLabRoute("198.51.100.11")).toBeUndefined();
      await expect(assertLabRouteSafe(target)).resolves.toBeUndefined();
      return;
    }
    expect(checkLabRoute("198.51.100.11")).toMatch(/^198\.51\.100\.11 is in the lab network 198\.51\.100\.0\/24 but the kernel routes it .*dev (?!rplab0\b)\S+, not over the lab bridge rplab0/);
    const err = await sshConnection(target).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OffLabRoute);
    expect(err).toBeInstanceOf(SshError);
    expect((err as Error).message).toMatch(/^\[lab1\] not connecting: 198\.51\.100\.11 is in the lab network/);
    expect(connects).toEqual([]);
  });

  // The lab routes only its /24 over the bridge, never the VPN block: so this one is refused by the
  // transport whether the lab is up or not (the test above can only check acceptance when it is up).
  test("an address of the VPN block off the bridge is refused by the transport, naming the route", async () => {
    const a = "198.19.255.254";
    if (overBridge(a)) return void (await expect(assertLabRouteSafe({ node: "x", host: a })).resolves.toBeUndefined());
    const err = await sshConnection({ ...target, node: "edge9", host: a }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OffLabRoute);
    expect((err as Error).message).toMatch(/^\[edge9\] not connecting: 198\.19\.255\.254 is in the lab VPN block 198\.18\.0\.0\/15 but the kernel routes it (via \S+ )?dev \S+, not over the lab bridge rplab0/);
    expect(connects).toEqual([]);
  });

  test("through a proxy too: the proxy is not contacted for a lab address off the lab", async () => {
    const a = "198.19.255.253";
    if (overBridge(a)) return;
    const err = await sshConnection({ ...target, host: a, proxy: "socks5://127.0.0.1:9050" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OffLabRoute);
    expect(connects).toEqual([]);
  });

  test("a host name is checked by every address it resolves to", async () => {
    jest.spyOn(dns.promises, "lookup").mockResolvedValue([{ address: "203.0.113.9", family: 4 }, { address: "198.18.0.11", family: 4 }] as never);
    const vpnUp = parseRouteGet(execFileSync("ip", ["-j", "route", "get", "198.18.0.11"], { encoding: "utf8" }))?.dev === LAB_BRIDGE;
    const r = assertLabRouteSafe({ node: "lab1", host: "lab1.example" });
    if (vpnUp) await expect(r).resolves.toBeUndefined();
    else await expect(r).rejects.toThrow(/^\[lab1\] not connecting \(lab1\.example\): 198\.18\.0\.11 is in the lab VPN block 198\.18\.0\.0\/15/);
  });

  test("a production address is not checked at all", async () => {
    await expect(assertLabRouteSafe({ node: "n1", host: "2001:db8:1::22" })).resolves.toBeUndefined();
    await expect(assertLabRouteSafe({ node: "n1", host: "192.0.2.7" })).resolves.toBeUndefined();
  });
});
