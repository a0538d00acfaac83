/**
 * LdapReplica under Pulumi's mocks, with the real Node and VpnMesh components: what is registered,
 * with which inputs and dependencies (the order a master switch relies on), what changes for a
 * switch and a revocation, and that no replication secret reaches a SlapdConfig or a provider.
 */
import * as crypto from "crypto";
import type * as pulumi from "@pulumi/pulumi";
import type { ClusterConfig } from "../../planning/config";
import { fakeTincKey } from "../mesh/support";
import { named, registerUnderMocks, Registration as Reg } from "../support/mock-components";
import { ldapConfig, RING_ACCESS } from "./support";

/** The mock RandomPassword: 40 alphanumerics, new whenever its keepers change (as the real one). */
export function mockSecret(name: string, keepers: unknown): string {
  return crypto.createHash("sha256").update(`${name}|${JSON.stringify(keepers)}`).digest("base64").replace(/[^A-Za-z0-9]/g, "").padEnd(40, "x").slice(0, 40);
}

async function evaluate(cluster: ClusterConfig): Promise<{ regs: Reg[]; replica: any }> {
  const { regs, result } = await registerUnderMocks(
    () => {
      const { buildCluster } = require("../../components/cluster");
      const { ldap: replica } = buildCluster({ cluster });
      return { result: replica, awaited: [...Object.values(replica.slapd), ...Object.values(replica.secretFiles), replica.entries] as pulumi.CustomResource[] };
    },
    (type, name, inputs) => {
      if (type.endsWith(":NodeKey")) return { publicKey: fakeTincKey(inputs.node) };
      if (type.endsWith(":NodeHost")) return { facts: {} };
      if (type === "random:index/randomPassword:RandomPassword") return { result: mockSecret(name, inputs.keepers) };
      if (type.endsWith(":SlapdConfig")) return { contextCSN: [`20240101000000.000000Z#000000#001#000000`] };
      return {};
    },
  );
  return { regs, replica: result };
}

const ofType = (regs: Reg[], t: string) => regs.filter((r) => r.type === t).map((r) => r.name).sort();
const SLAPD = "pulumi-nodejs:dynamic/rplan:SlapdConfig";

