import { clusterConfigFromText, validateClusterConfig } from "../planning/config";
import { problemsOf, rawConfig, rawNode } from "./support/config-fixture";

describe("config schema", () => {
  test("a valid config is accepted with defaults filled in", () => {
    const c = validateClusterConfig(rawConfig());
    expect(c.nodes.map((n) => n.name)).toEqual(["n1", "n2", "n3"]);
    expect(c.nodes[0].packages).toEqual([]);
    expect(c.ldap).toEqual({ master: "n1", suffix: "dc=example,dc=org" });
  });

  test("every problem is reported at once", () => {
    const raw = rawConfig();
    raw.nodes[0].country = "XX";
    raw.nodes[1].name = "n1";
    raw.nodes[2].ssh.hostKeys = [];
    raw.nodes[2].encryptedMount.path = "srv/crypt";
    raw.ldap.master = "nowhere";
    const problems = problemsOf(raw);
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringContaining('country: "XX" is not an ISO 3166-1'),
        expect.stringContaining("node name n1 is used by more than one node"),
        expect.stringContaining("pin at least one SSH host key"),
        expect.stringContaining("encryptedMount.path must be a normalized absolute path"),
        expect.stringContaining('rplan:ldap.master must name an active node (got "nowhere"'),
      ]),
    );
    expect(problems).toHaveLength(5);
  });

  test.each([
    ["shell metacharacters in a node name", { name: "n1;rm -rf /" }, ".name must match"],
    ["a mount path with metacharacters", { encryptedMount: { kind: "luks", path: "/srv/$(id)", device: "/dev/vdb" } }, "encryptedMount.path"],
    ["a mount path with ..", { encryptedMount: { kind: "luks", path: "/srv/../etc", device: "/dev/vdb" } }, "encryptedMount.path"],
    ["a gocryptfs cipher dir inside the mount", { encryptedMount: { kind: "gocryptfs", path: "/srv/crypt", cipherDir: "/srv/crypt/c" } }, "must not lie inside the mount"],
    ["an unknown mount kind", { encryptedMount: { kind: "plain", path: "/srv/crypt" } }, "kind must be luks"],
    ["a VPN address outside its ring", { vpnAddress: "198.18.1.5" }, "outside its ring core"],
    ["a VPN address equal to its ring's network address", { vpnAddress: "198.18.0.0" }, "vpnAddress 198.18.0.0 is the network address of its ring core (198.18.0.0/24)"],
    ["a VPN address equal to its ring's broadcast address", { vpnAddress: "198.18.0.255" }, "vpnAddress 198.18.0.255 is the broadcast address of its ring core (198.18.0.0/24)"],
    ["an unknown ring", { ring: "vip" }, 'ring: "vip" is not one of the rings'],
    ["a malformed host key", { ssh: { host: "198.51.100.11", hostKeys: ["ssh-ed25519 AAAAC3NzaC1yc2EAAAADAQAB"] } }, "is not an OpenSSH public key line"],
    ["a non-socks proxy", { ssh: { host: "198.51.100.11", hostKeys: (rawNode(1, "NL").ssh as any).hostKeys, proxy: "http://x:1" } }, "ssh.proxy"],
    ["a negative capacity", { capacity: -5 }, "capacity must be a positive number"],
    ["an unknown state", { state: "gone" }, "state must be one of active, draining, revoked"],
  ])("rejects %s", (_what, override, message) => {
    const raw = rawConfig();
    raw.nodes[0] = { ...raw.nodes[0], ...override };
    expect(problemsOf(raw).join("\n")).toContain(message);
  });

  test("the first and last host addresses of a ring are accepted; a /31 or /32 ring has no network or broadcast address to refuse", () => {
    for (const vpnAddress of ["198.18.0.1", "198.18.0.254"]) {
      const raw = rawConfig();
      raw.nodes[0].vpnAddress = vpnAddress;
      expect(validateClusterConfig(raw).nodes[0].vpnAddress).toBe(vpnAddress);
    }
    const raw = rawConfig();
    raw.rings = { ...raw.rings, core: "198.18.0.10/31" };
    raw.nodes[0].vpnAddress = "198.18.0.10";
    raw.nodes[1].vpnAddress = "198.18.0.11";
    raw.nodes[2].vpnAddress = "198.18.1.12";
    raw.nodes[2].ring = "member";
    expect(validateClusterConfig(raw).nodes.map((n) => n.vpnAddress)).toEqual(["198.18.0.10", "198.18.0.11", "198.18.1.12"]);
  });

  test("ldap.ringAccess and ldap.serverIds are read and checked", () => {
    const raw = rawConfig();
    raw.ldap.ringAccess = { core: "write", member: "routing" };
    raw.ldap.serverIds = { n2: 7 };
    expect(validateClusterConfig(raw).ldap).toEqual({ master: "n1", suffix: "dc=example,dc=org", ringAccess: { core: "write", member: "routing" }, serverIds: { n2: 7 } });
    raw.ldap.ringAccess = { vip: "write", core: "admin" };
    raw.ldap.serverIds = { n9: 1, n2: 4096 };
    raw.ldap.replicas = 3;
    expect(problemsOf(raw)).toEqual([
      'rplan:ldap: unknown key "replicas" (known: master, suffix, ringAccess, serverIds)',
      "rplan:ldap.ringAccess: vip is not a ring (rings: core, member, edge)",
      'rplan:ldap.ringAccess.core must be one of write, read, routing, none (got "admin")',
      "rplan:ldap.serverIds: n9 is not a node of the config",
      "rplan:ldap.serverIds.n2 must be an integer 1..4095 (got 4096)",
    ]);
  });

  test("the domain must be lower case and leave room for <node>.<domain> in a certificate", () => {
    const raw = rawConfig();
    raw.domain = "Example.org";
    expect(problemsOf(raw).join("\n")).toContain("rplan:domain must be a lower-case DNS domain");
    raw.domain = `${"a".repeat(60)}.org`;
    expect(problemsOf(raw).join("\n")).toContain(`rplan:domain: n1.${"a".repeat(60)}.org is longer than the 64 characters`);
  });

  test("a revoked master is refused", () => {
    const raw = rawConfig();
    raw.nodes[0].state = "revoked";
    expect(problemsOf(raw).join("\n")).toContain("rplan:ldap.master must name an active node");
  });

  test("malformed structured config gives one clear message", () => {
    const get = (k: string) => (k === "domain" ? "example.org" : k === "nodes" ? "{not json" : undefined);
    expect(() => clusterConfigFromText(get)).toThrow(/rplan:nodes is not valid structured config/);
  });

  test("missing nodes and rings are reported", () => {
    const problems = problemsOf({ domain: "example.org" });
    expect(problems.join("\n")).toMatch(/rplan:rings must map/);
    expect(problems.join("\n")).toMatch(/rplan:nodes must be a non-empty list/);
  });
});

