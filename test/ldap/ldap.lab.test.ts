/**
 * The directory on the lab, through the admins' commands (`npm run stack -- preview|up`,
 * `npm run ldap -- user put`) and checked with real clients on the nodes (ldapsearch, ldapmodify):
 * replication to every replica, referrals from replicas, ring ACLs by VPN source address, a master
 * switch under a writer every 50 ms with every acknowledged write on every node afterwards, and
 * revocation rotating the replication secrets.
 *
 * Lab: lab1, lab2 (core: write), lab3 (member: read), lab4 (edge: routing attributes only).
 */
import { execFile } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import type { Client } from "ldapts";
import { parseDocument } from "yaml";
import { labSshTarget, labStackConfigPath } from "../../lab";
import { SSH_KEY as LAB_SSH_KEY } from "../../lab/state";
import { behindSids } from "../../planning/ldap";
import { ldapClient, sleep, sshStreamOpener } from "../../transports/ldap";
import { closeAllSsh, sshConnection } from "../../transports/ssh";
import { RPLAN_PROJECT_DIR, runStack, RunResult } from "../../runner";
import { labWithExactly } from "../support/lab";
import { acceptedLogins, controlLogin } from "../support/lab-logins";
import { startWriter } from "../../bench/ldap-writer";
import { LAB_STACK_FILES } from "../../lab/stack-files";

const maybe = process.getuid?.() === 0 ? describe : describe.skip;
const SUFFIX = "dc=lab,dc=rplan,dc=test";
const PEOPLE = `ou=people,${SUFFIX}`;
const NODES_DN = `ou=nodes,ou=system,${SUFFIX}`;
const SECRET = "/srv/crypt/keys/slapd/replicator.secret";
const VPN: Record<string, string> = { lab1: "198.18.0.11", lab2: "198.18.0.12", lab3: "198.18.1.13", lab4: "198.18.2.14" };

/** A shell command on a lab node (stdin optional); never throws on a non-zero exit. */
async function sh(node: string, script: string, stdin?: string): Promise<{ code: number; out: string }> {
  const r = await (await sshConnection(labSshTarget(node))).run(["sh", "-c", script], { allowFailure: true, ...(stdin !== undefined ? { stdin } : {}) });
  return { code: r.code, out: r.stdout + r.stderr };
}
const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
/** ldapsearch as root over the node's own ldapi socket: attribute → values of one entry. */
async function readOn(node: string, dn: string, attrs: string[] = ["*"]): Promise<Record<string, string[]> | undefined> {
  const r = await sh(node, `ldapsearch -Q -LLL -o ldif-wrap=no -Y EXTERNAL -H ldapi:/// -s base -b ${q(dn)} ${attrs.map(q).join(" ")}`);
  if (r.code === 32) return undefined;
  if (r.code !== 0) throw new Error(`ldapsearch on ${node}: ${r.out}`);
  return parseLdif(r.out);
}
function parseLdif(text: string): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const line of text.split("\n")) {
    const m = /^([A-Za-z0-9-]+)(::?) ?(.*)$/.exec(line);
    if (m) (out[m[1]] ??= []).push(m[3]);
  }
  return out;
}
async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}
function npmLdap(args: string[], configFile: string): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile("npx", ["ts-node", "cli/ldap.ts", ...args, "--config", configFile], { cwd: RPLAN_PROJECT_DIR, env: { ...process.env, RPLAN_SSH_KEY: LAB_SSH_KEY } }, (e, stdout, stderr) =>
      resolve({ code: e ? ((e as any).code ?? 1) : 0, out: stdout + stderr }),
    );
  });
}

