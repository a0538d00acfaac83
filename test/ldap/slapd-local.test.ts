/**
 * The real thing, without hosts: three throwaway slapd processes on this machine (private ldapi
 * sockets and 127.0.0.1 ports in temp dirs; see ./local-slapd.ts), configured by the same code the
 * providers run on nodes — bootstrap LDIF, convergence through ldapmodify over ldapi, entries and
 * users through ldapts on a stream to the ldapi socket, the takeover of a master switch — and checked
 * with real clients (ldapsearch/ldapmodify) and ldapts binds from chosen loopback source addresses
 * standing in for the trust rings. What differs on nodes: SSH channels instead of local sockets,
 * systemd, the encrypted mount, the VPN (the lab tests those).
 */
import * as crypto from "crypto";
import type { Client } from "ldapts";
import {
  DirectoryEntry,
  baseEntries,
  nodeIdentityDn,
  nodeIdentityEntry,
  renderAcl,
  SlapdNodeSpec,
  sshaHash,
  treeDns,
  userDn,
} from "../../planning/ldap";
import { applyEntries } from "../../providers/impl/ldap-entries";
import { convergeConfig, runTakeover } from "../../ops/slapd-takeover";
import type { LdapUserInputs } from "../../providers/impl/ldap-user";
import { readUser, writeUser } from "../../ops/ldap-users";
import { ldapClient, ldapError, readEntry, sleep, withRootLdap } from "../../transports/ldap";
import { findSlapd, LocalSlapd, localRunner, localSpec, SlapdDist, waitCaughtUp } from "./local-slapd";

const dist = findSlapd();
const suite = typeof dist === "string" ? describe.skip : describe;
if (typeof dist === "string") console.warn(`SKIPPED test/ldap/slapd-local.test.ts: ${dist}`);

const SUFFIX = "dc=example,dc=org";
const DNS = treeDns(SUFFIX);
/** Loopback source addresses standing in for the rings' VPN subnets. */
const RINGS = [
  { ring: "core", cidr: "127.0.0.1/32", access: "write" as const },
  { ring: "edge", cidr: "127.0.0.2/32", access: "routing" as const },
  { ring: "member", cidr: "127.0.0.3/32", access: "read" as const },
];
let revoked: { identityDn: string; vpnAddress: string }[] = [];
const acl = () => renderAcl({ suffix: SUFFIX, systemDn: DNS.system, nodesDn: DNS.nodes, rings: RINGS, revoked });
const NAMES = ["a", "b", "c"] as const;
type Name = (typeof NAMES)[number];
const secret = () => crypto.randomBytes(30).toString("base64").replace(/[^A-Za-z0-9]/g, "").slice(0, 40);

