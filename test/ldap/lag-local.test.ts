/**
 * Replication lag over 1 000 writes between throwaway local slapds (loopback, no VPN): the floor the
 * lab's figure (over tinc) is compared with. Goal on the lab: p99 ≤ 100 ms.
 */
import * as crypto from "crypto";
import type { Client } from "ldapts";
import { baseEntries, defaultServerId, INDEXES, nodeIdentityDn, nodeIdentityEntry, renderAcl, SlapdNodeSpec, sshaHash, treeDns, userDn } from "../../planning/ldap";
import { applyEntries } from "../../providers/impl/ldap-entries";
import { convergeConfig } from "../../ops/slapd-takeover";
import { writeUser } from "../../ops/ldap-users";
import { ldapClient } from "../../transports/ldap";
import { findSlapd, LocalSlapd, SlapdDist } from "./local-slapd";
import { measureLag } from "../../bench/ldap-lag";

const dist = findSlapd();
const suite = typeof dist === "string" ? describe.skip : describe;
if (typeof dist === "string") console.warn(`SKIPPED test/ldap/lag-local.test.ts: ${dist}`);

const SUFFIX = "dc=example,dc=org";
const DNS = treeDns(SUFFIX);

suite("replication lag (throwaway local slapd)", () => {
  const nodes: LocalSlapd[] = [];
  const clients: Client[] = [];
  afterAll(async () => {
    for (const c of clients) await c.unbind().catch(() => undefined);
    for (const n of nodes) await n.stop();
  });

  test("1 000 writes on the master reach two consumers: p50/p99", async () => {
    const d = dist as SlapdDist;
    const acl = renderAcl({ suffix: SUFFIX, systemDn: DNS.system, nodesDn: DNS.nodes, rings: [{ ring: "core", cidr: "127.0.0.1/32", access: "read" }] });
    const secret = crypto.randomBytes(30).toString("base64").replace(/[^A-Za-z0-9]/g, "").slice(0, 40);
    const base = (n: string, p: { configDir: string; dataDir: string }): SlapdNodeSpec => ({ node: n, serverId: defaultServerId(n), suffix: SUFFIX, role: "master", ...p, listen: [], acl, indexes: INDEXES, limits: [`dn.children="${DNS.nodes}" time=unlimited size=unlimited`] });
    const pm = await LocalSlapd.prepare(d, "lm");
    const m = await LocalSlapd.start(d, "lm", pm, base("lm", pm.paths));
    nodes.push(m);
    const root = async (s: LocalSlapd) => {
      const c = ldapClient(s.ldapiOpener());
      await c.bind("EXTERNAL");
      clients.push(c);
      return c;
    };
    const mc = await root(m);
    await applyEntries(mc, { master: { node: "lm", ssh: {} as any }, socketPath: "", suffix: SUFFIX, entries: [...baseEntries(SUFFIX, "example.org"), ...["l1", "l2"].map((n) => nodeIdentityEntry(SUFFIX, n, sshaHash(secret, nodeIdentityDn(SUFFIX, n))))], prune: [] }, undefined);
    const replicas: Client[] = [];
    for (const n of ["l1", "l2"]) {
      const p = await LocalSlapd.prepare(d, n);
      const s = await LocalSlapd.start(d, n, p, base(n, p.paths));
      nodes.push(s);
      await convergeConfig(s.ctl, { ...base(n, p.paths), role: "consumer", syncrepl: { rid: 1, provider: m.url, binddn: nodeIdentityDn(SUFFIX, n), searchbase: SUFFIX, retry: "1 60 5 +", networkTimeout: 5 }, updateRef: m.url }, s.settings, secret);
      replicas.push(await root(s));
    }
    const u = (i: number) => ({ master: { node: "lm", ssh: {} as any }, socketPath: "", suffix: SUFFIX, uid: `lag${i}`, mail: `lag${i}@example.org`, home: "lm" });
    const r = await measureLag({ writes: 1000, write: async (i) => void (await writeUser(mc, u(i))), dnOf: (i) => userDn(SUFFIX, `lag${i}`), replicas });
    console.log(`replication lag over ${r.writes} writes to 2 consumers (loopback): p50 ${r.p50.toFixed(2)} ms, p99 ${r.p99.toFixed(2)} ms, max ${r.max.toFixed(2)} ms`);
    // Every write is on both consumers (the lag itself is the benchmark's: npm run bench ldap).
    for (const c of replicas) {
      const found = await c.search(treeDns(SUFFIX).people, { scope: "one", filter: "(uid=lag*)", attributes: ["uid"] });
      expect(found.searchEntries.length).toBe(r.writes);
    }
  }, 120_000);
});
