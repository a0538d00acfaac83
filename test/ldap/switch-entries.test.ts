/** The master switch's preview texts, and directory entries (tree, identities, users) — pure. */
import * as fc from "fast-check";
import {
  baseEntries,
  checkSsha,
  describeTransition,
  nodeIdentityEntry,
  sshaHash,
  userDn,
  userEntry,
  validateUser,
  UID,
} from "../../planning/ldap";

describe("master switch", () => {
  test("what preview shows on each node", () => {
    expect(describeTransition("n2", { role: "consumer", master: "n1" }, { role: "master", master: "n2" })).toMatch(/^promote n2 to master: freeze n1, wait/);
    expect(describeTransition("n1", { role: "master", master: "n1" }, { role: "consumer", master: "n2" })).toMatch(/^demote n1: after n2 is promoted/);
    expect(describeTransition("n3", { role: "consumer", master: "n1" }, { role: "consumer", master: "n2" })).toBe("repoint n3: replicate from n2 instead of n1, refer writes to n2");
    expect(describeTransition("n3", { role: "consumer", master: "n1" }, { role: "consumer", master: "n1" })).toBe("");
    expect(describeTransition("n3", undefined, { role: "consumer", master: "n1" })).toBe("");
    expect(describeTransition("n2", { role: "consumer", master: "n1" }, { role: "master", master: "n2" }, true)).toMatch(/WITHOUT freezing n1/);
  });
});

describe("directory entries", () => {
  test("the tree and a node identity use standard object classes", () => {
    expect(baseEntries("dc=example,dc=org", "example.org").map((e) => e.dn)).toEqual(["dc=example,dc=org", "ou=people,dc=example,dc=org", "ou=system,dc=example,dc=org", "ou=nodes,ou=system,dc=example,dc=org"]);
    const id = nodeIdentityEntry("dc=example,dc=org", "n2", "{SSHA}x");
    expect(id).toEqual({
      dn: "cn=n2,ou=nodes,ou=system,dc=example,dc=org",
      attributes: { objectClass: ["top", "applicationProcess", "simpleSecurityObject"], cn: ["n2"], description: [expect.any(String)], userPassword: ["{SSHA}x"] },
    });
  });

  test("{SSHA} hashes are deterministic per identity and verify", () => {
    const pw = "Zq1Zq1Zq1Zq1Zq1Zq1Zq1Zq1Zq1Zq1Zq1Zq1Zq1A";
    const a = sshaHash(pw, "cn=n1,ou=nodes,ou=system,dc=x");
    expect(sshaHash(pw, "cn=n1,ou=nodes,ou=system,dc=x")).toBe(a);
    expect(sshaHash(pw, "cn=n2,ou=nodes,ou=system,dc=x")).not.toBe(a);
    expect(checkSsha(pw, a)).toBe(true);
    expect(checkSsha(pw + "x", a)).toBe(false);
    expect(a).toMatch(/^\{SSHA\}[A-Za-z0-9+/]+=*$/);
  });

  test("user entry: inetOrgPerson + rplanUser, anonymous names, owned attributes only when set", () => {
    const e = userEntry("dc=example,dc=org", { uid: "alice.b", mail: "Alice@Example.org", home: "n2", quota: 1000, aliases: ["a@example.net"], passwordHash: "{SSHA}abcdefghijklmnop" });
    expect(e).toEqual({
      dn: "uid=alice.b,ou=people,dc=example,dc=org",
      attributes: {
        objectClass: ["top", "person", "organizationalPerson", "inetOrgPerson", "rplanUser"],
        uid: ["alice.b"],
        cn: ["alice.b"],
        sn: ["alice.b"],
        displayName: ["alice.b"],
        mail: ["alice@example.org"],
        rplanHome: ["n2"],
        rplanUserState: ["active"],
        userPassword: ["{SSHA}abcdefghijklmnop"],
        rplanQuota: ["1000"],
        rplanMailAlias: ["a@example.net"],
      },
    });
  });

  test("uids: exactly ^[a-z0-9][a-z0-9._-]{0,63}$, nothing else reaches a DN", () => {
    for (const ok of ["a", "0", "alice", "a.b_c-d", "x".repeat(64)]) expect(validateUser({ uid: ok, mail: "a@b.org", home: "n1" })).toEqual([]);
    for (const bad of ["", "A", "-a", ".a", "a,ou=x", "a=b", "a b", "a\u00e9", "x".repeat(65), "a\n", "*", "a)(uid=*"]) {
      expect(validateUser({ uid: bad, mail: "a@b.org", home: "n1" })).toEqual([expect.stringContaining("uid")]);
      expect(() => userDn("dc=x", bad)).toThrow(/invalid uid/);
    }
    fc.assert(
      fc.property(fc.string({ maxLength: 70 }), (s) => {
        const ok = validateUser({ uid: s, mail: "a@b.org", home: "n1" }).length === 0;
        expect(ok).toBe(UID.test(s));
        if (ok) expect(userDn("dc=x", s)).toBe(`uid=${s},ou=people,dc=x`);
      }),
    );
  });

  test("every problem at once; plaintext passwords refused; unknowns skipped", () => {
    const problems = validateUser({ uid: "Bad", mail: "nope", home: "N1", quota: -1, aliases: ["x@y.org", "x@y.org"], state: "gone" as any, passwordHash: "hunter2", mailRoute: "not a route" });
    expect(problems).toEqual([
      expect.stringContaining("uid"),
      expect.stringContaining("mail"),
      expect.stringContaining("home"),
      expect.stringContaining("listed twice"),
      expect.stringContaining("quota"),
      expect.stringContaining("mailRoute"),
      expect.stringContaining("state"),
      expect.stringContaining("plaintext passwords are refused"),
    ]);
    expect(validateUser({ uid: "UNKNOWN", mail: "a@b.org", home: "n1" }, (v) => v !== "UNKNOWN")).toEqual([]);
  });

  test("a quota must be a whole number of bytes (0: no limit): fractions, negatives and what the CLI could not read (NaN) are refused", () => {
    for (const quota of [1.5, -1, NaN, Number.MAX_SAFE_INTEGER + 2]) expect(validateUser({ uid: "alice", mail: "alice@example.org", home: "n1", quota })).toEqual([expect.stringMatching(/^quota .* must be a non-negative whole number of bytes/)]);
    for (const quota of [0, 1, 10_240_000]) expect(validateUser({ uid: "alice", mail: "alice@example.org", home: "n1", quota })).toEqual([]);
  });
});