suite("slapd for real (throwaway local instances)", () => {
  const s = {} as Record<Name, LocalSlapd>;
  const paths = {} as Record<Name, Pick<SlapdNodeSpec, "configDir" | "dataDir">>;
  const secrets: Record<Name, string> = { a: secret(), b: secret(), c: secret() };

  const spec = (n: Name, master: Name): SlapdNodeSpec => localSpec({ node: n, master, suffix: SUFFIX, paths: paths[n], acl: acl(), masterUrl: () => s[master].url });
  const converge = (n: Name, master: Name) => convergeConfig(s[n].ctl, spec(n, master), s[n].settings, n === master ? undefined : secrets[n]);
  const tree = (): DirectoryEntry[] => [...baseEntries(SUFFIX, "example.org"), ...NAMES.filter((n) => secrets[n]).map((n) => nodeIdentityEntry(SUFFIX, n, sshaHash(secrets[n], nodeIdentityDn(SUFFIX, n))))];
  const entriesInputs = (master: Name, entries = tree()) => ({ master: { node: master, ssh: {} as any }, socketPath: "", suffix: SUFFIX, entries, prune: [DNS.nodes] });
  const root = <T>(n: Name, fn: (c: Client) => Promise<T>) => withRootLdap(n, s[n].ldapiOpener(), fn);
  const user = (uid: string, extra: Partial<LdapUserInputs> = {}): LdapUserInputs => ({ master: { node: "a", ssh: {} as any }, socketPath: "", suffix: SUFFIX, uid, mail: `${uid}@example.org`, home: "a", ...extra });
  const caughtUp = (n: Name, master: Name) => waitCaughtUp(s[n], s[master], SUFFIX);
  /** A simple bind over TCP from a loopback source address, as a node identity. */
  const asNode = async <T>(target: Name, identity: Name, from: string, password: string, fn: (c: Client) => Promise<T>) => {
    const c = ldapClient(s[target].tcpOpener(from));
    try {
      await c.bind(nodeIdentityDn(SUFFIX, identity), password);
      return await fn(c);
    } finally {
      await c.unbind().catch(() => undefined);
    }
  };

  beforeAll(async () => {
    const d = dist as SlapdDist;
    const prepared = {} as Record<Name, Awaited<ReturnType<typeof LocalSlapd.prepare>>>;
    for (const n of NAMES) {
      prepared[n] = await LocalSlapd.prepare(d, n);
      paths[n] = prepared[n].paths;
    }
    // Every node starts from the same bootstrap (no role yet), as on a fresh mount.
    for (const n of NAMES) s[n] = await LocalSlapd.start(d, n, prepared[n], { ...spec(n, n), ...paths[n] });
    expect(await converge("a", "a")).toEqual([]);
    await applyEntries(await rootClient("a"), entriesInputs("a"), undefined).finally(() => undefined);
    expect(await converge("b", "a")).toEqual([expect.stringMatching(/^modify olcDatabase=\{1\}mdb,cn=config: replace olcSyncrepl \(rid=001 .*credentials="\*\*\*".*\); replace olcUpdateRef/)]);
    await converge("c", "a");
    await caughtUp("b", "a");
    await caughtUp("c", "a");
  }, 60_000);

  const clients: Client[] = [];
  async function rootClient(n: Name): Promise<Client> {
    const c = ldapClient(s[n].ldapiOpener());
    await c.bind("EXTERNAL");
    clients.push(c);
    return c;
  }

  afterAll(async () => {
    for (const c of clients) await c.unbind().catch(() => undefined);
    for (const n of NAMES) await s[n]?.stop();
  });

  test("converging again changes nothing (idempotent), and the secret is not in what it reports", async () => {
    for (const n of NAMES) expect(await converge(n, "a")).toEqual([]);
  });

  test("a write on the master is visible on every replica (ldapsearch)", async () => {
    const t0 = Date.now();
    await root("a", (c) => writeUser(c, user("alice", { quota: 1000, passwordHash: sshaHash("pw-of-alice-0123456789", "x"), aliases: ["al@example.net"] })));
    for (const n of ["b", "c"] as const) {
      for (;;) {
        const r = await localRunner.run(["ldapsearch", "-Q", "-LLL", "-Y", "EXTERNAL", "-H", s[n].ctl.url, "-b", userDn(SUFFIX, "alice"), "-s", "base", "rplanHome", "mail"], { allowFailure: true });
        if (r.code === 0 && r.stdout.includes("rplanHome: a")) break;
        if (Date.now() - t0 > 5000) throw new Error(`alice never reached ${n}: ${r.stderr}`);
        await sleep(5);
      }
    }
    console.log(`replication of one write to both replicas: ${Date.now() - t0} ms`);
    expect(await root("c", (c) => readUser(c, SUFFIX, "alice"))).toMatchObject({ uid: "alice", mail: "alice@example.org", home: "a", quota: 1000, aliases: ["al@example.net"], state: "active" });
  });

  test("a write on a replica gets a referral to the master (ldapts and ldapmodify)", async () => {
    await expect(root("b", (c) => writeUser(c, user("bob")))).rejects.toThrow(/\[a\] write user bob: a is not the master|is not the master/);
    const r = await localRunner.run(["ldapmodify", "-Q", "-Y", "EXTERNAL", "-H", s.b.ctl.url], { stdin: `dn: ${userDn(SUFFIX, "alice")}\nchangetype: modify\nreplace: rplanQuota\nrplanQuota: 5\n`, allowFailure: true });
    expect(r.code).toBe(10);
    expect(r.stderr + r.stdout).toContain(s.a.url.replace(/\/$/, ""));
  });

  test("rings: edge reads routing attributes only, member reads all, core writes user data; nobody writes identities; anonymous gets nothing", async () => {
    const dn = userDn(SUFFIX, "alice");
    const all = ["mail", "rplanHome", "rplanQuota", "userPassword", "uid"];
    // Edge address with a node identity: only routing attributes; no system subtree at all.
    const edge = await asNode("b", "c", "127.0.0.2", secrets.c, async (c) => ({ user: await readEntry(c, dn, all), system: await readEntry(c, DNS.nodes, ["ou"]) }));
    expect(edge.user).toEqual({ mail: ["alice@example.org"], rplanHome: ["a"], uid: ["alice"] });
    expect(edge.system).toBeUndefined();
    // Member: everything, no writes.
    const member = await asNode("a", "c", "127.0.0.3", secrets.c, async (c) => {
      const e = await readEntry(c, dn, all);
      const w = await c.modify(dn, [new (require("ldapts").Change)({ operation: "replace", modification: new (require("ldapts").Attribute)({ type: "rplanQuota", values: ["1"] }) })]).then(() => "written", (e: any) => e.code);
      return { e, w };
    });
    expect(Object.keys(member.e!).sort()).toEqual(["mail", "rplanHome", "rplanQuota", "uid", "userPassword"]);
    expect(member.w).toBe(50);
    // Core: writes user data, never an identity.
    const { Change, Attribute } = require("ldapts");
    const core = await asNode("a", "c", "127.0.0.1", secrets.c, async (c) => ({
      user: await c.modify(dn, [new Change({ operation: "replace", modification: new Attribute({ type: "rplanQuota", values: ["2000"] }) })]).then(() => "written", (e: any) => e.code),
      identity: await c.modify(nodeIdentityDn(SUFFIX, "b"), [new Change({ operation: "replace", modification: new Attribute({ type: "userPassword", values: ["x"] }) })]).then(() => "written", (e: any) => e.code),
    }));
    expect(core).toEqual({ user: "written", identity: 50 });
    // The right address without the identity, or the identity with a wrong password: nothing.
    const anon = ldapClient(s.a.tcpOpener("127.0.0.1"));
    expect(await readEntry(anon, dn, all)).toBeUndefined();
    await anon.unbind();
    await expect(asNode("a", "c", "127.0.0.1", "wrong-password-0123456789", async () => "in")).rejects.toMatchObject({ code: 49 });
  });

  test("master switch a → b under a writer every 20 ms: every acknowledged write is on every node; refusals are clear", async () => {
    await caughtUp("b", "a");
    const acked: string[] = [];
    const refused: string[] = [];
    let stop = false;
    let target: Name = "a";
    const writer = (async () => {
      const cs: Record<Name, Client> = { a: await rootClient("a"), b: await rootClient("b"), c: await rootClient("c") };
      for (let i = 0; !stop; i++) {
        const uid = `w${i}`;
        try {
          await writeUser(cs[target], user(uid, { master: { node: target, ssh: {} as any } }));
          acked.push(uid);
        } catch (e) {
          refused.push((e as Error).message);
          target = target === "a" ? "b" : "a"; // rediscover the master
        }
        await sleep(20);
      }
    })();
    await sleep(300);
    const t0 = Date.now();
    const report = await runTakeover({ from: "a", fromCtl: s.a.ctl, toCtl: s.b.ctl, suffix: SUFFIX, timeoutMs: 10_000, promote: async () => void (await converge("b", "b")) });
    await Promise.all([converge("a", "b"), converge("c", "b")]);
    const switchMs = Date.now() - t0;
    await sleep(300);
    stop = true;
    await writer;
    await caughtUp("a", "b");
    await caughtUp("c", "b");
    const missing: Record<string, string[]> = {};
    for (const n of NAMES) {
      const have = await root(n, async (c) => new Set((await c.search(DNS.people, { scope: "one", filter: "(uid=w*)", attributes: ["uid"] })).searchEntries.map((e) => String(e.uid))));
      missing[n] = acked.filter((u) => !have.has(u));
    }
    console.log(`refused during the switch:\n${refused.join("\n")}`);
    console.log(`switch: ${switchMs} ms (freeze ${report.frozenMs} ms, caught up ${report.caughtUpMs} ms, promoted ${report.promotedMs} ms); ${acked.length} writes acknowledged, ${refused.length} refused`);
    expect(report.froze).toBe(true);
    expect(missing).toEqual({ a: [], b: [], c: [] });
    expect(acked.length).toBeGreaterThan(10);
    // Writes overlapped the freeze (the writer runs throughout), so some were refused — each clearly,
    // and at least one by the frozen old master itself (LDAP result 53).
    expect(refused.length).toBeGreaterThan(0);
    for (const m of refused) expect(m).toMatch(/refused the write .* frozen for a master switch|is not the master/);
    expect(refused.some((m) => /refused the write .* frozen for a master switch/.test(m))).toBe(true);
    // After the switch: b takes writes, a refers them to b.
    await root("b", (c) => writeUser(c, user("after-switch")));
    await expect(root("a", (c) => writeUser(c, user("to-old-master")))).rejects.toThrow(/is not the master/);
  }, 60_000);

  test("revocation of c: its identity is deleted on the master and every survivor's secret rotated; old credentials are refused", async () => {
    const old = { ...secrets };
    delete (secrets as Partial<Record<Name, string>>).c;
    secrets.a = secret();
    secrets.b = secret();
    const r = await applyEntries(await rootClient("b"), entriesInputs("b"), entriesInputs("b", [...tree(), nodeIdentityEntry(SUFFIX, "c", "x")]));
    expect(r.deleted).toEqual([nodeIdentityDn(SUFFIX, "c")]);
    expect(r.modified.sort()).toEqual([nodeIdentityDn(SUFFIX, "a"), nodeIdentityDn(SUFFIX, "b")].sort());
    // Its replication session, opened before, is still bound: the ACL cuts what it is sent.
    revoked = [{ identityDn: nodeIdentityDn(SUFFIX, "c"), vpnAddress: "127.0.0.9" }];
    expect(await converge("b", "b")).toEqual([expect.stringContaining("replace olcAccess")]);
    expect(await converge("a", "b")).toEqual([expect.stringMatching(/replace olcAccess.*replace olcSyncrepl/)]);
    await expect(asNode("b", "c", "127.0.0.1", old.c, async () => "in")).rejects.toMatchObject({ code: 49 });
    await expect(asNode("b", "a", "127.0.0.1", old.a, async () => "in")).rejects.toMatchObject({ code: 49 });
    expect(await asNode("b", "a", "127.0.0.1", secrets.a, async () => "in")).toBe("in");
    // Replication to a still works with its new secret; c gets nothing new.
    await root("b", (c) => writeUser(c, user("after-revocation")));
    await caughtUp("a", "b");
    expect(await root("a", (c) => readUser(c, SUFFIX, "after-revocation"))).toBeDefined();
    await sleep(1500);
    expect(await root("c", (c) => readUser(c, SUFFIX, "after-revocation"))).toBeUndefined();
  }, 30_000);

  test("an error from ldapts names the node and explains referrals and frozen masters", () => {
    expect(ldapError("n1", "write x", Object.assign(new Error("x"), { code: 10 })).message).toMatch(/n1 is not the master/);
  });
});
