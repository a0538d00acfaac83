/**
 * The master switch's failure paths (docs/switch-ldap-master.md, "What `up` does, in order"), each
 * against two throwaway local slapd processes (./local-slapd.ts): a master `a` and its consumer `b`,
 * driven by the provider's own takeover (runTakeover) and convergence (convergeConfig).
 *
 * - an unreachable old master: the takeover stops before anything changes;
 * - the new master does not catch up in time: the old master is unfrozen and stays master;
 * - the promotion fails before the new master takes writes: the old master is unfrozen;
 * - a revoked old master: promoted around, the old master never contacted (its control is absent
 *   and its cn=config is untouched);
 * - a crash after the promotion (the new master may take writes): the old master stays frozen; a
 *   rerun finishes the switch, and a rerun after the old master was demoted only promotes.
 */
import * as crypto from "crypto";
import { Change, Attribute, Client } from "ldapts";
import {
  baseEntries,
  databaseEntry,
  nodeIdentityDn,
  nodeIdentityEntry,
  renderAcl,
  SlapdNodeSpec,
  sshaHash,
  treeDns,
  userDn,
  valuesOf,
} from "../../planning/ldap";
import { applyEntries } from "../../providers/impl/ldap-entries";
import { convergeConfig, runTakeover } from "../../ops/slapd-takeover";
import { writeUser } from "../../ops/ldap-users";
import { SlapdControl } from "../../ops/slapd-control";
import { ldapiUrl, withRootLdap } from "../../transports/ldap";
import { closedPort } from "../support/fake-sshd";
import { findSlapd, LocalSlapd, localRunner, localSpec, SlapdDist, waitCaughtUp } from "./local-slapd";

const dist = findSlapd();
const suite = typeof dist === "string" ? describe.skip : describe;
if (typeof dist === "string") console.warn(`SKIPPED test/ldap/switch-failures-local.test.ts: ${dist}`);

const SUFFIX = "dc=example,dc=org";
const DNS = treeDns(SUFFIX);
type Name = "a" | "b";
const secret = () => crypto.randomBytes(30).toString("base64").replace(/[^A-Za-z0-9]/g, "").slice(0, 40);

