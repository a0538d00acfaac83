import {
  hostFilePath,
  MeshPlanError,
  nodeFileLayout,
  normalizePublicKey,
  planMesh,
  publicKeyFingerprint,
  renderNodeFiles,
  tincName,
} from "../../planning/mesh";
import type { MeshFile } from "../../planning/mesh";
import { fakeTincKey, keysFor, meshConfig } from "./support";

const byPath = (files: readonly MeshFile[]) => Object.fromEntries(files.map((f) => [f.path, f]));
const allFiles = (cluster: ReturnType<typeof meshConfig>) => {
  const plan = planMesh(cluster);
  const keys = keysFor(cluster);
  return Object.fromEntries(plan.members.map((m) => {
    const f = renderNodeFiles(plan, m.node, keys);
    return [m.node, byPath([...f.peers, ...f.self])];
  }));
};
const confLines = (text: string) => text.split("\n").filter((l) => l && !l.startsWith("#"));

describe("mesh membership", () => {
  test("members are the active and draining nodes, sorted; revoked nodes are listed apart", () => {
    const plan = planMesh(meshConfig((raw) => {
      raw.nodes[1].state = "draining";
      raw.nodes[3].state = "revoked";
    }));
    expect(plan.members.map((m) => [m.node, m.state])).toEqual([["n1", "active"], ["n2", "draining"], ["n3", "active"], ["n5", "active"]]);
    expect(plan.revoked).toEqual([{ node: "n4", tincName: "n4", publicAddress: "198.51.100.14", vpnAddress: "198.18.2.14" }]);
  });

  test("tinc names replace '-' by '_' and are used for every file and ConnectTo", () => {
    expect(tincName("nl-ams-1")).toBe("nl_ams_1");
    const cluster = meshConfig((raw) => (raw.nodes[1].name = "nl-ams-1"));
    const plan = planMesh(cluster);
    const files = renderNodeFiles(plan, "n1", keysFor(cluster));
    const paths = files.peers.map((f) => f.path);
    expect(paths).toContain("/etc/tinc/rplan/hosts/nl_ams_1");
    expect(paths.some((p) => p.includes("nl-ams-1"))).toBe(false);
    expect(files.peers[0].content).toMatch(/^ConnectTo = nl_ams_1$/m);
    expect(renderNodeFiles(plan, "nl-ams-1", keysFor(cluster)).peers[0].content).toMatch(/^Name = nl_ams_1$/m);
  });

  test("two nodes sharing a public address cannot be meshed (revocation checks would be meaningless)", () => {
    const cluster = meshConfig((raw) => (raw.nodes[4].publicAddress = raw.nodes[0].publicAddress));
    expect(() => planMesh(cluster)).toThrow(MeshPlanError);
    expect(() => planMesh(cluster)).toThrow(/198\.51\.100\.11 is used by more than one node \(n1, n5\)/);
  });

  test("ring export is ring → CIDR exactly as configured", () => {
    expect(planMesh(meshConfig()).ringCidrs).toEqual({ core: "198.18.0.0/24", member: "198.18.1.0/24", edge: "198.18.2.0/24" });
  });

  test("AddressFamily is ipv4 unless a member has an IPv6 public address", () => {
    expect(planMesh(meshConfig()).addressFamily).toBe("ipv4");
    expect(planMesh(meshConfig((raw) => (raw.nodes[2].publicAddress = "2001:db8::13"))).addressFamily).toBe("any");
  });
});

