/**
 * `npm run ldap -- user put|show|delete` as admins run it, without a lab: the stack config names a
 * throwaway SSH server on 127.0.0.1 (test/support/fake-sshd.ts) whose streamlocal forwarding leads to
 * a throwaway local slapd's ldapi socket (./local-slapd.ts), which is what SSH to a node's
 * /var/run/slapd/ldapi is. Bad input is refused before any host is contacted: the server counts
 * TCP connections.
 */
import { execFile } from "child_process";
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { checkSsha } from "../../planning/ldap";
import { hashUserPassword } from "../../ops/ldap-users";
import { rawConfig, rawNode } from "../support/config-fixture";
import { adminKeyFile, FakeSshd, startFakeSshd, tempDir } from "../support/fake-sshd";
import { findSlapd, LocalSlapd, SlapdDist, startSeededMaster } from "./local-slapd";

const dist = findSlapd();
const suite = typeof dist === "string" ? describe.skip : describe;
if (typeof dist === "string") console.warn(`SKIPPED test/ldap/user-cli-local.test.ts: ${dist}`);

const PROJECT = path.resolve(__dirname, "../..");
const SUFFIX = "dc=example,dc=org";

test("--password hashes locally with {SSHA} and a random salt; short passwords are refused", () => {
  const a = hashUserPassword("correct horse battery");
  const b = hashUserPassword("correct horse battery");
  expect(a).toMatch(/^\{SSHA\}[A-Za-z0-9+/]{38}==$/);
  expect(a).not.toBe(b);
  expect(checkSsha("correct horse battery", a)).toBe(true);
  expect(checkSsha("correct horse batterY", a)).toBe(false);
  expect(() => hashUserPassword("short")).toThrow("at least 8 characters");
});