suite("master switch failure paths (throwaway local slapd)", () => {
  const s = {} as Record<Name, LocalSlapd>;
  const paths = {} as Record<Name, Pick<SlapdNodeSpec, "configDir" | "dataDir">>;
  const secrets: Record<Name, string> = { a: secret(), b: secret() };
  let deadUrl = "";

  const spec = (n: Name, master: Name, providerUrl?: string): SlapdNodeSpec =>
    localSpec({ node: n, master, suffix: SUFFIX, paths: paths[n], acl: renderAcl({ suffix: SUFFIX, systemDn: DNS.system, nodesDn: DNS.nodes, rings: [{ ring: "core", cidr: "127.0.0.1/32", access: "write" }] }), masterUrl: () => s[master].url, providerUrl });
  const converge = (n: Name, master: Name, providerUrl?: string) => convergeConfig(s[n].ctl, spec(n, master, providerUrl), s[n].settings, n === master ? undefined : secrets[n]);
  const root = <T>(n: Name, fn: (c: Client) => Promise<T>) => withRootLdap(n, s[n].ldapiOpener(), fn);
  const put = (n: Name, uid: string) => root(n, (c) => writeUser(c, { master: { node: n }, suffix: SUFFIX, uid, mail: `${uid}@example.org`, home: "a" }));
  const role = async (n: Name) => (valuesOf(databaseEntry(await s[n].ctl.readConfig()), "olcSyncrepl").length > 0 ? "consumer" : "master");
  const frozen = async (n: Name) => valuesOf(databaseEntry(await s[n].ctl.readConfig()), "olcReadOnly").some((v) => v.toUpperCase() === "TRUE");
  const caughtUp = (n: Name, master: Name) => waitCaughtUp(s[n], s[master], SUFFIX);
  /** a master, b its consumer, b caught up, nobody frozen. */
  const baseline = async () => {
    if (await frozen("a")) await s.a.ctl.modify([{ dn: databaseEntry(await s.a.ctl.readConfig())!.dn, change: "modify", mods: [{ op: "replace", attr: "olcReadOnly", values: ["FALSE"] }] }]);
    await converge("a", "a");
    await converge("b", "a");
    await put("a", `base-${Date.now()}`);
    await caughtUp("b", "a");
    expect({ a: await role("a"), b: await role("b"), aFrozen: await frozen("a") }).toEqual({ a: "master", b: "consumer", aFrozen: false });
  };
  const takeover = (over: Partial<Parameters<typeof runTakeover>[0]> = {}) =>
    runTakeover({ from: "a", fromCtl: s.a.ctl, toCtl: s.b.ctl, suffix: SUFFIX, timeoutMs: 5_000, promote: async () => void (await converge("b", "b")), ...over });

  beforeAll(async () => {
    const d = dist as SlapdDist;
    const prepared = {} as Record<Name, Awaited<ReturnType<typeof LocalSlapd.prepare>>>;
    for (const n of ["a", "b"] as const) {
      prepared[n] = await LocalSlapd.prepare(d, n);
      paths[n] = prepared[n].paths;
    }
    for (const n of ["a", "b"] as const) s[n] = await LocalSlapd.start(d, n, prepared[n], { ...spec(n, n), ...paths[n] });
    await converge("a", "a");
    const tree = [...baseEntries(SUFFIX, "example.org"), ...(["a", "b"] as const).map((n) => nodeIdentityEntry(SUFFIX, n, sshaHash(secrets[n], nodeIdentityDn(SUFFIX, n))))];
    await root("a", (c) => applyEntries(c, { master: { node: "a", ssh: {} as any }, socketPath: "", suffix: SUFFIX, entries: tree, prune: [DNS.nodes] }, undefined));
    deadUrl = `ldap://127.0.0.1:${await closedPort()}/`;
  }, 60_000);
  afterAll(async () => {
    for (const n of ["a", "b"] as const) await s[n]?.stop();
  });

  test("an unreachable old master: the takeover stops before anything changes (no freeze, no promotion)", async () => {
    await baseline();
    const configB = await s.b.ctl.readConfig();
    let promoted = false;
    const gone = new SlapdControl("a", localRunner, ldapiUrl(`${s.a.dir}/run/no-such-socket`));
    const err = await takeover({ fromCtl: gone, promote: async () => void (promoted = true) }).catch((e: Error) => e);
    expect(String(err)).toMatch(/^LdapError: \[a\] .*Can't contact LDAP server/);
    expect(promoted).toBe(false);
    expect(await s.b.ctl.readConfig()).toEqual(configB);
    expect({ a: await role("a"), b: await role("b"), aFrozen: await frozen("a") }).toEqual({ a: "master", b: "consumer", aFrozen: false });
    await put("a", "after-unreachable");
  });

  test("the new master does not catch up in time: the old master is unfrozen and stays master; nothing is promoted", async () => {
    await baseline();
    await converge("b", "a", deadUrl); // b stops replicating
    await put("a", "only-on-a");
    let promoted = false;
    const t0 = Date.now();
    await expect(takeover({ timeoutMs: 300, promote: async () => void (promoted = true) })).rejects.toThrow(/\[b\] did not catch up with a within 300 ms \(behind for server IDs \d+\); a was unfrozen and stays master/);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(300);
    expect(promoted).toBe(false);
    expect({ a: await role("a"), b: await role("b"), aFrozen: await frozen("a") }).toEqual({ a: "master", b: "consumer", aFrozen: false });
    await put("a", "after-timeout");
    await converge("b", "a");
    await caughtUp("b", "a");
    expect(await root("b", async (c) => (await c.search(userDn(SUFFIX, "only-on-a"), { scope: "base" })).searchEntries.length)).toBe(1);
  });

  test("the promotion fails before the new master takes writes: the old master is unfrozen and stays master", async () => {
    await baseline();
    await expect(takeover({ promote: async () => Promise.reject(new Error("ldapmodify died")) })).rejects.toThrow(/\[b\] promotion failed: ldapmodify died\. a was unfrozen and stays master/);
    expect({ a: await role("a"), b: await role("b"), aFrozen: await frozen("a") }).toEqual({ a: "master", b: "consumer", aFrozen: false });
    await put("a", "after-failed-promotion");
  });

  test("a revoked old master: the new master is promoted without a freeze and the old one's cn=config is untouched", async () => {
    await baseline();
    const configA = await s.a.ctl.readConfig();
    const csnA = await s.a.ctl.contextCsn(SUFFIX);
    const report = await takeover({ fromCtl: undefined });
    expect(report).toMatchObject({ from: "a", froze: false, oldMasterCsn: [] });
    expect(await role("b")).toBe("master");
    expect(await s.a.ctl.readConfig()).toEqual(configA);
    expect(await s.a.ctl.contextCsn(SUFFIX)).toEqual(csnA);
    expect(await frozen("a")).toBe(false);
    // back to a as master for the next test (b took no writes)
    await converge("b", "a");
  });

  test("a crash once the new master may take writes: the old master stays frozen; a rerun finishes the switch; a rerun after the demotion only promotes", async () => {
    await baseline();
    await expect(
      takeover({
        promote: async () => {
          await converge("b", "b");
          throw new Error("connection lost");
        },
      }),
    ).rejects.toThrow(/\[b\] promotion failed: connection lost\. b may already take writes: a stays frozen; run up again to finish the switch/);
    expect({ a: await role("a"), b: await role("b"), aFrozen: await frozen("a") }).toEqual({ a: "master", b: "master", aFrozen: true });
    // the frozen old master refuses writes with the frozen message (LDAP result 53)
    await expect(put("a", "to-frozen-a")).rejects.toThrow(/frozen for a master switch/);
    const code = await root("a", (c) =>
      c.modify(userDn(SUFFIX, "after-failed-promotion"), [new Change({ operation: "replace", modification: new Attribute({ type: "rplanQuota", values: ["1"] }) })]).then(
        () => 0,
        (e: { code?: number }) => e.code,
      ),
    );
    expect(code).toBe(53);
    // rerun (the next up): freeze again, caught up, promote — then the old master's own convergence demotes and unfreezes it
    const rerun = await takeover();
    expect(rerun).toMatchObject({ from: "a", froze: true });
    expect(await converge("a", "b")).toEqual(expect.arrayContaining([expect.stringContaining("olcReadOnly")]));
    expect({ a: await role("a"), b: await role("b"), aFrozen: await frozen("a") }).toEqual({ a: "consumer", b: "master", aFrozen: false });
    // and a rerun after that (e.g. the up crashed after the demotion): the old master is a consumer, so only the promotion runs
    let promoted = 0;
    const again = await takeover({ promote: async () => void (promoted++, await converge("b", "b")) });
    expect(again).toMatchObject({ from: "a", froze: false });
    expect(promoted).toBe(1);
    await put("b", "after-switch");
    await caughtUp("a", "b");
  });
});
