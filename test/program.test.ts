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

  test("dynamic providers serialize thin, identical and free of config", async () => {
    const { resources } = await evaluateProgram(rawConfig());
    const providers = resources.filter((r) => r.type.startsWith("pulumi-nodejs:dynamic")).map((r) => r.inputs.__provider as string);
    expect(providers).toHaveLength(3);
    expect(new Set(providers).size).toBe(1);
    // ~1.7 KB: seven tiny closures in Pulumi's wrapper boilerplate; stored twice per resource.
    expect(providers[0].length).toBeLessThan(2048);
    expect(providers[0]).toContain("@rplan/hostops/providers/impl/");
    expect(providers[0]).not.toContain("198.51.100");
  });

  test("invalid config stops evaluation before any resource is registered", async () => {
    const raw = rawConfig();
    raw.nodes[1].encryptedMount.path = "/srv/crypt;reboot";
    await expect(evaluateProgram(raw)).rejects.toThrow(/invalid rplan stack config[\s\S]*encryptedMount.path/);
  });
});