suite("npm run ldap -- user … (throwaway SSH server and slapd)", () => {
  const dir = tempDir("rplan-ldap-cli-");
  const key = adminKeyFile(dir);
  let slapd: LocalSlapd;
  let sshd: FakeSshd;
  let configFile = "";

  beforeAll(async () => {
    slapd = await startSeededMaster(dist as SlapdDist, "m", SUFFIX);
    sshd = await startFakeSshd({ streamlocal: slapd.socket });
    const r = rawConfig();
    r.nodes = [
      { ...rawNode(1, "NL"), ssh: { host: "127.0.0.1", port: sshd.port, user: "root", hostKeys: [sshd.hostKey] } },
      rawNode(2, "DE"),
      rawNode(3, "SE", { state: "draining" }),
      rawNode(4, "IS", { state: "revoked" }),
    ];
    configFile = path.join(dir, "Pulumi.unit.yaml");
    fs.writeFileSync(configFile, YAML.stringify({ config: Object.fromEntries(Object.entries(r).map(([k, v]) => [`rplan:${k}`, v])) }));
  }, 60_000);

  afterAll(async () => {
    await sshd?.close();
    await slapd?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  function ldap(args: string[], stdin = ""): Promise<{ code: number; out: string }> {
    return new Promise((resolve) => {
      const child = execFile(process.execPath, ["-r", "ts-node/register", "cli/ldap.ts", ...args, "--stack", "unit", "--config", configFile], { cwd: PROJECT, env: { ...process.env, RPLAN_SSH_KEY: key, TS_NODE_TRANSPILE_ONLY: "1" } }, (e, stdout, stderr) =>
        resolve({ code: e ? ((e as any).code ?? 1) : 0, out: stdout + stderr }),
      );
      child.stdin?.end(stdin);
    });
  }
  const shown = (out: string) => JSON.parse(out.slice(out.indexOf("{"), out.lastIndexOf("}") + 1));

  test("put (password asked for and hashed here), show, put without the alias and quota removes them, delete, show again", async () => {
    const put = await ldap(["user", "put", "alice", "--mail", "alice@example.org", "--home", "n2", "--alias", "al@example.org", "--quota", "5000", "--password"], "a long enough password\n");
    expect(put).toMatchObject({ code: 0, out: expect.stringContaining("alice: added on n1") });
    const show = await ldap(["user", "show", "alice"]);
    expect(show.code).toBe(0);
    const u = shown(show.out);
    expect(u).toMatchObject({ uid: "alice", mail: "alice@example.org", home: "n2", aliases: ["al@example.org"], quota: 5000, state: "active" });
    expect(checkSsha("a long enough password", u.passwordHash)).toBe(true);
    expect(show.out).not.toContain("a long enough password");

    const again = await ldap(["user", "put", "alice", "--mail", "alice@example.org", "--home", "n2"]);
    expect(again).toMatchObject({ code: 0, out: expect.stringContaining("alice: modified on n1") });
    const after = shown((await ldap(["user", "show", "alice"])).out);
    expect(after).toEqual({ uid: "alice", mail: "alice@example.org", home: "n2", state: "active" });

    expect(await ldap(["user", "delete", "alice"])).toMatchObject({ code: 0, out: expect.stringContaining("alice: deleted") });
    expect(await ldap(["user", "show", "alice"])).toMatchObject({ code: 1, out: expect.stringContaining("alice: no such user") });
    expect(await ldap(["user", "delete", "alice"])).toMatchObject({ code: 1, out: expect.stringContaining("alice: no such user") });
  }, 120_000);

  test("without --home a new user gets the placement planner's suggestion (an active node), and an existing user keeps theirs", async () => {
    const put = await ldap(["user", "put", "carol", "--mail", "carol@example.org"]);
    expect(put.code).toBe(0);
    const home = /carol: home (n\d) \(suggested by the placement planner/.exec(put.out)?.[1];
    expect(["n1", "n2"]).toContain(home);
    expect(shown((await ldap(["user", "show", "carol"])).out).home).toBe(home);
    const moved = home === "n1" ? "n2" : "n1";
    expect((await ldap(["user", "put", "carol", "--mail", "carol@example.org", "--home", moved])).code).toBe(0);
    const again = await ldap(["user", "put", "carol", "--mail", "carol@example.org"]);
    expect(again.out).toContain(`carol: home ${moved} (kept: the user exists`);
    expect(shown((await ldap(["user", "show", "carol"])).out).home).toBe(moved);
    expect((await ldap(["user", "delete", "carol"])).code).toBe(0);
  }, 120_000);

  test("bad input is refused with one clear message and no host contacted", async () => {
    const before = sshd.connections();
    const cases: [string[], string][] = [
      [["user", "show", "Bad!"], 'invalid uid "Bad!"'],
      [["user", "delete", "../x"], 'invalid uid "../x"'],
      [["user", "put", "Bad!", "--mail", "b@example.org", "--home", "n1"], 'uid "Bad!" must match'],
      [["user", "put", "bob", "--mail", "bob@example.org", "--home", "n4"], "home n4 is revoked"],
      [["user", "put", "bob", "--mail", "bob@example.org", "--home", "n3"], "home n3 is draining"],
      [["user", "put", "bob", "--mail", "bob@example.org", "--home", "n9"], "home n9 is not a node of the stack"],
      [["user", "put", "bob", "--mail", "bob@example.org", "--home", "n1", "--password-hash", "plaintext"], "plaintext passwords are refused"],
      [["user", "put", "bob", "--mail", "bob@example.org", "--home", "n1", "--password", "--password-hash", "{SSHA}x"], "give --password or --password-hash, not both"],
      // the uid is checked before the password is asked for (stdin is empty: asking would fail differently)
      [["user", "put", "Bad!", "--mail", "b@example.org", "--home", "n1", "--password"], 'uid "Bad!" must match'],
    ];
    for (const [args, message] of cases) {
      const r = await ldap(args);
      expect({ args, code: r.code, out: r.out }).toMatchObject({ code: 2, out: expect.stringContaining(message) });
      // one message per problem: a missing home is not also reported as an unknown node
      expect(r.out.split("\n").filter((l) => l.includes("- ")).length).toBeLessThanOrEqual(1);
    }
    // without --home a home would be suggested, but only for otherwise valid input
    const missing = await ldap(["user", "put", "bob"]);
    expect(missing.out).toContain('mail "" is not an e-mail address');
    expect(missing.out).not.toContain("home");
    expect(sshd.connections()).toBe(before);
    // positive control: a valid command does reach the server
    await ldap(["user", "show", "nobody"]);
    expect(sshd.connections()).toBeGreaterThan(before);
  }, 180_000);
});
