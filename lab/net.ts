/**
 * The lab network: bridge rplab0 (198.51.100.1/24) on the host, one netns per node with eth0 at
 * 198.51.100.(10+i)/24 joined to the bridge by a veth pair. Nothing else: no default route in the
 * namespaces, no NAT, ip_forward untouched, IPv6 off on our host-side links (no link-local chatter).
 */
import * as fs from "fs";
import { out, run } from "./exec";
import { BRIDGE, VETH_PREFIX } from "./network-safety";

export const BRIDGE_ADDRESS = "198.51.100.1/24";

const linkExists = async (dev: string, ns?: string) =>
  (await run("ip", [...(ns ? ["-n", ns] : []), "link", "show", "dev", dev], { check: false })).code === 0;

function noIpv6(dev: string): void {
  try {
    fs.writeFileSync(`/proc/sys/net/ipv6/conf/${dev}/disable_ipv6`, "1");
  } catch {
    /* IPv6 disabled host-wide already */
  }
}

export async function ensureBridge(): Promise<void> {
  if (await linkExists(BRIDGE)) return;
  await run("ip", ["link", "add", BRIDGE, "type", "bridge"]);
  noIpv6(BRIDGE);
  await run("ip", ["addr", "add", BRIDGE_ADDRESS, "dev", BRIDGE]);
  await run("ip", ["link", "set", BRIDGE, "up"]);
}

export const vethName = (node: string) => `${VETH_PREFIX}${node}`;

/** Creates (or recreates) the node's namespace and its link, address `address`/24 on eth0. */
export async function ensureNodeNet(netns: string, node: string, address: string): Promise<void> {
  await removeNodeNet(netns, node);
  await run("ip", ["netns", "add", netns]);
  const veth = vethName(node);
  await run("ip", ["link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", netns]);
  noIpv6(veth);
  await run("ip", ["link", "set", veth, "master", BRIDGE, "up"]);
  await run("ip", ["-n", netns, "addr", "add", `${address}/24`, "dev", "eth0"]);
  await run("ip", ["-n", netns, "link", "set", "eth0", "up"]);
  await run("ip", ["-n", netns, "link", "set", "lo", "up"]);
  // As on a real server (systemd's sysctl.d/50-default.conf): a fresh namespace queues 10 datagrams
  // on a unix socket, and the container cannot raise it (/proc/sys is read-only there). With 10,
  // journald's forward to rsyslog dropped log lines under load: 3 000 lines from logger kept 2 826,
  // a bench run of 600 messages lost 5 delivery lines; with 512, none.
  await run("ip", ["netns", "exec", netns, "sysctl", "-q", "-w", "net.unix.max_dgram_qlen=512"]);
}

export async function removeNodeNet(netns: string, node: string): Promise<void> {
  if ((await listLabNetns()).includes(netns)) await run("ip", ["netns", "del", netns]);
  // Deleting the netns takes the veth pair with it, asynchronously: this may find nothing left.
  await run("ip", ["link", "del", vethName(node)], { check: false });
}

export async function listLabNetns(): Promise<string[]> {
  return (await out("ip", ["netns", "list"]))
    .split("\n")
    .map((l) => l.split(" ")[0])
    .filter((n) => n.startsWith("rplab-"));
}

/** Removes the bridge and any of our veths left behind (a netns deleted under a live container keeps none). */
export async function removeLabLinks(): Promise<void> {
  const links = JSON.parse(await out("ip", ["-j", "link"])) as { ifname: string }[];
  for (const { ifname } of links) {
    if (ifname === BRIDGE || ifname.startsWith(VETH_PREFIX)) await run("ip", ["link", "del", ifname], { check: false });
  }
}
