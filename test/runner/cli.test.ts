import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { loadStackConfig } from "../../stack-file/config";

const ROOT = path.resolve(__dirname, "..", "..");

function cli(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, ["-r", "ts-node/register/transpile-only", path.join(__dirname, "..", "..", "cli", "stack.ts"), ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    encoding: "utf8",
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe("npm run stack", () => {
  it("says in its help that it stands in for the Pulumi CLI", () => {
    const r = cli(["--help"]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/TEST TOOL THAT STANDS IN FOR THE PULUMI CLI/);
    expect(r.out).toMatch(/preview .*\n\s+up .*\n\s+refresh .*\n\s+destroy/);
  });

  it("rejects an unknown command or option with the usage (exit 2)", () => {
    expect(cli(["deploy"]).code).toBe(2);
    const r = cli(["preview", "--bogus"]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/unknown option --bogus/);
    for (const bad of ["0", "-1", "two", "1.5"]) {
      const p = cli(["preview", "--parallel", bad]);
      expect(p.code).toBe(2);
      expect(p.err).toContain(`--parallel needs a positive integer (got ${bad})`);
    }
  });

  it("a missing config file is one clear error line (exit 1)", () => {
    const r = cli(["preview", "--stack", "nowhere", "--config", "/nonexistent/Pulumi.nowhere.yaml"]);
    expect(r.code).toBe(1);
    expect(r.err.trim()).toBe("error: stack config /nonexistent/Pulumi.nowhere.yaml does not exist");
  });

  it("config set --secret writes a secure: value Pulumi's format can read back", () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "runner-cli-")), "Pulumi.t.yaml");
    fs.writeFileSync(file, "config:\n  rplan:domain: example.org\n");
    const r = cli(["config", "set", "--secret", "apiToken", "tok-123", "--stack", "t", "--config", file], { PULUMI_CONFIG_PASSPHRASE: "cli-pass" });
    expect(r.code).toBe(0);
    expect(fs.readFileSync(file, "utf8")).not.toContain("tok-123");
    const c = loadStackConfig({ projectDir: path.dirname(file), project: "rplan", stack: "t", configFile: file, passphrase: "cli-pass" });
    expect(c.values).toEqual({ "rplan:domain": "example.org", "rplan:apiToken": "tok-123" });
  });
});
