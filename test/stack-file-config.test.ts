import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { loadStackConfig, setStackConfigValue, StackConfigError } from "../stack-file/config";

function project(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "runner-config-"));
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
  return dir;
}

const load = (dir: string, passphrase?: string) => loadStackConfig({ projectDir: dir, project: "rplan", stack: "dev", passphrase });

describe("stack config", () => {
  it("hands values to the program as the CLI does: strings, objects as JSON, keys namespaced", () => {
    const dir = project({ "Pulumi.dev.yaml": "config:\n  rplan:domain: example.org\n  count: 3\n  rplan:nodes:\n    - name: a\n      ssh: { host: h }\n" });
    const c = load(dir);
    expect(c.values).toEqual({ "rplan:domain": "example.org", "rplan:count": "3", "rplan:nodes": '[{"name":"a","ssh":{"host":"h"}}]' });
    expect(c.secretKeys).toEqual([]);
  });

  it("decrypts secure: values, top-level and nested, and lists their keys as secret", () => {
    const dir = project({ "Pulumi.dev.yaml": "config:\n  rplan:domain: example.org\n" });
    const file = path.join(dir, "Pulumi.dev.yaml");
    setStackConfigValue({ file, project: "rplan", stack: "dev", key: "token", value: "t0ps3cret", secret: true, passphrase: "pw" });
    const text = fs.readFileSync(file, "utf8");
    expect(text).toMatch(/^encryptionsalt: v1:/m);
    expect(text).toMatch(/rplan:token:\n\s+secure: v1:/);
    expect(text).not.toContain("t0ps3cret");
    const salt = text.match(/encryptionsalt: (\S+)/)![1];
    const ct = text.match(/secure: (v1:\S+)/)![1];
    fs.writeFileSync(file, `encryptionsalt: ${salt}\nconfig:\n  rplan:token:\n    secure: ${ct}\n  rplan:db:\n    user: app\n    password:\n      secure: ${ct}\n`);
    const c = load(dir, "pw");
    expect(c.values["rplan:token"]).toBe("t0ps3cret");
    expect(JSON.parse(c.values["rplan:db"])).toEqual({ user: "app", password: "t0ps3cret" });
    expect([...c.secretKeys].sort()).toEqual(["rplan:db", "rplan:token"]);
  });

  it("a missing file names where it looked", () => {
    expect(() => load(project({}))).toThrow(StackConfigError);
    expect(() => load(project({}))).toThrow(/no stack config for stack "dev": looked for .*Pulumi\.dev\.yaml/);
  });

  it("malformed YAML is one message naming the file and the line", () => {
    const dir = project({ "Pulumi.dev.yaml": "config:\n  rplan:nodes: [a, b\n  rplan:x: 1\n" });
    expect(() => load(dir)).toThrow(/malformed stack config .*Pulumi\.dev\.yaml: .*line 3/);
  });

  it("a config block that is not a mapping is refused", () => {
    expect(() => load(project({ "Pulumi.dev.yaml": "config:\n  - a\n" }))).toThrow(/"config" must be a mapping/);
  });

  it("secure values without the passphrase, or with a wrong one, stop with a clear message", () => {
    const dir = project({ "Pulumi.dev.yaml": "config: {}\n" });
    const file = path.join(dir, "Pulumi.dev.yaml");
    setStackConfigValue({ file, project: "rplan", stack: "dev", key: "k", value: "v", secret: true, passphrase: "right" });
    const saved = process.env.PULUMI_CONFIG_PASSPHRASE;
    delete process.env.PULUMI_CONFIG_PASSPHRASE;
    try {
      expect(() => load(dir)).toThrow(/no passphrase for stack "dev"/);
      expect(() => load(dir, "wrong")).toThrow(/incorrect passphrase/);
    } finally {
      if (saved !== undefined) process.env.PULUMI_CONFIG_PASSPHRASE = saved;
    }
  });
});