describe("config schema: keys", () => {
  test("a misspelt key is a problem, not a silent default", () => {
    const raw = rawConfig();
    raw.nodes[0].contry = "NL";
    raw.nodes[1].ssh.hostkeys = [];
    expect(problemsOf(raw).join("\n")).toMatch(/unknown key "contry"[\s\S]*ssh: unknown key "hostkeys"/);
    expect(() => clusterConfigFromText((k) => (k === "domain" ? "example.org" : undefined), ["domian"])).toThrow(/rplan:domian is not a known setting/);
  });

  test("dkimKeyGeneration defaults to 1 and must be a positive integer", () => {
    const raw = rawConfig();
    raw.nodes[0].dkimKeyGeneration = 3;
    expect(validateClusterConfig(raw).nodes.map((n) => n.dkimKeyGeneration)).toEqual([3, 1, 1]);
    raw.nodes[1].dkimKeyGeneration = -1;
    raw.nodes[2].dkimKeyGeneration = 1.5;
    expect(problemsOf(raw)).toEqual(["rplan:nodes[1] (n2).dkimKeyGeneration must be a positive integer (got -1)", "rplan:nodes[2] (n3).dkimKeyGeneration must be a positive integer (got 1.5)"]);
  });

  test("tlsKeyGeneration defaults to 1 and must be a positive integer", () => {
    const raw = rawConfig();
    raw.nodes[1].tlsKeyGeneration = 4;
    expect(validateClusterConfig(raw).nodes.map((n) => n.tlsKeyGeneration)).toEqual([1, 4, 1]);
    raw.nodes[1].tlsKeyGeneration = 0;
    raw.nodes[2].tlsKeyGeneration = "2";
    expect(problemsOf(raw)).toEqual([
      "rplan:nodes[1] (n2).tlsKeyGeneration must be a positive integer (got 0)",
      'rplan:nodes[2] (n3).tlsKeyGeneration must be a positive integer (got "2")',
    ]);
  });

  test("key directories may be moved, but only inside the encrypted mount", () => {
    const raw = rawConfig();
    raw.nodes[0].keyDirs = { tinc: "/srv/crypt/vpn" };
    expect(validateClusterConfig(raw).nodes[0].keyDirs).toEqual({ tinc: "/srv/crypt/vpn" });
    raw.nodes[0].keyDirs = { tinc: "/etc/tinc/rplan", ldap: "/srv/crypt/x" };
    const problems = problemsOf(raw).join("\n");
    expect(problems).toContain("key directory for tinc at /etc/tinc/rplan is outside the encrypted mount /srv/crypt");
    expect(problems).toContain('keyDirs: unknown service "ldap"');
  });
});

