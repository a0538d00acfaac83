/**
 * The stack runner end to end, on its fixture program (runner/fixture-program): a real dynamic provider
 * (through @pulumi/pulumi's dynamic-provider host) writing files into a temp dir, a RandomPassword
 * whose secret flows into a file, a component with children. Each runStack is a fresh process.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { FIXTURE_PROGRAM, runStack, RunStackOptions, StackRunError } from "../../runner/index";

const FILES = FIXTURE_PROGRAM;
const POLICED = path.join(__dirname, "fixtures", "policed");

interface Env {
  dir: string;
  out: string;
  config: string;
  state: string;
}

function env(): Env {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "runner-it-"));
  const out = path.join(dir, "out");
  fs.mkdirSync(out);
  return { dir, out, config: path.join(dir, "Pulumi.test.yaml"), state: path.join(dir, "state.json") };
}

function writeConfig(e: Env, values: Record<string, string>): void {
  const lines = Object.entries({ "fixture:dir": e.out, ...values }).map(([k, v]) => `  ${k}: ${v}`);
  fs.writeFileSync(e.config, `config:\n${lines.join("\n")}\n`);
}

const stack = (e: Env, op: RunStackOptions["op"], extra: Partial<RunStackOptions> = {}) =>
  runStack({ op, stack: "test", projectDir: FILES, configFile: e.config, stateFile: e.state, passphrase: "test-pass", ...extra });

const ops = (r: { steps: { op: string; name: string }[] }) => r.steps.filter((s) => s.op !== "same").map((s) => `${s.op} ${s.name}`);

describe("stack runner on the fixture program", () => {
  const e = env();
  let password = "";

  it("preview shows the creates and touches nothing", async () => {
    writeConfig(e, { "fixture:greeting": "hello" });
    const r = await stack(e, "preview");
    expect(ops(r)).toEqual(["create fixture-test", "create extras", "create db-password", "create greeting", "create secret"]);
    expect(r.printed).toContain("  +  pulumi-nodejs:dynamic/fixture:TextFile  greeting  create");
    expect(r.printed).toContain("Resources: + 5 to create, ~ 0 to update, +-0 to replace, - 0 to delete, 0 unchanged");
    expect(r.printed).toMatch(/stand-in for the Pulumi CLI/);
    expect(r.changed).toBe(true);
    expect(fs.readdirSync(e.out)).toEqual([]);
    expect(fs.existsSync(e.state)).toBe(false);
    const greeting = r.resources.find((x) => x.name === "greeting")!;
    expect(greeting).toMatchObject({ type: "pulumi-nodejs:dynamic/fixture:TextFile", custom: true, inputs: { name: "greeting.txt", content: "hello" } });
    const secret = r.resources.find((x) => x.name === "secret")!;
    expect(secret.dependencies).toEqual(expect.arrayContaining([greeting.urn, r.resources.find((x) => x.name === "db-password")!.urn]));
    expect(secret.inputs.content).toBe("[unknown]"); // the password is not known before up
  });

  it("up creates everything; outputs flow; the password is secret", async () => {
    const r = await stack(e, "up");
    expect(ops(r)).toEqual(["create fixture-test", "create extras", "create db-password", "create greeting", "create secret"]);
    expect(fs.readFileSync(path.join(e.out, "greeting.txt"), "utf8")).toBe("hello");
    password = fs.readFileSync(path.join(e.out, "secret.txt"), "utf8");
    expect(password).toMatch(/^[A-Za-z0-9]{24}$/);
    expect(r.outputs).toEqual({ greetingPath: path.join(e.out, "greeting.txt"), greetingSize: 5, secretSize: 24, passwordOut: "[secret]" });
    expect(r.printed).not.toContain(password);
    // each step says when it ran, within the run; the secret (the password as input, dependsOn the
    // greeting) only once both were done — independent steps may overlap (test/runner/scheduling.test.ts)
    for (const s of r.steps) expect(s.endedAt!).toBeGreaterThanOrEqual(s.startedAt!);
    const at = (name: string) => r.steps.find((s) => s.name === name)!;
    expect(at("secret").startedAt!).toBeGreaterThanOrEqual(at("greeting").endedAt!);
    expect(at("secret").startedAt!).toBeGreaterThanOrEqual(at("db-password").endedAt!);
    const first = Math.min(...r.steps.map((s) => s.startedAt!));
    expect(Math.max(...r.steps.map((s) => s.endedAt!)) - first).toBeLessThanOrEqual(r.timings.totalMs);
    expect(first).toBeGreaterThan(Date.now() - r.timings.totalMs - 1000);
  });

  it("the state file holds the password only encrypted", () => {
    const text = fs.readFileSync(e.state, "utf8");
    expect(text).not.toContain(password);
    expect(text).toContain('"ciphertext": "v1:');
  });

  it("a second preview shows no changes", async () => {
    const r = await stack(e, "preview");
    expect(ops(r)).toEqual([]);
    expect(r.changed).toBe(false);
    expect(r.printed).toContain("Resources: + 0 to create, ~ 0 to update, +-0 to replace, - 0 to delete, 5 unchanged");
  });

  it("a changed input previews as exactly that property diff, then up applies it", async () => {
    writeConfig(e, { "fixture:greeting": "hello world" });
    const p = await stack(e, "preview");
    expect(ops(p)).toEqual(["update greeting"]);
    const step = p.steps.find((s) => s.name === "greeting")!;
    expect(step.diffs).toEqual(["~content"]);
    expect(step.detail).toEqual(["~ content", '    - "hello"', '    + "hello world"']);
    expect(p.printed).toContain("  ~  pulumi-nodejs:dynamic/fixture:TextFile  greeting  update  [diff: ~content]");
    expect(fs.readFileSync(path.join(e.out, "greeting.txt"), "utf8")).toBe("hello");
    const u = await stack(e, "up");
    expect(ops(u)).toEqual(["update greeting"]);
    // what up's own preview printed, apart from its apply
    expect(u.preview?.printed).toContain("  ~  pulumi-nodejs:dynamic/fixture:TextFile  greeting  update  [diff: ~content]");
    expect(u.preview?.printed).toMatch(/^Previewing update \(test\)/m);
    expect(u.preview?.printed).not.toMatch(/^Updating \(test\)/m);
    expect(u.printed).toMatch(/^Updating \(test\)/m);
    expect(fs.readFileSync(path.join(e.out, "greeting.txt"), "utf8")).toBe("hello world");
    expect(u.outputs.greetingSize).toBe(11);
  });

  it("refresh records drift made behind the runner's back", async () => {
    fs.writeFileSync(path.join(e.out, "greeting.txt"), "changed by hand");
    const r = await stack(e, "refresh");
    expect(r.steps.find((s) => s.name === "greeting")).toMatchObject({ op: "read", diffs: ["~content", "~size"] });
    const p = await stack(e, "preview");
    expect(p.steps.find((s) => s.name === "greeting")?.detail).toEqual(["~ content", '    - "changed by hand"', '    + "hello world"']);
  });

  it("destroy removes everything, dependents first", async () => {
    const r = await stack(e, "destroy");
    expect(r.steps.map((s) => s.name)).toEqual(["secret", "greeting", "db-password", "extras", "fixture-test"]);
    expect(fs.readdirSync(e.out)).toEqual([]);
    expect(JSON.parse(fs.readFileSync(e.state, "utf8")).resources).toEqual([]);
  });
});

describe("stack runner: bad input stops before any host is touched", () => {
  it("a missing stack config", async () => {
    const e = env();
    await expect(stack(e, "up", { configFile: undefined })).rejects.toThrow(/no stack config for stack "test": looked for .*Pulumi\.test\.yaml/);
  });

  it("malformed YAML", async () => {
    const e = env();
    fs.writeFileSync(e.config, "config:\n  fixture:greeting: [oops\n");
    await expect(stack(e, "up")).rejects.toThrow(/malformed stack config .*Pulumi\.test\.yaml/);
    expect(fs.existsSync(e.state)).toBe(false);
  });

  it("the program rejecting its config (one message, nothing created)", async () => {
    const e = env();
    writeConfig(e, { "fixture:greeting": "hi", "fixture:dir": "relative/dir" });
    const err = (await stack(e, "up").catch((x: unknown) => x)) as StackRunError;
    expect(err).toBeInstanceOf(StackRunError);
    expect(err.message).toBe('invalid fixture config: dir must be an absolute path (got "relative/dir")');
    expect(err.printed).toContain("error: invalid fixture config");
    expect(fs.readdirSync(e.out)).toEqual([]);
    expect(fs.existsSync(e.state)).toBe(false);
  });

  it("a missing required key", async () => {
    const e = env();
    writeConfig(e, {});
    await expect(stack(e, "preview")).rejects.toThrow(/Missing required configuration variable 'fixture:greeting'/);
  });

  it("an input a provider rejects fails the preview, so up applies nothing", async () => {
    const e = env();
    writeConfig(e, { "fixture:greeting": "hi", "fixture:extraFiles": '[""]' });
    await expect(stack(e, "up")).rejects.toThrow(/pulumi-nodejs:dynamic\/fixture:TextFile extras-: invalid inputs:\n {2}- name: is required/);
    expect(fs.readdirSync(e.out)).toEqual([]);
  });
});

describe("stack runner: policy pack", () => {
  const policed = (e: Env, op: RunStackOptions["op"], extra: Partial<RunStackOptions> = {}) => stack(e, op, { projectDir: POLICED, program: path.relative(POLICED, path.join(FILES, "index.ts")), ...extra });

  it("runs the pack on preview: advisory violations are reported, unknowns in stack checks tolerated", async () => {
    const e = env();
    writeConfig(e, { "fixture:greeting": "hello" });
    const r = await policed(e, "preview");
    expect(r.policyViolations.map((v) => `${v.enforcementLevel} ${v.policyName}`)).toEqual(["advisory polite-greeting", "advisory secret-not-empty"]);
    expect(r.policyViolations[1].message).toMatch(/can't run policy 'secret-not-empty' .* during preview/);
    expect(r.printed).toMatch(/\[advisory\] {2}fixture-policy v1\.2\.3 {2}polite-greeting/);
  });

  it("a mandatory violation stops up before anything is touched", async () => {
    const e = env();
    writeConfig(e, { "fixture:greeting": "hello please", "fixture:extraFiles": '["forbidden.txt"]' });
    const err = (await policed(e, "up").catch((x: unknown) => x)) as StackRunError;
    expect(err.message).toBe("1 mandatory policy violation(s): nothing was applied");
    expect(err.result?.policyViolations.find((v) => v.enforcementLevel === "mandatory")?.message).toMatch(/extras-forbidden.txt would write forbidden.txt/);
    expect(fs.readdirSync(e.out)).toEqual([]);
    expect(fs.existsSync(e.state)).toBe(false);
  });

  it("up with skipPreview applies in one pass, and a mandatory violation still stops the step it names", async () => {
    const e = env();
    writeConfig(e, { "fixture:greeting": "hello please" });
    const lines: string[] = [];
    const u = await policed(e, "up", { skipPreview: true, log: (l) => lines.push(l) });
    expect(u.preview).toBeUndefined();
    expect(u.timings.previewMs).toBeUndefined();
    expect(ops(u)).toContain("create greeting");
    expect(lines.filter((l) => /^(Previewing update|Updating) \(test\)/.test(l))).toEqual([expect.stringMatching(/^Updating/)]);
    expect(fs.readFileSync(path.join(e.out, "greeting.txt"), "utf8")).toBe("hello please");
    writeConfig(e, { "fixture:greeting": "hello please", "fixture:extraFiles": '["forbidden.txt"]' });
    const err = (await policed(e, "up", { skipPreview: true }).catch((x: unknown) => x)) as StackRunError;
    expect(err.message).toMatch(/mandatory policy violation/);
    expect(fs.existsSync(path.join(e.out, "forbidden.txt"))).toBe(false);
  });

  it("honours the policy config file (CLI format): levels and properties", async () => {
    const e = env();
    writeConfig(e, { "fixture:greeting": "hello please" });
    const cfg = path.join(e.dir, "policy.json");
    fs.writeFileSync(cfg, JSON.stringify({ "polite-greeting": { enforcementLevel: "mandatory", word: "thanks" }, "secret-not-empty": "disabled" }));
    const err = (await policed(e, "preview", { policyConfig: cfg }).catch((x: unknown) => x)) as StackRunError;
    expect(err.result?.policyViolations.map((v) => `${v.enforcementLevel} ${v.policyName}`)).toEqual(["mandatory polite-greeting"]);
    fs.writeFileSync(cfg, JSON.stringify({ "no-such-policy": "advisory" }));
    await expect(policed(e, "preview", { policyConfig: cfg })).rejects.toThrow(/no policy named no-such-policy/);
  });
});

/**
 * The runner transpiles the program and the pack with swc (tsconfig.json's "ts-node" section) and,
 * by default, does not type-check either; `--type-check` does both, as the language host and
 * `pulumi-analyzer-policy` do. A copy of the policed fixture with one type error, in the program or
 * in the pack, shows which load checks what.
 */