describe("rendered tinc files", () => {
  const cluster = meshConfig((raw) => (raw.nodes[3].state = "revoked"));
  const plan = planMesh(cluster);
  const files = allFiles(cluster);

  test("tinc.conf: own name, StrictSubnets, key inside the encrypted mount, ConnectTo every other member only", () => {
    for (const m of plan.members) {
      const lines = confLines(files[m.node]["/etc/tinc/rplan/tinc.conf"].content);
      expect(lines).toContain(`Name = ${m.tincName}`);
      expect(lines).toContain("StrictSubnets = yes");
      expect(lines).toContain("Mode = router");
      expect(lines).toContain("PrivateKeyFile = /srv/crypt/keys/tinc/rsa_key.priv");
      const connectTo = lines.filter((l) => l.startsWith("ConnectTo")).map((l) => l.split(" = ")[1]).sort();
      expect(connectTo).toEqual(plan.members.filter((x) => x.node !== m.node).map((x) => x.tincName).sort());
      expect(connectTo).not.toContain("n4");
    }
  });

  test("hosts/: one file per member (itself included) with address, /32 subnet, compression and its key", () => {
    const keys = keysFor(cluster);
    for (const m of plan.members) {
      const hosts = Object.keys(files[m.node]).filter((p) => p.startsWith("/etc/tinc/rplan/hosts/")).sort();
      expect(hosts).toEqual(["n1", "n2", "n3", "n5"].map((n) => `/etc/tinc/rplan/hosts/${n}`));
    }
    const h = files.n1["/etc/tinc/rplan/hosts/n3"].content;
    expect(confLines(h).slice(0, 5)).toEqual(["Address = 198.51.100.13 655", "Port = 655", "Subnet = 198.18.1.13/32", "Compression = 9", "PMTUDiscovery = no"]);
    expect(h).toContain(keys.n3);
    expect(h).not.toContain(keys.n1);
  });

  test("tincd's drop-in: glibc keeps zlib's per-packet state on the heap (no brk and page zeroing per packet)", () => {
    const d = files.n2["/etc/systemd/system/tinc@rplan.service.d/rplan.conf"];
    expect(d.mode).toBe("0644");
    expect(confLines(d.content)).toEqual(["[Service]", "Environment=GLIBC_TUNABLES=glibc.malloc.trim_threshold=4194304"]);
  });

  test("tinc-up: address, MTU 1400 (under tinc's path MTU so compression applies), a route per ring", () => {
    const up = files.n3["/etc/tinc/rplan/tinc-up"];
    expect(up.mode).toBe("0755");
    expect(up.content).toMatch(/^#!\/bin\/sh\n/);
    expect(up.content).toContain('ip addr replace 198.18.1.13/32 dev "$INTERFACE"');
    expect(up.content).toContain('ip link set dev "$INTERFACE" mtu 1400 up');
    for (const cidr of ["198.18.0.0/24", "198.18.1.0/24", "198.18.2.0/24"]) expect(up.content).toContain(`ip route replace ${cidr} dev "$INTERFACE" src 198.18.1.13`);
  });

  test("the key identity marker carries the fingerprint and generation", () => {
    const id = files.n2["/etc/tinc/rplan/rplan-identity"].content;
    expect(id).toContain("generation=1");
    expect(id).toContain(`fingerprint=${publicKeyFingerprint("n2", keysFor(cluster).n2)}`);
  });

  test("the hosts/ directory is owned outright (strays pruned); peers reload, self restarts", () => {
    const l = nodeFileLayout(plan, "n1");
    expect(l.prunePeers).toEqual(["/etc/tinc/rplan/hosts"]);
    expect(l.reloadPeers).toEqual([["systemctl", "try-reload-or-restart", "tinc@rplan"]]);
    expect(l.reloadSelf.at(-1)).toEqual(["systemctl", "restart", "tinc@rplan"]);
    expect(l.reloadSelf[0]).toEqual(["systemctl", "daemon-reload"]);
    expect(l.reloadSelf[1]).toEqual(expect.arrayContaining(["enable", "tinc@rplan"]));
    // Every file that carries a key is a slot bound to exactly that member's key.
    expect(l.peers.filter((s) => s.keyOf !== undefined).map((s) => [s.path, s.keyOf])).toEqual(plan.members.map((m) => [hostFilePath(plan, m), m.node]));
  });
});

describe("public keys", () => {
  test("a single PKCS#1 PEM block is accepted and normalized", () => {
    const k = fakeTincKey("x");
    expect(normalizePublicKey("n1", `\n${k}\r\n`)).toBe(k);
  });

  test("anything else is refused: a node cannot smuggle config lines into its peers' hosts/ files", () => {
    const k = fakeTincKey("x");
    expect(() => normalizePublicKey("n1", `${k}\nSubnet = 0.0.0.0/0`)).toThrow(/n1 is not a single "RSA PUBLIC KEY" PEM block/);
    expect(() => normalizePublicKey("n1", `Subnet = 0.0.0.0/0\n${k}`)).toThrow();
    expect(() => normalizePublicKey("n1", k + "\n" + k)).toThrow();
    expect(() => normalizePublicKey("n1", k.replace("RSA PUBLIC", "PUBLIC"))).toThrow();
  });

  test("fingerprints differ per key and are stable", () => {
    expect(publicKeyFingerprint("a", fakeTincKey("1"))).toBe(publicKeyFingerprint("a", fakeTincKey("1")));
    expect(publicKeyFingerprint("a", fakeTincKey("1"))).not.toBe(publicKeyFingerprint("a", fakeTincKey("2")));
    expect(publicKeyFingerprint("a", fakeTincKey("1"))).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
  });
});

/** Files that differ between two renderings: node → paths added, removed or changed. */
function changes(before: ReturnType<typeof allFiles>, after: ReturnType<typeof allFiles>): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const node of new Set([...Object.keys(before), ...Object.keys(after)])) {
    const b = before[node] ?? {};
    const a = after[node] ?? {};
    const paths = [...new Set([...Object.keys(a), ...Object.keys(b)])].filter((p) => a[p]?.content !== b[p]?.content || a[p]?.mode !== b[p]?.mode).sort();
    if (paths.length) out[node] = paths;
  }
  return out;
}

