/**
 * VpnMesh under Pulumi's mocks, with the real Node components: what is registered, with which
 * inputs and dependencies (the order that keeps a rotation's split brief), and how the inputs
 * change for a rotation and a revocation. Closure serialization of the providers really runs.
 */
import type * as pulumi from "@pulumi/pulumi";
import type { ClusterConfig } from "../../planning/config";
import { named, registerUnderMocks, Registration as Reg } from "../support/mock-components";
import { meshConfig, fakeTincKey } from "./support";

async function evaluateMesh(cluster: ClusterConfig): Promise<{ regs: Reg[]; ringCidrs: unknown; publicKeys: Record<string, string> }> {
  const { regs, result: mesh } = await registerUnderMocks(
    () => {
      const { buildCluster } = require("../../components/cluster");
      const { mesh } = buildCluster({ cluster });
      return { result: mesh, awaited: [...Object.values(mesh.keys), ...Object.values(mesh.hostsFiles), ...Object.values(mesh.selfFiles), mesh.check] as pulumi.CustomResource[] };
    },
    (type, _name, inputs) => {
      if (type.endsWith(":NodeKey")) return { publicKey: fakeTincKey(`${inputs.node}/gen${inputs.generation}`), fingerprint: `fp-${inputs.node}-${inputs.generation}` };
      if (type.endsWith(":NodeHost")) return { facts: { machineId: "m", kernel: "k", os: "o", mountFsType: "f", mountSource: "s" } };
      if (type.endsWith(":MeshCheck")) return { matrix: { ok: true } };
      return {};
    },
  );
  return { regs, ringCidrs: mesh.ringCidrs, publicKeys: await promiseOf(mesh.publicKeys) };
}

function promiseOf<T>(o: pulumi.Output<T>): Promise<T> {
  return new Promise((resolve) => o.apply((v) => resolve(v)));
}

const filesOf = (r: Reg) => Object.fromEntries((r.inputs.files as any[]).map((f) => [f.path, f.content]));

