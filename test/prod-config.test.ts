import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import { clusterConfigFromText, CONFIG_KEYS } from "../planning/config";
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

  test("sets only settings the program reads (a stale key is refused by the schema)", () => {
    const doc = parse(fs.readFileSync(file, "utf8"));
    const keys = Object.keys(doc.config).map((k) => k.replace(/^rplan:/, ""));
    expect(keys.filter((k) => !(CONFIG_KEYS as readonly string[]).includes(k))).toEqual([]);
    expect(() => clusterConfigFromText(() => undefined, ["ldapAdminPassword"])).toThrow(/rplan:ldapAdminPassword is not a known setting/);
  });

  test("the program registers a NodeHost per node from it", async () => {
    const doc = parse(fs.readFileSync(file, "utf8"));
    const raw = Object.fromEntries(Object.entries(doc.config).map(([k, v]) => [k.replace(/^rplan:/, ""), v]));
    const { resources } = await evaluateProgram(raw);
    expect(resources.filter((r) => r.type === "pulumi-nodejs:dynamic/rplan:NodeHost")).toHaveLength(5);
  });
});