describe("operations change exactly what they must", () => {
  test("rotation: the rotated node's hosts/ file changes on every member, plus its own identity marker — nothing else", () => {
    const before = allFiles(meshConfig());
    const after = allFiles(meshConfig((raw) => (raw.nodes[2].vpnKeyGeneration = 2)));
    expect(changes(before, after)).toEqual({
      n1: ["/etc/tinc/rplan/hosts/n3"],
      n2: ["/etc/tinc/rplan/hosts/n3"],
      n3: ["/etc/tinc/rplan/hosts/n3", "/etc/tinc/rplan/rplan-identity"],
      n4: ["/etc/tinc/rplan/hosts/n3"],
      n5: ["/etc/tinc/rplan/hosts/n3"],
    });
    expect(after.n1["/etc/tinc/rplan/hosts/n3"].content).toContain(fakeTincKey("n3/gen2"));
    expect(after.n1["/etc/tinc/rplan/hosts/n3"].content).not.toContain(fakeTincKey("n3/gen1"));
  });

  test("revocation: every survivor loses hosts/<revoked> and its ConnectTo; the revoked node gets no files at all", () => {
    const before = allFiles(meshConfig());
    const after = allFiles(meshConfig((raw) => (raw.nodes[3].state = "revoked")));
    expect(after.n4).toBeUndefined();
    for (const n of ["n1", "n2", "n3", "n5"]) {
      expect(changes({ [n]: before[n] }, { [n]: after[n] })).toEqual({ [n]: ["/etc/tinc/rplan/hosts/n4", "/etc/tinc/rplan/tinc.conf"] });
      expect(after[n]["/etc/tinc/rplan/hosts/n4"]).toBeUndefined();
      const removedLines = confLines(before[n]["/etc/tinc/rplan/tinc.conf"].content).filter((l) => !confLines(after[n]["/etc/tinc/rplan/tinc.conf"].content).includes(l));
      expect(removedLines).toEqual(["ConnectTo = n4"]);
    }
  });

  test("removing a node from the config is the same as revoking it, for the survivors", () => {
    const revoked = allFiles(meshConfig((raw) => (raw.nodes[3].state = "revoked")));
    const removed = allFiles(meshConfig((raw) => raw.nodes.splice(3, 1)));
    expect(changes(revoked, removed)).toEqual({});
  });

  test("draining a node changes no file of the mesh (a changed hosts/ file would drop its connections)", () => {
    const before = allFiles(meshConfig());
    const after = allFiles(meshConfig((raw) => (raw.nodes[1].state = "draining")));
    expect(changes(before, after)).toEqual({});
  });

  test("re-admitting a revoked node: it comes back everywhere (with whatever key its new NodeKey produced)", () => {
    const revoked = allFiles(meshConfig((raw) => (raw.nodes[3].state = "revoked")));
    const back = allFiles(meshConfig());
    expect(Object.keys(changes(revoked, back)).sort()).toEqual(["n1", "n2", "n3", "n4", "n5"]);
    expect(back.n1["/etc/tinc/rplan/tinc.conf"].content).toMatch(/^ConnectTo = n4$/m);
  });
});