describe("VpnMesh under mocks", () => {
  test("per member a NodeKey, two HostFiles; one MeshCheck; nothing for a revoked node", async () => {
    const { regs, ringCidrs } = await evaluateMesh(meshConfig((raw) => (raw.nodes[3].state = "revoked")));
    const types = (t: string) => regs.filter((r) => r.type === t).map((r) => r.name).sort();
    expect(types("rplan:mesh:VpnMesh")).toEqual(["mesh"]);
    expect(types("pulumi-nodejs:dynamic/rplan:NodeKey")).toEqual(["mesh-n1-key", "mesh-n2-key", "mesh-n3-key", "mesh-n5-key"]);
    // (each Node has HostFiles of its own, for its mail daemons' TLS)
    expect(types("pulumi-nodejs:dynamic/rplan:HostFiles").filter((n) => n.startsWith("mesh-"))).toEqual(
      ["n1", "n2", "n3", "n5"].flatMap((n) => [`mesh-${n}-tinc-hosts`, `mesh-${n}-tinc-self`]).sort(),
    );
    expect(types("pulumi-nodejs:dynamic/rplan:MeshCheck")).toEqual(["mesh-check"]);
    expect(regs.some((r) => r.name.includes("n4"))).toBe(false);
    expect(ringCidrs).toEqual({ core: "198.18.0.0/24", member: "198.18.1.0/24", edge: "198.18.2.0/24" });
    const check = named(regs, "mesh-check").inputs;
    expect(check.revoked).toEqual([{ node: "n4", tincName: "n4", publicAddress: "198.51.100.14", vpnAddress: "198.18.2.14" }]);
    expect(check.members.map((m: any) => [m.node, m.fingerprint])).toEqual([["n1", "fp-n1-1"], ["n2", "fp-n2-1"], ["n3", "fp-n3-1"], ["n5", "fp-n5-1"]]);
  });

  test("keys are generated on the node, inside its encrypted mount, after its NodeHost", async () => {
    const { regs } = await evaluateMesh(meshConfig());
    const k = named(regs, "mesh-n2-key");
    expect(k.inputs).toMatchObject({ node: "n2", tincName: "n2", privateKeyPath: "/srv/crypt/keys/tinc/rsa_key.priv", generation: 1, keyBits: 4096 });
    expect(k.inputs.encryptedMount).toEqual({ kind: "gocryptfs", path: "/srv/crypt", cipherDir: "/srv/.crypt-cipher" });
    expect(k.deps).toEqual(["n2-host"]);
  });

  test("order: every member's hosts/ before any member's restart; the check after everything", async () => {
    const { regs } = await evaluateMesh(meshConfig());
    const allHosts = ["n1", "n2", "n3", "n4", "n5"].map((n) => `mesh-${n}-tinc-hosts`);
    const self = named(regs, "mesh-n3-tinc-self");
    expect(self.deps).toEqual(expect.arrayContaining([...allHosts, "mesh-n3-key", "n3-host"]));
    expect(self.inputs.reload.at(-1)).toEqual(["systemctl", "restart", "tinc@rplan"]);
    const hosts = named(regs, "mesh-n3-tinc-hosts");
    expect(hosts.deps.filter((d) => d.includes("tinc"))).toEqual([]);
    expect(hosts.inputs.reload).toEqual([["systemctl", "try-reload-or-restart", "tinc@rplan"]]);
    expect(hosts.inputs.prune).toEqual(["/etc/tinc/rplan/hosts"]);
    expect(named(regs, "mesh-check").deps).toEqual(expect.arrayContaining([...allHosts, ...["n1", "n2", "n3", "n4", "n5"].map((n) => `mesh-${n}-tinc-self`)]));
  });

  test("hosts/ files carry the public keys the NodeKeys reported", async () => {
    const { regs, publicKeys } = await evaluateMesh(meshConfig());
    const f = filesOf(named(regs, "mesh-n1-tinc-hosts"));
    expect(f["/etc/tinc/rplan/hosts/n4"]).toContain(publicKeys.n4);
    expect(f["/etc/tinc/rplan/hosts/n4"]).toContain(fakeTincKey("n4/gen1"));
    expect(f["/etc/tinc/rplan/tinc.conf"]).toMatch(/^StrictSubnets = yes$/m);
  });

  test("rotation: only the rotated key, hosts/<rotated> on every member, its identity and the check change", async () => {
    const before = await evaluateMesh(meshConfig());
    const after = await evaluateMesh(meshConfig((raw) => (raw.nodes[1].vpnKeyGeneration = 2)));
    const changed = after.regs
      .filter((r) => r.type.startsWith("pulumi-nodejs:dynamic/rplan:") && !r.type.endsWith(":NodeHost"))
      .filter((r) => JSON.stringify(r.inputs) !== JSON.stringify(named(before.regs, r.name).inputs))
      .map((r) => r.name)
      .sort();
    expect(changed).toEqual(["mesh-check", "mesh-n1-tinc-hosts", "mesh-n2-key", "mesh-n2-tinc-hosts", "mesh-n2-tinc-self", "mesh-n3-tinc-hosts", "mesh-n4-tinc-hosts", "mesh-n5-tinc-hosts"]);
    for (const n of ["n1", "n3", "n4", "n5"]) {
      const b = filesOf(named(before.regs, `mesh-${n}-tinc-hosts`));
      const a = filesOf(named(after.regs, `mesh-${n}-tinc-hosts`));
      expect(Object.keys(a).filter((p) => a[p] !== b[p])).toEqual(["/etc/tinc/rplan/hosts/n2"]);
    }
  });

  test("args that do not match the config are refused at once", async () => {
    await expect(
      (async () => {
        jest.isolateModules(() => {
          const p = require("@pulumi/pulumi");
          p.runtime.setMocks({ newResource: (a: any) => ({ id: "x", state: a.inputs }), call: () => ({}) }, "rplan", "test", false);
          const { VpnMesh } = require("../../components/vpn-mesh");
          new VpnMesh("mesh", { cluster: meshConfig(), nodes: {} });
        });
      })(),
    ).rejects.toThrow(/mesh member n1 has no Node component[\s\S]*mesh member n5 has no Node component/);
  });
});