describe("stack runner: --type-check", () => {
  const TYPE_ERROR = 'const typedWrong: number = "not a number";\nvoid typedWrong;\n';

  function project(brokenIn: "program" | "pack"): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "runner-tc-"));
    fs.symlinkSync(path.join(__dirname, "..", "..", "node_modules"), path.join(dir, "node_modules"));
    fs.writeFileSync(path.join(dir, "tsconfig.json"), JSON.stringify({ extends: path.join(__dirname, "..", "..", "tsconfig.json"), include: ["index.ts"] }));
    fs.copyFileSync(path.join(POLICED, "Pulumi.yaml"), path.join(dir, "Pulumi.yaml"));
    const program = `export * from ${JSON.stringify(path.join(FILES, "index"))};\n`;
    fs.writeFileSync(path.join(dir, "index.ts"), (brokenIn === "program" ? TYPE_ERROR : "") + program);
    fs.mkdirSync(path.join(dir, "policy"));
    fs.copyFileSync(path.join(POLICED, "policy", "package.json"), path.join(dir, "policy", "package.json"));
    const pack = fs.readFileSync(path.join(POLICED, "policy", "index.ts"), "utf8");
    fs.writeFileSync(path.join(dir, "policy", "index.ts"), (brokenIn === "pack" ? TYPE_ERROR : "") + pack);
    return dir;
  }

  const preview = (dir: string, typeCheck: boolean) => {
    const e = env();
    writeConfig(e, { "fixture:greeting": "hello" });
    return stack(e, "preview", { projectDir: dir, typeCheck });
  };

  it("without it, a type error stops neither the program nor the pack: both run", async () => {
    for (const brokenIn of ["program", "pack"] as const) {
      const r = await preview(project(brokenIn), false);
      expect(ops(r)).toEqual(expect.arrayContaining(["create greeting", "create secret"]));
      expect(r.policyViolations.map((v) => v.policyName)).toContain("polite-greeting");
    }
  });

  it("with it, a type error in the program stops the preview", async () => {
    await expect(preview(project("program"), true)).rejects.toThrow(/TS2322.*not assignable to type 'number'/s);
  });

  it("with it, a type error in the policy pack stops the preview", async () => {
    await expect(preview(project("pack"), true)).rejects.toThrow(/policy-pack[\s\S]*TS2322/);
  });
});
