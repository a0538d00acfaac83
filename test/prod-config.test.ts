import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import { readClusterConfig } from "../stack-file/config";
import { evaluateProgram } from "./support/mock-program";

const file = path.resolve(__dirname, "..", "Pulumi.prod.yaml");

describe("the example production stack (Pulumi.prod.yaml)", () => {
  test("five active nodes in five countries, LUKS mounts, pinned host keys", () => {
    const c = readClusterConfig({ stack: "prod", configFile: file });
    expect(c.nodes).toHaveLength(5);
    expect(new Set(c.nodes.map((n) => n.country)).size).toBe(5);
    for (const n of c.nodes) {
      expect(n.state).toBe("active");
      expect(n.encryptedMount.kind).toBe("luks");
      expect(n.ssh.hostKeys.length).toBeGreaterThan(0);
      // documentation addresses only: nothing here may ever reach a real host
      expect(n.ssh.host.startsWith("2001:db8:")).toBe(true);
    }
  });

  test("secrets are Pulumi secure values, never plain text", () => {
    const doc = parse(fs.readFileSync(file, "utf8"));
    expect(doc.encryptionsalt).toMatch(/^v1:/);
    expect(doc.config["rplan:ldapAdminPassword"]).toEqual({ secure: expect.stringMatching(/^v1:[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+$/) });
  });

  test("the program registers a NodeHost per node from it", async () => {
    const doc = parse(fs.readFileSync(file, "utf8"));
    const raw = Object.fromEntries(Object.entries(doc.config).filter(([k]) => !k.includes("Password")).map(([k, v]) => [k.replace(/^rplan:/, ""), v]));
    const { resources } = await evaluateProgram(raw);
    expect(resources.filter((r) => r.type === "pulumi-nodejs:dynamic/rplan:NodeHost")).toHaveLength(5);
  });
});
