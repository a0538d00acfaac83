import { rawConfig } from "./support/config-fixture";
import { evaluateProgram } from "./support/mock-program";

describe("the program under Pulumi's mocks", () => {
  test("one Node component and one NodeHost per non-revoked node", async () => {
    const raw = rawConfig();
    raw.nodes[2].state = "revoked";
    const { resources } = await evaluateProgram(raw);
    const hosts = resources.filter((r) => r.type === "pulumi-nodejs:dynamic/rplan:NodeHost");
    expect(hosts.map((h) => h.name).sort()).toEqual(["n1-host", "n2-host"]);
    expect(resources.filter((r) => r.type === "rplan:cluster:Node").map((r) => r.name).sort()).toEqual(["n1", "n2"]);
    const n1 = hosts.find((h) => h.name === "n1-host")!;
    expect(n1.inputs.keyDirs).toEqual({ tinc: "/srv/crypt/keys/tinc", slapd: "/srv/crypt/keys/slapd", postfix: "/srv/crypt/keys/postfix", dovecot: "/srv/crypt/keys/dovecot" });
    expect(n1.inputs.packages).toEqual(expect.arrayContaining(["cryptsetup", "tinc", "slapd"]));
    expect(n1.inputs.ssh.hostKeys).toEqual(raw.nodes[0].ssh.hostKeys);
  });

  test("dynamic providers serialize thin, one string per provider kind, free of config", async () => {
    const { resources } = await evaluateProgram(rawConfig());
    const dynamic = resources.filter((r) => r.type.startsWith("pulumi-nodejs:dynamic"));
    const kinds = new Map<string, Set<string>>();
    for (const r of dynamic) kinds.set(r.type, (kinds.get(r.type) ?? new Set()).add(r.inputs.__provider as string));
    // Every resource of a kind shares one provider string.
    expect([...kinds.keys()].sort()).toEqual(
      ["HostFiles", "LdapEntries", "MeshCheck", "NodeHost", "NodeKey", "SlapdConfig"].map((k) => `pulumi-nodejs:dynamic/rplan:${k}`),
    );
    for (const strings of kinds.values()) expect(strings.size).toBe(1);
    const providers = [...kinds.values()].map((s) => [...s][0]);
    for (const p of providers) {
      expect(p.length).toBeLessThan(2048);
      expect(p).toContain("@rplan/hostops/providers/impl/");
      expect(p).not.toContain("198.51.100");
    }
  });

  test("invalid config stops evaluation before any resource is registered", async () => {
    const raw = rawConfig();
    raw.nodes[1].encryptedMount.path = "/srv/crypt;reboot";
    await expect(evaluateProgram(raw)).rejects.toThrow(/invalid rplan stack config[\s\S]*encryptedMount.path/);
  });
});