describe("LdapReplica under mocks", () => {
  test("per live node a secret, its file in the mount and a SlapdConfig; one LdapEntries; nothing for a revoked node", async () => {
    const { regs, replica } = await evaluate(ldapConfig((raw) => (raw.nodes[4].state = "revoked"), { ringAccess: RING_ACCESS }));
    expect(ofType(regs, "rplan:ldap:LdapReplica")).toEqual(["ldap"]);
    expect(ofType(regs, "random:index/randomPassword:RandomPassword").filter((n) => n.startsWith("ldap-"))).toEqual(["ldap-n1-secret", "ldap-n2-secret", "ldap-n3-secret", "ldap-n4-secret"]);
    expect(ofType(regs, SLAPD)).toEqual(["ldap-n1-slapd", "ldap-n2-slapd", "ldap-n3-slapd", "ldap-n4-slapd"]);
    expect(ofType(regs, "pulumi-nodejs:dynamic/rplan:LdapEntries")).toEqual(["ldap-entries"]);
    expect(regs.filter((r) => r.name.startsWith("ldap-") && r.name.includes("n5"))).toEqual([]);
    expect(replica.roles).toEqual({ n1: "master", n2: "consumer", n3: "consumer", n4: "consumer" });
  });

  test("the secret is a Pulumi secret, written 0600 openldap inside the node's mount, and never a SlapdConfig input", async () => {
    const { regs } = await evaluate(ldapConfig());
    const pw = named(regs, "ldap-n3-secret");
    expect(pw.inputs).toMatchObject({ length: 40, special: false, keepers: { node: "n3", revoked: "" } });
    expect(pw.secretOutputs).toEqual(expect.arrayContaining(["result"]));
    const secret = mockSecret("ldap-n3-secret", pw.inputs.keepers);
    const file = named(regs, "ldap-n3-secret-file");
    expect(file.inputs.files).toEqual([{ path: "/srv/crypt/keys/slapd/replicator.secret", content: secret, mode: "0600", owner: "openldap:openldap" }]);
    expect(file.inputs.encryptedMount).toEqual({ kind: "gocryptfs", path: "/srv/crypt", cipherDir: "/srv/.crypt-cipher" });
    for (const r of regs.filter((x) => x.type === SLAPD)) {
      expect(JSON.stringify(r.inputs)).not.toContain(secret);
      expect(r.inputs.secretPath).toMatch(/^\/srv\/crypt\/keys\/slapd\//);
      expect(r.inputs.secretDigest).toMatch(/^[0-9a-f]{16}$/);
    }
    // On the master only a salted hash of each secret.
    const ids = named(regs, "ldap-entries").inputs.entries.filter((e: any) => e.dn.startsWith("cn=n3,"));
    expect(ids).toEqual([expect.objectContaining({ attributes: expect.objectContaining({ userPassword: [expect.stringMatching(/^\{SSHA\}/)] }) })]);
    expect(JSON.stringify(named(regs, "ldap-entries").inputs)).not.toContain(secret);
  });

  test("order: master's slapd, then the entries, then every consumer; all after the VPN check and their secret file", async () => {
    const { regs } = await evaluate(ldapConfig());
    expect(named(regs, "ldap-n1-slapd").deps).toEqual(["ldap-n1-secret", "ldap-n1-secret-file", "mesh-check", "n1-host", "n1-log-anonymity"]);
    expect(named(regs, "ldap-entries").deps).toEqual(["ldap-n1-secret", "ldap-n1-slapd", "ldap-n2-secret", "ldap-n3-secret", "ldap-n4-secret", "ldap-n5-secret"]);
    for (const n of ["n2", "n3", "n4", "n5"]) expect(named(regs, `ldap-${n}-slapd`).deps).toEqual(["ldap-entries", "ldap-n1-slapd", `ldap-${n}-secret`, `ldap-${n}-secret-file`, "mesh-check", `${n}-host`, `${n}-log-anonymity`]);
    expect(named(regs, "ldap-n3-secret-file").deps).toEqual(["ldap-n3-secret", "n3-host"]);
  });

  test("a master switch: every SlapdConfig changes role or provider; the new master is depended on by all", async () => {
    const before = await evaluate(ldapConfig());
    const after = await evaluate(ldapConfig((raw) => (raw.ldap.master = "n2")));
    const spec = (regs: Reg[], n: string) => named(regs, `ldap-${n}-slapd`).inputs.spec;
    expect(spec(after.regs, "n2").role).toBe("master");
    expect(spec(after.regs, "n1")).toMatchObject({ role: "consumer", updateRef: "ldap://198.18.0.12:389/" });
    for (const n of ["n3", "n4", "n5"]) expect(spec(after.regs, n).syncrepl.provider).not.toBe(spec(before.regs, n).syncrepl.provider);
    for (const n of ["n1", "n3", "n4", "n5"]) expect(named(after.regs, `ldap-${n}-slapd`).deps).toEqual(expect.arrayContaining(["ldap-n2-slapd", "ldap-entries"]));
    expect(named(after.regs, "ldap-n2-slapd").deps).not.toContain("ldap-n1-slapd");
    for (const n of ["n1", "n2", "n3"]) expect(named(after.regs, `ldap-${n}-slapd`).inputs.master.node).toBe("n2");
    // Secrets and server IDs do not move.
    for (const n of ["n1", "n2", "n3"]) {
      expect(named(after.regs, `ldap-${n}-secret`).inputs.keepers).toEqual(named(before.regs, `ldap-${n}-secret`).inputs.keepers);
      expect(spec(after.regs, n).serverId).toBe(spec(before.regs, n).serverId);
    }
  });

  test("revocation: every survivor's secret is rotated in the same up, the revoked identity leaves the master", async () => {
    const before = await evaluate(ldapConfig());
    const after = await evaluate(ldapConfig((raw) => (raw.nodes[2].state = "revoked")));
    for (const n of ["n1", "n2", "n4", "n5"]) {
      expect(named(after.regs, `ldap-${n}-secret`).inputs.keepers).toEqual({ node: n, revoked: "n3" });
      expect(named(after.regs, `ldap-${n}-slapd`).inputs.secretDigest).not.toBe(named(before.regs, `ldap-${n}-slapd`).inputs.secretDigest);
    }
    const dns = (regs: Reg[]) => named(regs, "ldap-entries").inputs.entries.map((e: any) => e.dn);
    expect(dns(before.regs)).toContain("cn=n3,ou=nodes,ou=system,dc=example,dc=org");
    expect(dns(after.regs)).not.toContain("cn=n3,ou=nodes,ou=system,dc=example,dc=org");
    expect(named(after.regs, "ldap-entries").inputs.prune).toEqual(["ou=nodes,ou=system,dc=example,dc=org"]);
    expect(named(after.regs, "ldap-n1-slapd").inputs.revoked).toEqual(["n3"]);
  });

  test("providers serialize thin, one string per kind, free of config and secrets", async () => {
    const { regs } = await evaluate(ldapConfig());
    for (const t of ["SlapdConfig", "LdapEntries", "HostFiles"]) {
      const strings = new Set(regs.filter((r) => r.type === `pulumi-nodejs:dynamic/rplan:${t}`).map((r) => r.inputs.__provider as string));
      expect(strings.size).toBe(1);
      const [s] = [...strings];
      expect(s.length).toBeLessThan(2048);
      expect(s).toContain("@rplan/hostops/providers/impl/");
      expect(s).not.toMatch(/198\.51\.100|dc=example/);
    }
  });

  test("args that do not match the config are refused at once", () => {
    jest.isolateModules(() => {
      const p = require("@pulumi/pulumi");
      p.runtime.setMocks({ newResource: (a: any) => ({ id: "x", state: a.inputs }), call: () => ({}) }, "rplan", "test", false);
      const { LdapReplica } = require("../../components/ldap-replica");
      expect(() => new LdapReplica("ldap", { cluster: ldapConfig(), nodes: {}, mesh: {} })).toThrow(/replica n1 has no Node component[\s\S]*replica n5 has no Node component/);
      expect(() => new LdapReplica("ldap", { cluster: ldapConfig((raw) => (raw.ldap.master = "n4"), { ringAccess: RING_ACCESS }), nodes: {}, mesh: {} })).toThrow(/master n4 is in ring edge/);
    });
  });
});

test("an LdapUser's password hash is a secret in state", async () => {
  const { regs } = await registerUnderMocks(() => {
    const { LdapUser } = require("../../providers/ldap-user");
    const u = new LdapUser("alice", { uid: "alice", mail: "alice@example.org", home: "n1", passwordHash: "{SSHA}abcdefghijkl", suffix: "dc=example,dc=org", socketPath: "/var/run/slapd/ldapi", master: { node: "n1", ssh: { host: "h", port: 22, user: "root", hostKeys: [] } } });
    return { result: u, awaited: [u] };
  });
  expect(named(regs, "alice").secretOutputs).toEqual(["passwordHash"]);
});
