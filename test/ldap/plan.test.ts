/** The LDAP plan: roles, server IDs, ACLs from rings, syncrepl — pure. */
import { defaultServerId, LdapPlanError, planLdap, slapdNodeSpec, assignServerIds, ROUTING_ATTRIBUTES } from "../../planning/ldap";
import { ldapConfig, RING_ACCESS } from "./support";

describe("roles and replication", () => {
  test("one master; every other node a refreshAndPersist consumer of the master's VPN address", () => {
    const plan = planLdap(ldapConfig(() => {}, { ringAccess: RING_ACCESS }));
    expect(plan.master).toBe("n1");
    expect(plan.nodes.map((n) => [n.node, n.role])).toEqual([["n1", "master"], ["n2", "consumer"], ["n3", "consumer"], ["n4", "consumer"], ["n5", "consumer"]]);
    const n3 = plan.nodes.find((n) => n.node === "n3")!;
    expect(n3.syncrepl).toEqual({
      rid: 1,
      provider: "ldap://198.18.0.11:389/",
      binddn: "cn=n3,ou=nodes,ou=system,dc=example,dc=org",
      searchbase: "dc=example,dc=org",
      retry: "1 60 5 +",
      networkTimeout: 5,
    });
    expect(n3.updateRef).toBe("ldap://198.18.0.11:389/");
    expect(plan.nodes[0].syncrepl).toBeUndefined();
    expect(plan.nodes[0].updateRef).toBeUndefined();
  });

  test("cn=config and the database live inside the encrypted mount; the secret in the slapd key dir", () => {
    const plan = planLdap(ldapConfig((raw) => (raw.nodes[1].keyDirs = { slapd: "/srv/crypt/other/slapd" })));
    const [n1, n2] = plan.nodes;
    expect(n1.configDir).toBe("/srv/crypt/slapd/config");
    expect(n1.dataDir).toBe("/srv/crypt/slapd/data");
    expect(n1.secretPath).toBe("/srv/crypt/keys/slapd/replicator.secret");
    expect(n2.secretPath).toBe("/srv/crypt/other/slapd/replicator.secret");
  });

  test("slapd listens on loopback, the VPN address and ldapi, never on a public address", () => {
    const plan = planLdap(ldapConfig());
    for (const n of plan.nodes) {
      expect(n.listen).toEqual(["ldap://127.0.0.1:389/", `ldap://${n.vpnAddress}:389/`, "ldapi:///"]);
      expect(n.listen.join(" ")).not.toMatch(/198\.51\.100|ldap:\/\/\//);
    }
  });

  test("an edge (routing) node replicates only the routing attributes", () => {
    const plan = planLdap(ldapConfig(() => {}, { ringAccess: RING_ACCESS }));
    const n4 = plan.nodes.find((n) => n.node === "n4")!;
    expect(n4.access).toBe("routing");
    expect(n4.syncrepl!.attrs).toEqual(ROUTING_ATTRIBUTES.filter((a) => a !== "entry"));
    expect(n4.syncrepl!.attrs).not.toContain("userPassword");
    expect(plan.nodes.find((n) => n.node === "n3")!.syncrepl!.attrs).toBeUndefined();
  });

  test("revoked nodes hold no replica and are listed", () => {
    const plan = planLdap(ldapConfig((raw) => (raw.nodes[2].state = "revoked")));
    expect(plan.nodes.map((n) => n.node)).toEqual(["n1", "n2", "n4", "n5"]);
    expect(plan.revoked).toEqual(["n3"]);
  });

  test("a switch changes the role of the old and the new master and the provider of every consumer", () => {
    const before = planLdap(ldapConfig());
    const after = planLdap(ldapConfig((raw) => (raw.ldap.master = "n2")));
    expect(slapdNodeSpec(after, "n2").role).toBe("master");
    expect(slapdNodeSpec(after, "n1").role).toBe("consumer");
    expect(slapdNodeSpec(after, "n1").syncrepl!.provider).toBe("ldap://198.18.0.12:389/");
    for (const n of ["n3", "n4", "n5"]) {
      expect(slapdNodeSpec(before, n).updateRef).toBe("ldap://198.18.0.11:389/");
      expect(slapdNodeSpec(after, n).updateRef).toBe("ldap://198.18.0.12:389/");
    }
    // Nothing else moves: server IDs, ACLs, paths.
    for (const n of ["n1", "n2", "n3"]) expect(slapdNodeSpec(after, n).serverId).toBe(slapdNodeSpec(before, n).serverId);
    expect(after.acl).toEqual(before.acl);
  });
});

describe("bad LDAP settings stop at preview with every problem", () => {
  test("master in a routing ring, unknown ring, bad level, node in a ring with no access", () => {
    let err: LdapPlanError | undefined;
    try {
      planLdap(ldapConfig((raw) => (raw.ldap.master = "n4"), { ringAccess: { edge: "routing", nowhere: "read", member: "everything", core: "none" } }));
    } catch (e) {
      err = e as LdapPlanError;
    }
    expect(err).toBeInstanceOf(LdapPlanError);
    expect(err!.problems).toEqual([
      expect.stringContaining("rplan:ldap.ringAccess: nowhere is not a ring"),
      expect.stringContaining("rplan:ldap.ringAccess.member must be one of write, read, routing, none"),
      expect.stringMatching(/master n4 is in ring edge with access routing: its replica is partial/),
      expect.stringContaining("node n1 is in ring core, whose LDAP access is none"),
      expect.stringContaining("node n2 is in ring core, whose LDAP access is none"),
    ]);
  });

  test("a draining master is refused", () => {
    expect(() => planLdap(ldapConfig((raw) => (raw.nodes[1].state = "draining"), { master: "n2" }))).toThrow(/master n2 is draining/);
  });
});

describe("olcServerID", () => {
  test("derived from the node name alone: adding or removing other nodes never moves it", () => {
    const few = assignServerIds(["n1", "n2", "n3"]);
    const more = assignServerIds(["a0", "n1", "n2", "n3", "zz"]);
    const fewer = assignServerIds(["n3"]);
    expect(more.n1).toBe(few.n1);
    expect(more.n3).toBe(few.n3);
    expect(fewer.n3).toBe(few.n3);
    for (const id of Object.values(more)) expect(id).toBeGreaterThanOrEqual(1);
    for (const id of Object.values(more)) expect(id).toBeLessThanOrEqual(4095);
    expect(defaultServerId("n1")).toBe(few.n1);
  });

  test("collisions are reported with a free ID to use; overrides are checked", () => {
    // Find two names that collide, to prove the check (the space is 4095).
    const seen = new Map<number, string>();
    let pair: [string, string] | undefined;
    for (let i = 0; !pair; i++) {
      const name = `x${i}`;
      const id = defaultServerId(name);
      if (seen.has(id)) pair = [seen.get(id)!, name];
      else seen.set(id, name);
    }
    const problems: string[] = [];
    assignServerIds(pair, {}, (p) => problems.push(p));
    expect(problems).toEqual([expect.stringMatching(new RegExp(`olcServerID \\d+ would be shared by ${pair[0]} and ${pair[1]}: set rplan:ldap.serverIds.<the one not yet set up> \\(${pair[0]} or ${pair[1]}\\) to an unused ID`))]);
    const fixed: string[] = [];
    const ids = assignServerIds(pair, { [pair[1]]: 7 }, (p) => fixed.push(p));
    expect(fixed).toEqual([]);
    expect(ids[pair[1]]).toBe(7);
    const wrong: string[] = [];
    assignServerIds(["n1"], { n1: 0, ghost: 3 }, (p) => wrong.push(p));
    expect(wrong).toEqual([expect.stringContaining("serverIds.n1 must be an integer 1..4095"), expect.stringContaining("ghost is not a node")]);
  });

  test("a revoked node's ID stays reserved", () => {
    const cluster = ldapConfig((raw) => (raw.nodes[2].state = "revoked"), { serverIds: { n1: defaultServerId("n3") } });
    expect(() => planLdap(cluster)).toThrow(/olcServerID \d+ would be shared by n1 and n3: change rplan:ldap.serverIds.n1/);
  });
});
