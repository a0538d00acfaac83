/** SlapdConfig, LdapEntries and LdapUser check/diff: pure, no I/O, unknowns tolerated (preview). */
import * as entries from "../../providers/impl/ldap-entries";
import * as slapd from "../../providers/impl/ldap-slapd";
import * as user from "../../providers/impl/ldap-user";
import { refuseLosingDemotion } from "../../ops/slapd-takeover";
import { baseEntries, DEFAULT_SLAPD_SETTINGS, LdifEntry, planLdap, slapdNodeSpec } from "../../planning/ldap";
import { fakeHostKey } from "../support/config-fixture";
import { ldapConfig } from "./support";

const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
const ssh = (n: number) => ({ host: `198.51.100.1${n}`, port: 22, user: "root", hostKeys: [fakeHostKey(`n${n}`)] });
const mount = { kind: "gocryptfs" as const, path: "/srv/crypt", cipherDir: "/srv/.crypt-cipher" };

function slapdInputs(master = "n1", node = "n3", revoked: string[] = []): slapd.SlapdConfigInputs {
  const plan = planLdap(ldapConfig((raw) => (raw.ldap.master = master)));
  return {
    node,
    ssh: ssh(Number(node.slice(1))),
    encryptedMount: mount,
    spec: slapdNodeSpec(plan, node),
    settings: DEFAULT_SLAPD_SETTINGS,
    secretPath: "/srv/crypt/keys/slapd/replicator.secret",
    secretDigest: "0123456789abcdef",
    master: { node: master, ssh: ssh(Number(master.slice(1))) },
    revoked,
    switchTimeoutMs: 10000,
  };
}