describe("config schema: rplan:dns and what the zone asks of the rest", () => {
  test("absent: TTL 300 and no DMARC settings; given: read as written", () => {
    expect(validateClusterConfig(rawConfig()).dns).toEqual({ ttl: 300 });
    const raw = rawConfig();
    raw.dns = { ttl: 600, dmarc: { policy: "reject", rua: "dmarc@example.org" } };
    expect(validateClusterConfig(raw).dns).toEqual({ ttl: 600, dmarc: { policy: "reject", rua: "dmarc@example.org" } });
    const text = (k: string) => (k === "dns" ? '{"ttl": 120}' : k === "domain" ? "example.org" : JSON.stringify(rawConfig()[k] ?? undefined));
    expect(clusterConfigFromText(text, ["dns"]).dns).toEqual({ ttl: 120 });
  });

  test("every zone problem at once, with the other problems", () => {
    const raw = rawConfig();
    raw.dns = { ttl: 0, dmarc: { policy: "strict", rua: "a;b@example.org" }, serial: 7 };
    raw.nodes[1].name = "www";
    raw.nodes[2].name = "n3-";
    raw.nodes[0].country = "XX";
    const problems = problemsOf(raw);
    expect(problems).toEqual([
      'rplan:nodes[0] (n1).country: "XX" is not an ISO 3166-1 alpha-2 country code (e.g. NL, DE, IS)',
      `rplan:nodes[1] (www).name: "www" is one of the zone's round-robin service names (imap, mail, smtp, www): the zone names the node www.<domain>`,
      'rplan:nodes[2] (n3-).name: "n3-" is not a DNS label (a-z, 0-9 and inner hyphens; it cannot end with a hyphen): the zone names the node n3-.<domain>',
      'rplan:dns: unknown key "serial" (known: ttl, dmarc)',
      "rplan:dns.ttl: TTL 0 must be positive (0 would forbid caching; a negative TTL is no TTL)",
      'rplan:dns.dmarc.policy must be one of none, quarantine, reject (got "strict")',
      'rplan:dns.dmarc.rua must be a plain mail address for the reports (got "a;b@example.org")',
    ]);
  });

  test.each([
    [-1, "TTL -1 must be positive"],
    [1.5, "TTL 1.5 must be a whole number of seconds"],
    ["300", 'TTL "300" must be a whole number of seconds'],
    [86401, "TTL 86401 is longer than 86400 s: a withdrawn node would linger in caches"],
  ])("a TTL of %p is refused", (ttl, message) => {
    const raw = rawConfig();
    raw.dns = { ttl };
    expect(problemsOf(raw).join("\n")).toContain(`rplan:dns.ttl: ${message}`);
  });
});
