import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import { clusterConfigFromText, CONFIG_KEYS } from "../planning/config";
import { readClusterConfig } from "../stack-file/config";
import { readPlacementRecord } from "../stack-file/placement";
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

  test("its placement file (placement.prod.yaml) parses and homes every user on a node of the stack", () => {
    const c = readClusterConfig({ stack: "prod", configFile: file });
    expect(c.placementFile).toBe("placement.prod.yaml");
    const rec = readPlacementRecord(c, path.dirname(file))!;
    const users = Object.values(rec.users);
    expect(users.length).toBeGreaterThan(0);
    const names = c.nodes.map((n) => n.name);
    for (const u of users) expect(names).toContain(u.home);
    for (const pin of Object.values(rec.pins)) expect(names).toContain(pin);
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