describe("SlapdConfig check", () => {
  test("valid inputs pass; check fills in the role transition preview shows", async () => {
    const olds = slapdInputs("n1", "n2");
    expect(slapd.validateSlapdConfig(undefined, olds)).toEqual([]);
    expect((await slapd.check(undefined, olds)).inputs.transition).toBe("");
    expect((await slapd.check(olds, slapdInputs("n2", "n2"))).inputs.transition).toMatch(/^promote n2 to master: freeze n1, wait until n2 has every write n1 acknowledged/);
    expect((await slapd.check(slapdInputs("n1", "n1"), slapdInputs("n2", "n1"))).inputs.transition).toMatch(/^demote n1: after n2 is promoted/);
    expect((await slapd.check(slapdInputs("n1", "n3"), slapdInputs("n2", "n3"))).inputs.transition).toBe("repoint n3: replicate from n2 instead of n1, refer writes to n2");
    const overRevoked = await slapd.check(olds, { ...slapdInputs("n2", "n2"), revoked: ["n1"] });
    expect(overRevoked.inputs.transition).toMatch(/WITHOUT freezing n1 \(revoked/);
  });

  test("a live node's server ID never changes", async () => {
    const olds = slapdInputs();
    const news = { ...olds, spec: { ...olds.spec, serverId: olds.spec.serverId + 1 } };
    expect((await slapd.check(olds, news)).failures).toEqual([{ property: "spec", reason: expect.stringMatching(/olcServerID of n3 would change from \d+ to \d+: a live node keeps its ID/) }]);
    expect((await slapd.check(undefined, news)).failures).toBeUndefined();
  });

  test("secrets, cn=config and data stay inside the mount; slapd never listens on every address", () => {
    const i = slapdInputs();
    const bad = slapd.validateSlapdConfig(undefined, {
      ...i,
      secretPath: "/etc/ldap/secret",
      spec: { ...i.spec, configDir: "/etc/ldap/slapd.d", dataDir: "/srv/crypt/../var/lib/ldap", listen: ["ldap:///", "ldap://0.0.0.0:389/", "ldaps://198.18.0.13/", "ldapi:///"] },
    });
    expect(bad.map((f) => f.reason)).toEqual([
      expect.stringContaining('listen URL "ldap:///"'),
      expect.stringContaining('listen URL "ldap://0.0.0.0:389/"'),
      expect.stringContaining('listen URL "ldaps://198.18.0.13/"'),
      expect.stringContaining("the replication secret of n3 must lie inside its encrypted mount /srv/crypt"),
      expect.stringContaining("cn=config of n3 must lie inside its encrypted mount"),
      expect.stringContaining("the database"),
    ]);
  });

  test("role and master must agree; a revoked node is never configured", () => {
    const i = slapdInputs();
    const bad = slapd.validateSlapdConfig(undefined, { ...i, spec: { ...i.spec, syncrepl: undefined }, master: { ...i.master, node: "n3" }, revoked: ["n3"] });
    expect(bad.map((f) => f.reason)).toEqual([expect.stringContaining("consumer without syncrepl"), expect.stringContaining("consumer of itself"), expect.stringContaining("n3 is revoked")]);
  });

  test("unknowns in preview pass", async () => {
    const i = slapdInputs();
    expect(slapd.validateSlapdConfig(undefined, { ...i, secretDigest: UNKNOWN, master: UNKNOWN as any })).toEqual([]);
    expect(slapd.validateSlapdConfig(undefined, { ...i, spec: UNKNOWN as any })).toEqual([]);
    expect((await slapd.check(i, { ...i, master: UNKNOWN as any })).inputs.transition).toBe("");
  });
});

describe("SlapdConfig diff", () => {
  const olds = { ...slapdInputs("n1", "n3"), transition: "", applied: ["x"], contextCSN: [], __provider: "old code" };

  test("a switch, a rotation, an ACL change are updates; provider code, timeouts, the master's SSH endpoint are not", async () => {
    expect(await slapd.diff("n3", olds, { ...slapdInputs("n1", "n3"), __provider: "new code" } as any)).toEqual({ changes: false, replaces: [], deleteBeforeReplace: false });
    expect((await slapd.diff("n3", olds, slapdInputs("n2", "n3"))).changes).toBe(true);
    expect((await slapd.diff("n3", olds, { ...slapdInputs(), secretDigest: "fedcba9876543210" })).changes).toBe(true);
    expect((await slapd.diff("n3", olds, { ...slapdInputs(), switchTimeoutMs: 3 })).changes).toBe(false);
    expect((await slapd.diff("n3", olds, { ...slapdInputs(), master: { node: "n1", ssh: { ...ssh(1), port: 2222 } } })).changes).toBe(false);
    const i = slapdInputs();
    expect((await slapd.diff("n3", olds, { ...i, spec: { ...i.spec, acl: [...i.spec.acl, "to * by * read"] } })).changes).toBe(true);
    expect((await slapd.diff("n3", olds, { ...i, secretDigest: UNKNOWN })).changes).toBe(true);
  });

  test("a node found frozen by refresh is repaired by the next up", async () => {
    expect((await slapd.diff("n3", { ...olds, frozen: true }, slapdInputs())).changes).toBe(true);
  });

  test("the takeover runs only when a consumer becomes master while another node was", () => {
    expect(slapd.isTakeover(slapdInputs("n1", "n2"), slapdInputs("n2", "n2"))).toBe(true);
    expect(slapd.isTakeover(undefined, slapdInputs("n2", "n2"))).toBe(false);
    expect(slapd.isTakeover(slapdInputs("n1", "n1"), slapdInputs("n1", "n1"))).toBe(false);
    expect(slapd.isTakeover(slapdInputs("n1", "n1"), slapdInputs("n2", "n1"))).toBe(false);
  });
});

describe("LdapEntries check/diff", () => {
  const suffix = "dc=example,dc=org";
  const inputs: entries.LdapEntriesInputs = { master: { node: "n1", ssh: ssh(1) }, socketPath: "/var/run/slapd/ldapi", suffix, entries: baseEntries(suffix, "example.org"), prune: [`ou=nodes,ou=system,${suffix}`] };

  test("parents first, under the suffix, once each", () => {
    expect(entries.validateLdapEntries(inputs)).toEqual([]);
    const bad = entries.validateLdapEntries({ ...inputs, entries: [inputs.entries[1], inputs.entries[0], inputs.entries[0], { dn: "dc=other,dc=net", attributes: { objectClass: ["x"] } }, { dn: `cn=x,${suffix}`, attributes: {} }], prune: [] });
    expect(bad.map((f) => f.reason)).toEqual([
      expect.stringContaining("comes before its parent"),
      expect.stringContaining("listed twice"),
      expect.stringContaining("is not under the suffix"),
      expect.stringContaining("needs an objectClass list"),
    ]);
    expect(entries.validateLdapEntries({ ...inputs, entries: UNKNOWN as any })).toEqual([]);
  });

  test("prune only a container it lists, never the suffix or the users", () => {
    for (const p of [suffix, `ou=people,${suffix}`, `ou=elsewhere,${suffix}`]) {
      expect(entries.validateLdapEntries({ ...inputs, prune: [p] })).toEqual([{ property: "prune", reason: expect.stringContaining(`prune ${JSON.stringify(p)} must be a container listed in entries`) }]);
    }
  });

  test("a new master re-verifies; a new hash is a change", async () => {
    const olds = { ...inputs, lastApply: { added: [], modified: [], deleted: [] } };
    expect((await entries.diff("id", olds, inputs)).changes).toBe(false);
    expect((await entries.diff("id", olds, { ...inputs, master: { node: "n2", ssh: ssh(2) } })).changes).toBe(true);
    const withId = { ...inputs, entries: [...inputs.entries, { dn: `cn=n1,ou=nodes,ou=system,${suffix}`, attributes: { objectClass: ["applicationProcess"], userPassword: ["{SSHA}b"] } }] };
    expect((await entries.diff("id", withId, { ...withId, entries: [...inputs.entries, { ...withId.entries[4], attributes: { ...withId.entries[4].attributes, userPassword: ["{SSHA}c"] } }] })).changes).toBe(true);
  });
});

describe("LdapUser check/diff", () => {
  const u: user.LdapUserInputs = { master: { node: "n1", ssh: ssh(1) }, socketPath: "/var/run/slapd/ldapi", suffix: "dc=example,dc=org", uid: "alice", mail: "alice@example.org", home: "n2" };

  test("bad uids and plaintext passwords are refused at check", async () => {
    expect((await user.check(undefined, u)).failures).toBeUndefined();
    const r = await user.check(undefined, { ...u, uid: "Alice,ou=admins", passwordHash: "secret" });
    expect(r.failures?.map((f) => f.property)).toEqual(["uid", "passwordHash"]);
    expect((await user.check(undefined, { ...u, uid: UNKNOWN })).failures).toBeUndefined();
  });

  test("a new uid is a new entry; a new home is an update; a master switch is no change for thousands of users", async () => {
    expect(await user.diff("id", u, { ...u, uid: "bob" })).toEqual({ changes: true, replaces: ["uid"], deleteBeforeReplace: false });
    expect(await user.diff("id", u, { ...u, home: "n3" })).toEqual({ changes: true, replaces: [], deleteBeforeReplace: false });
    expect((await user.diff("id", u, { ...u, master: { node: "n2", ssh: ssh(2) } })).changes).toBe(false);
  });

  test("defaults read back by refresh are no change", async () => {
    expect((await user.diff("id", { ...u, state: "active", aliases: [], displayName: "alice" }, u)).changes).toBe(false);
    expect((await user.diff("id", { ...u, state: "frozen" }, u)).changes).toBe(true);
  });
});

describe("SlapdConfig refuses a demotion that would lose writes", () => {
  const csn = (sid: string, t: string) => `20260101${t}.000000Z#000000#${sid}#000000`;
  const node = (syncrepl: boolean, ours: string[]) => ({
    readConfig: async (): Promise<LdifEntry[]> => [{ dn: "olcDatabase={1}mdb,cn=config", attrs: syncrepl ? { olcSyncrepl: ["rid=001 provider=ldap://x/"] } : {} }],
    contextCsn: async () => ours,
  });
  const news = slapdInputs("n2", "n1");

  test("a master holding writes the new master lacks stays master, with a message saying why", async () => {
    const err = refuseLosingDemotion(node(false, [csn("001", "120000")]), async () => [], news);
    await expect(err).rejects.toThrow(/\[n1\] is master and n2 lacks writes it took \(server IDs 1\).*nothing was changed/);
  });

  test("demotion goes ahead once the new master has everything, for an empty node, and for a node already consumer", async () => {
    const taken = [csn("001", "120000")];
    await expect(refuseLosingDemotion(node(false, taken), async () => [csn("001", "120000"), csn("002", "130000")], news)).resolves.toBeUndefined();
    await expect(refuseLosingDemotion(node(false, []), async () => [], news)).resolves.toBeUndefined();
    await expect(refuseLosingDemotion(node(true, taken), async () => [], news)).resolves.toBeUndefined();
  });
});