maybe("LDAP on the lab: replication, referrals, ring ACLs, master switch, revocation", () => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "rplan-ldap-lab-"));
  const stateFile = path.join(work, "state.json");
  const env = { RPLAN_SSH_KEY: LAB_SSH_KEY };
  const run = (op: "preview" | "up", configFile: string, skipPreview = false): Promise<RunResult> => runStack({ op, skipPreview, stack: "lab", stackFiles: LAB_STACK_FILES, stateFile, configFile, env });
  const changes = (r: RunResult) => r.steps.filter((s) => s.op !== "same").map((s) => `${s.op} ${s.name}`).sort();
  const variant = (file: string, edit: (doc: ReturnType<typeof parseDocument>) => void): string => {
    const doc = parseDocument(fs.readFileSync(labStackConfigPath(), "utf8"));
    edit(doc);
    const out = path.join(work, file);
    fs.writeFileSync(out, doc.toString());
    return out;
  };
  let base = "";
  let first: RunResult;

  beforeAll(async () => {
    await labWithExactly(4);
    base = variant("base.yaml", () => undefined);
    // The suite's starting point: no test reads this up's plan, so one pass (no preview first).
    first = await run("up", base, true);
  }, 900_000);
  afterAll(() => closeAllSsh());

  test("the first up reports every replica's role and the master's contextCSN after the tree was written", () => {
    expect(first.outputs.ldapRoles).toEqual({ lab1: "master", lab2: "consumer", lab3: "consumer", lab4: "consumer" });
    const csn = first.outputs.ldapContextCSN as Record<string, string[]>;
    expect(csn.lab1).toHaveLength(1);
    expect(csn.lab1[0]).toMatch(/^\d{14}\.\d{6}Z#000000#[0-9a-f]{3}#000000$/);
  });

  test("slapd listens only on loopback, the node's VPN address and ldapi — never on a public address", async () => {
    for (const node of Object.keys(VPN)) {
      const r = await sh(node, "ss -Hltn 'sport = :389' | awk '{print $4}' | sort");
      expect(r.out.trim().split("\n")).toEqual([`127.0.0.1:389`, `${VPN[node]}:389`].sort());
      expect((await sh(node, "test -S /var/run/slapd/ldapi && stat -c %U /srv/crypt/slapd/data")).out.trim()).toBe("openldap");
    }
  });

  test("a user written with `npm run ldap -- user put` on the master is on every replica (ldapsearch); the edge replica holds routing attributes only", async () => {
    const hash = "{SSHA}a2V5LW5vdC1yZWFsLXNhbHQxMjM0NTY3ODkw";
    const put = await npmLdap(["user", "put", "alice", "--mail", "alice@lab.rplan.test", "--home", "lab3", "--alias", "al@lab.rplan.test", "--password-hash", hash], base);
    expect(put).toMatchObject({ code: 0, out: expect.stringContaining("alice: added on lab1") });
    const dn = `uid=alice,${PEOPLE}`;
    for (const node of ["lab2", "lab3"]) {
      const e = await until(`alice on ${node}`, () => readOn(node, dn));
      expect(e).toMatchObject({ mail: ["alice@lab.rplan.test"], rplanHome: ["lab3"], rplanMailAlias: ["al@lab.rplan.test"], userPassword: [expect.any(String)], cn: ["alice"] });
    }
    const edge = await until("alice on lab4", () => readOn("lab4", dn));
    expect(edge).toMatchObject({ mail: ["alice@lab.rplan.test"], rplanHome: ["lab3"], rplanMailAlias: ["al@lab.rplan.test"] });
    expect(edge.userPassword).toBeUndefined();
    expect(edge.cn).toBeUndefined();
    // the edge replica holds no node identities either
    expect(await readOn("lab4", `cn=lab1,${NODES_DN}`)).toBeUndefined();
    expect(await readOn("lab2", `cn=lab1,${NODES_DN}`)).toBeDefined();
  }, 120_000);

  test("a write on a replica is answered with a referral to the master's VPN address", async () => {
    const r = await sh("lab3", `ldapmodify -Q -Y EXTERNAL -H ldapi:///`, `dn: uid=alice,${PEOPLE}\nchangetype: modify\nreplace: rplanQuota\nrplanQuota: 5\n`);
    expect(r.code).toBe(10);
    expect(r.out).toContain(`ldap://${VPN.lab1}:389/uid=alice,${PEOPLE}`);
    expect((await readOn("lab1", `uid=alice,${PEOPLE}`))?.rplanQuota).toBeUndefined();
  });

  test("ring ACLs by VPN source: member reads password hashes, edge only routing attributes, anonymous nothing", async () => {
    const search = (from: string, bind: string, attrs: string) =>
      sh(from, `ldapsearch -LLL -o ldif-wrap=no -x -H ldap://${VPN.lab1}:389/ ${bind} -b ${q(`uid=alice,${PEOPLE}`)} -s base ${attrs}`);
    const asNode = (n: string) => `-D ${q(`cn=${n},${NODES_DN}`)} -y ${SECRET}`;
    const member = await search("lab3", asNode("lab3"), "mail userPassword cn");
    expect(member.code).toBe(0);
    expect(parseLdif(member.out)).toMatchObject({ mail: ["alice@lab.rplan.test"], userPassword: [expect.any(String)], cn: ["alice"] });
    const edge = await search("lab4", asNode("lab4"), "mail userPassword cn rplanHome");
    expect(edge.code).toBe(0);
    const e = parseLdif(edge.out);
    expect(e).toMatchObject({ mail: ["alice@lab.rplan.test"], rplanHome: ["lab3"] });
    expect(e.userPassword).toBeUndefined();
    expect(e.cn).toBeUndefined();
    const anonymous = await search("lab4", "", "mail");
    expect(parseLdif(anonymous.out).mail).toBeUndefined();
    // lab3's identity from an edge address is not lab3: its replica-wide read needs its ring's source
    const stolen = await sh("lab4", `ldapsearch -LLL -o ldif-wrap=no -x -H ldap://${VPN.lab1}:389/ -D ${q(`cn=lab3,${NODES_DN}`)} -w ${q((await sh("lab3", `cat ${SECRET}`)).out.trim())} -b ${q(`uid=alice,${PEOPLE}`)} -s base userPassword`);
    expect(parseLdif(stolen.out).userPassword).toBeUndefined();
  });

  test("master switch lab1 → lab2 under a writer every 50 ms: every acknowledged write is on every node; refusals are clear", async () => {
    const switched = variant("switched.yaml", (d) => d.setIn(["config", "rplan:ldap", "master"], "lab2"));
    const clients: Record<string, Client> = {};
    for (const n of ["lab1", "lab2"]) {
      clients[n] = ldapClient(sshStreamOpener(await sshConnection(labSshTarget(n)), { socketPath: "/var/run/slapd/ldapi" }), { timeoutMs: 5000 });
      await clients[n].bind("EXTERNAL");
    }
    const writer = startWriter({ clients, first: "lab1", suffix: SUFFIX, intervalMs: 50 });
    await sleep(1000);
    const up = await run("up", switched);
    await sleep(1000);
    const { acked, refused, longestGapMs } = await writer.stop();
    for (const c of Object.values(clients)) await c.unbind().catch(() => undefined);

    // What the up's own preview listed, checked before anything was applied.
    // The spam filter's learned state follows the role (docs/switch-ldap-master.md): every node's redis
    // and rspamd are repointed in the same update.
    const preview = { ...up, steps: up.preview!.steps };
    const spamFilters = Object.keys(VPN).map((n) => `update ${n}-spam-filter`);
    expect(changes(preview)).toEqual([...spamFilters, "update ldap-entries", "update ldap-lab1-slapd", "update ldap-lab2-slapd", "update ldap-lab3-slapd", "update ldap-lab4-slapd"]);
    const detail = preview.steps.flatMap((s) => s.detail).join("\n");
    expect(detail).toContain("promote lab2");
    expect(detail).toMatch(/demote lab1/);
    expect(changes(up)).toEqual(changes(preview));
    const report = up.outputs.ldapLastSwitch as { from: string; froze: boolean; frozenMs: number; caughtUpMs: number; promotedMs: number; oldMasterCsn: string[] };
    expect(report).toMatchObject({ from: "lab1", froze: true });
    // the new master holds everything the frozen old master ever acknowledged (durations: npm run bench ldap)
    expect(report.oldMasterCsn.length).toBeGreaterThan(0);
    expect(behindSids(report.oldMasterCsn, (up.outputs.ldapContextCSN as Record<string, string[]>).lab2)).toEqual([]);
    expect(up.outputs.ldapRoles).toEqual({ lab1: "consumer", lab2: "master", lab3: "consumer", lab4: "consumer" });
    // lab2's redis now holds the writable copy of the learned state; every other node's replicates it
    for (const node of Object.keys(VPN)) {
      const info = (await sh(node, "redis-cli info replication")).out;
      const role = /^role:(\w+)/m.exec(info)?.[1];
      const from = /^master_host:(\S+)/m.exec(info)?.[1];
      expect({ node, role, from }).toEqual(node === "lab2" ? { node, role: "master", from: undefined } : { node, role: "slave", from: VPN.lab2 });
    }
    console.log(`switch: frozen ${report.frozenMs} ms, caught up ${report.caughtUpMs} ms, promoted ${report.promotedMs} ms; longest gap between acknowledged writes ${longestGapMs} ms; ${acked.length} writes acknowledged, ${refused.length} refused:\n${[...new Set(refused)].join("\n")}`);
    expect(acked.length).toBeGreaterThan(20);
    // the writer ran throughout, so writes overlapped the freeze: some were refused, each clearly, and
    // at least one by the frozen old master itself (LDAP result 53)
    expect(refused.length).toBeGreaterThan(0);
    for (const m of refused) expect(m).toMatch(/frozen for a master switch|is not the master/);
    expect(refused.some((m) => /frozen for a master switch/.test(m))).toBe(true);

    // every acknowledged write on every node, read with ldapsearch on each node
    for (const node of Object.keys(VPN)) {
      const have = await until(`${acked.length} writes on ${node}`, async () => {
        const r = await sh(node, `ldapsearch -Q -LLL -Y EXTERNAL -H ldapi:/// -b ${q(PEOPLE)} -s one '(uid=w*)' uid`);
        const uids = new Set(parseLdif(r.out).uid ?? []);
        return acked.every((u) => uids.has(u)) ? uids : undefined;
      });
      expect(acked.filter((u) => !have.has(u))).toEqual([]);
    }
    // after the switch: lab2 takes writes, lab1 refers them to lab2
    const r = await sh("lab1", `ldapmodify -Q -Y EXTERNAL -H ldapi:///`, `dn: uid=alice,${PEOPLE}\nchangetype: modify\nreplace: rplanQuota\nrplanQuota: 5\n`);
    expect(r).toMatchObject({ code: 10, out: expect.stringContaining(`ldap://${VPN.lab2}:389/`) });
    expect((await sh("lab2", `ldapmodify -Q -Y EXTERNAL -H ldapi:///`, `dn: uid=alice,${PEOPLE}\nchangetype: modify\nreplace: rplanQuota\nrplanQuota: 5\n`)).code).toBe(0);
    expect((await run("preview", switched)).changed).toBe(false);
    // the admin's status command agrees, and notices a config that still names the old master
    const status = await npmLdap(["status", "--wait", "10"], switched);
    expect(status.code).toBe(0);
    expect(status.out).toMatch(/lab2 +master, caught up/);
    expect(status.out).toMatch(/lab1 +consumer, caught up/);
    expect((await npmLdap(["status"], base)).code).toBe(1);
    base = switched;
  }, 600_000);

  test("revoking lab4 rotates every survivor's replication secret in the same up; old credentials are refused; lab4 is never contacted", async () => {
    const secrets: Record<string, string> = {};
    for (const n of Object.keys(VPN)) secrets[n] = (await sh(n, `cat ${SECRET}`)).out.trim();
    const revoked = variant("revoked.yaml", (d) => {
      d.setIn(["config", "rplan:ldap", "master"], "lab2");
      (d.getIn(["config", "rplan:nodes"]) as any).items[3].set("state", "revoked");
    });
    const preview = await run("preview", revoked);
    const c = changes(preview);
    for (const n of ["lab1", "lab2", "lab3"]) expect(c).toEqual(expect.arrayContaining([`replace ldap-${n}-secret`, `update ldap-${n}-secret-file`, `update ldap-${n}-slapd`]));
    expect(c).toEqual(expect.arrayContaining(["delete ldap-lab4-secret", "delete ldap-lab4-secret-file", "delete ldap-lab4-slapd", "update ldap-entries"]));
    const lab4 = await sshConnection(labSshTarget("lab4"));
    // logins from before lab4's log anonymity are recorded nowhere: a control login proves the count works
    await controlLogin(lab4, await acceptedLogins(lab4));
    const loginsBefore = await acceptedLogins(lab4);
    expect(loginsBefore).toBeGreaterThan(0);
    await run("up", revoked);
    const loginsAfter = await acceptedLogins(lab4);
    expect(loginsAfter).toBe(loginsBefore);
    await controlLogin(lab4, loginsAfter); // positive control: a login to lab4 does raise the count

    const bind = (from: string, who: string, secret: string) =>
      sh(from, `ldapwhoami -x -H ldap://${VPN.lab2}:389/ -D ${q(`cn=${who},${NODES_DN}`)} -w ${q(secret)}`);
    for (const n of ["lab1", "lab3"]) {
      const now = (await sh(n, `cat ${SECRET}`)).out.trim();
      expect(now).not.toBe(secrets[n]);
      expect((await bind(n, n, secrets[n])).code).toBe(49);
      expect((await bind(n, n, now)).code).toBe(0);
    }
    expect((await bind("lab1", "lab4", secrets.lab4)).code).toBe(49);
    // replication still flows to the survivors with their new secrets
    expect((await sh("lab2", `ldapmodify -Q -Y EXTERNAL -H ldapi:///`, `dn: uid=alice,${PEOPLE}\nchangetype: modify\nreplace: rplanQuota\nrplanQuota: 7\n`)).code).toBe(0);
    for (const n of ["lab1", "lab3"]) await until(`quota 7 on ${n}`, async () => ((await readOn(n, `uid=alice,${PEOPLE}`, ["rplanQuota"]))?.rplanQuota?.[0] === "7" ? true : undefined));
  }, 600_000);
});
