/**
 * An edge ("routing") replica for real: a throwaway master and consumer on this machine (see
 * ./local-slapd.ts) where the consumer's source address (127.0.0.1) is the edge ring. The consumer
 * replicates with the planner's attribute list and the master's ACLs give its identity only the
 * routing attributes: the replica can route mail and nothing else — no password hashes, no quota,
 * no node identities — and the replication still works.
 */
import * as crypto from "crypto";
import type { Client } from "ldapts";
import { baseEntries, behindSids, defaultServerId, INDEXES, nodeIdentityDn, nodeIdentityEntry, renderAcl, ROUTING_ATTRIBUTES, SlapdNodeSpec, sshaHash, treeDns, userDn } from "../../planning/ldap";
import { applyEntries } from "../../providers/impl/ldap-entries";
import { convergeConfig } from "../../ops/slapd-takeover";
import { writeUser } from "../../ops/ldap-users";
import { ldapClient, readEntry, sleep, withRootLdap } from "../../transports/ldap";
import { findSlapd, LocalSlapd, SlapdDist } from "./local-slapd";

const dist = findSlapd();
const suite = typeof dist === "string" ? describe.skip : describe;
if (typeof dist === "string") console.warn(`SKIPPED test/ldap/slapd-edge-local.test.ts: ${dist}`);

const SUFFIX = "dc=example,dc=org";
const DNS = treeDns(SUFFIX);
const ACL = renderAcl({
  suffix: SUFFIX,
  systemDn: DNS.system,
  nodesDn: DNS.nodes,
  rings: [
    { ring: "edge", cidr: "127.0.0.1/32", access: "routing" },
    { ring: "core", cidr: "127.0.0.2/32", access: "write" },
  ],
});

suite("an edge replica holds routing attributes only (throwaway local slapd)", () => {
  let m: LocalSlapd;
  let e: LocalSlapd;
  const secret = crypto.randomBytes(30).toString("base64").replace(/[^A-Za-z0-9]/g, "").slice(0, 40);
  const root = <T>(s: LocalSlapd, fn: (c: Client) => Promise<T>) => withRootLdap(s.name, s.ldapiOpener(), fn);

  beforeAll(async () => {
    const d = dist as SlapdDist;
    const pm = await LocalSlapd.prepare(d, "m");
    const pe = await LocalSlapd.prepare(d, "e");
    const base = { suffix: SUFFIX, listen: [], acl: ACL, indexes: INDEXES, limits: [`dn.children="${DNS.nodes}" time=unlimited size=unlimited`] };
    const mSpec: SlapdNodeSpec = { ...base, node: "m", serverId: defaultServerId("m"), role: "master", ...pm.paths };
    m = await LocalSlapd.start(d, "m", pm, mSpec);
    const eSpec: SlapdNodeSpec = {
      ...base,
      node: "e",
      serverId: defaultServerId("e"),
      role: "consumer",
      ...pe.paths,
      syncrepl: { rid: 1, provider: m.url, binddn: nodeIdentityDn(SUFFIX, "e"), searchbase: SUFFIX, retry: "1 60 5 +", networkTimeout: 5, attrs: ROUTING_ATTRIBUTES.filter((a) => a !== "entry") },
      updateRef: m.url,
    };
    e = await LocalSlapd.start(d, "e", pe, { ...eSpec, role: "master", syncrepl: undefined, updateRef: undefined });
    await root(m, (c) =>
      applyEntries(c, { master: { node: "m", ssh: {} as any }, socketPath: "", suffix: SUFFIX, entries: [...baseEntries(SUFFIX, "example.org"), nodeIdentityEntry(SUFFIX, "e", sshaHash(secret, nodeIdentityDn(SUFFIX, "e")))], prune: [DNS.nodes] }, undefined),
    );
    await root(m, (c) =>
      writeUser(c, { master: { node: "m" }, suffix: SUFFIX, uid: "alice", mail: "alice@example.org", home: "m", quota: 5, aliases: ["al@example.net"], passwordHash: sshaHash("alice-password-0123456789", "x") }),
    );
    await convergeConfig(e.ctl, eSpec, e.settings, secret);
  }, 60_000);

  afterAll(async () => {
    await e?.stop();
    await m?.stop();
  });

  test("users arrive with their routing attributes; hashes, quota and identities never do", async () => {
    const until = Date.now() + 10_000;
    const dn = userDn(SUFFIX, "alice");
    const attrs = ["uid", "mail", "rplanHome", "rplanMailAlias", "rplanUserState", "rplanQuota", "userPassword", "cn", "objectClass"];
    let got: Record<string, string[]> | undefined;
    while (!(got = await root(e, (c) => readEntry(c, dn, attrs)))) {
      if (Date.now() > until) throw new Error("alice never reached the edge replica");
      await sleep(20);
    }
    expect(got).toEqual({
      uid: ["alice"],
      mail: ["alice@example.org"],
      rplanHome: ["m"],
      rplanMailAlias: ["al@example.net"],
      rplanUserState: ["active"],
      objectClass: expect.arrayContaining(["inetOrgPerson", "rplanUser"]),
    });
    expect(await root(e, (c) => readEntry(c, DNS.nodes, ["ou"]))).toBeUndefined();
    expect(await root(e, (c) => readEntry(c, nodeIdentityDn(SUFFIX, "e"), ["userPassword"]))).toBeUndefined();
    // A later change of a routing attribute follows; contextCSN agrees.
    await root(m, (c) => writeUser(c, { master: { node: "m" }, suffix: SUFFIX, uid: "alice", mail: "alice@example.org", home: "e", quota: 5 }));
    for (;;) {
      const now = await root(e, (c) => readEntry(c, dn, ["rplanHome"]));
      if (now?.rplanHome?.[0] === "e") break;
      if (Date.now() > until + 5000) throw new Error("the home change never reached the edge replica");
      await sleep(20);
    }
    expect(behindSids(await m.ctl.contextCsn(SUFFIX), await e.ctl.contextCsn(SUFFIX))).toEqual([]);
  });

  test("from the edge address, the edge identity reads routing attributes on the master too, and writes nothing", async () => {
    const c = ldapClient(m.tcpOpener("127.0.0.1"));
    await c.bind(nodeIdentityDn(SUFFIX, "e"), secret);
    expect(await readEntry(c, userDn(SUFFIX, "alice"), ["mail", "rplanHome", "rplanQuota", "userPassword"])).toEqual({ mail: ["alice@example.org"], rplanHome: ["e"] });
    const { Change, Attribute } = require("ldapts");
    await expect(c.modify(userDn(SUFFIX, "alice"), [new Change({ operation: "replace", modification: new Attribute({ type: "rplanHome", values: ["x"] }) })])).rejects.toMatchObject({ code: 50 });
    await c.unbind();
  });
});
