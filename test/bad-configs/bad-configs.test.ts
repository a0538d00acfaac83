/**
 * The bad-input corpus: every stack config in this folder must stop at preview with the message
 * expected.json gives it, and no host may be touched.
 *
 * Each case runs twice:
 * - directly: the config reader and the real program under Pulumi's mocks (test/support/mock-program),
 *   then the policy rules (policy/rules) with the case's policy config — fast, in process;
 * - through the stack runner (`runStack({op: "preview"})`, test/runner): the program evaluated by
 *   Pulumi's runtime in a worker, dynamic resources through the dynamic-provider host, the policy
 *   pack served over gRPC with the case's `--policy-pack-config` file, exactly as `pulumi preview
 *   --policy-pack policy` would.
 *
 * "No host touched" is proven, not assumed: every node's address is a documentation address
 * (198.51.100.250-254, where nothing listens), and every process the runner starts is preloaded
 * with ./tripwire.js (runStack's `env`: NODE_OPTIONS=--require), which records (and refuses) any
 * TCP connection to a non-loopback address. The test checks that the tripwire was loaded in the
 * runner's pass workers, the dynamic-provider host and the policy pack, and a positive control
 * shows it fires; after the corpus its log must be empty. Config
 * errors must also leave no resource registered but the root stack; policy refusals happen in
 * preview, before any provider create/update could run, and `up` on such a stack applies nothing.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";
import { loadPolicyConfig } from "../../policy/config";
import { evaluatePolicies } from "../../policy/rules";
import { toDescs } from "../policy/support";
import { runStack, RunResult, StackRunError } from "../../runner";
import { evaluateProgram } from "../support/mock-program";

const DIR = __dirname;
const ROOT = path.resolve(DIR, "../..");

interface Case {
  readonly stage: "config" | "policy";
  readonly message?: string;
  readonly messagePattern?: string;
  readonly stack?: string;
  readonly policyConfig?: string;
  readonly policy?: string;
  readonly knownGap?: string;
}

const expected = JSON.parse(fs.readFileSync(path.join(DIR, "expected.json"), "utf8")) as Record<string, Case | string>;
const cases = Object.entries(expected).filter((e): e is [string, Case] => !e[0].startsWith("//"));

function matches(text: string, c: Case): boolean {
  return c.message !== undefined ? text.includes(c.message) : new RegExp(c.messagePattern!).test(text);
}

/** The `config:` map of a stack file, as the raw `rplan:*` values (keys without the namespace). */
function rawConfigOf(file: string): Record<string, unknown> {
  const doc = YAML.parse(fs.readFileSync(path.join(DIR, file), "utf8")) as { config: Record<string, unknown> };
  return Object.fromEntries(Object.entries(doc.config).map(([k, v]) => [k.replace(/^rplan:/, ""), v]));
}

/** The expected message, shown in full by jest when it is missing. */
function expectMessage(text: string, c: Case): void {
  if (c.message !== undefined) expect(text).toContain(c.message);
  else expect(text).toMatch(new RegExp(c.messagePattern!));
}

const policyConfigOf = (c: Case) => loadPolicyConfig(c.policyConfig && path.join(ROOT, c.policyConfig));
const caseTest = (c: Case) => (c.knownGap ? test.failing : test);

test("the corpus and expected.json list the same cases, and cover what the issue asks for", () => {
  const files = fs.readdirSync(DIR).filter((f) => f.endsWith(".yaml")).sort();
  expect(cases.map(([f]) => f).sort()).toEqual(files);
  expect(files.length).toBeGreaterThanOrEqual(10);
});

test("every address in the corpus is a documentation address where nothing listens (198.51.100.250-254)", () => {
  for (const [file] of cases) {
    const nodes = rawConfigOf(file).nodes as { publicAddress: string; ssh: { host: string } }[];
    for (const n of nodes) {
      for (const a of [n.publicAddress, n.ssh.host]) expect(`${file}: ${a}`).toMatch(/: 198\.51\.100\.25[0-4]$/);
    }
  }
});

describe("directly: config reader + the real program under mocks + the policy rules", () => {
  for (const [file, c] of cases) {
    caseTest(c)(`${file} → ${c.stage} error`, async () => {
      let resources;
      try {
        resources = (await evaluateProgram(rawConfigOf(file))).resources;
      } catch (e) {
        expect(c.stage).toBe("config");
        expectMessage((e as Error).message, c);
        return;
      }
      expect(c.stage).toBe("policy");
      const e = evaluatePolicies(toDescs(resources, c.stack ?? "bad"), { phase: "preview", config: policyConfigOf(c) });
      expect(e.mandatory.filter((d) => d.policy === c.policy && matches(d.message, c))).toHaveLength(1);
    });
  }
});

describe("through the stack runner: runStack preview, with the policy pack", () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "rplan-bad-configs-"));
  const tripwireLog = path.join(tmp, "tripwire.log");
  const outcomes = new Map<string, { error?: StackRunError; result?: RunResult }>();
  let up: { error?: StackRunError; result?: RunResult };
  // Passed to runStack explicitly: under jest, process.env is the test's own copy, not what children inherit.
  const tripwireEnv = { NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ""} --require ${path.join(DIR, "tripwire.js")}`.trim(), RPLAN_TRIPWIRE_LOG: tripwireLog };

  const run = async (file: string, c: Case, op: "preview" | "up") => {
    try {
      const stack = c.stack ?? "bad";
      const result = await runStack({
        op,
        stack,
        projectDir: ROOT,
        configFile: path.join(DIR, file),
        stateFile: path.join(tmp, `${file}.${op}.state.json`),
        passphrase: "bad-configs corpus",
        env: tripwireEnv,
        ...(c.policyConfig ? { policyConfig: path.join(ROOT, c.policyConfig) } : {}),
      });
      return { result };
    } catch (e) {
      if (!(e instanceof StackRunError)) throw e;
      return { error: e };
    }
  };

  beforeAll(async () => {
    const queue = [...cases];
    const worker = async () => {
      for (let next = queue.shift(); next; next = queue.shift()) outcomes.set(next[0], await run(next[0], next[1], "preview"));
    };
    await Promise.all([worker(), worker(), worker(), worker()]);
    const [file, c] = cases.find(([, c]) => c.stage === "policy")!;
    up = await run(file, c, "up");
  }, 600000);

  afterAll(() => {
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  for (const [file, c] of cases) {
    caseTest(c)(`${file} stops the preview with its message`, () => {
      const o = outcomes.get(file)!;
      expect(o.error).toBeDefined();
      if (c.stage === "config") {
        expectMessage(`${o.error!.message}\n${o.error!.printed}`, c);
        // Nothing registered but the root stack: the program stopped at its config check.
        expect((o.error!.result?.resources ?? []).filter((r) => r.type !== "pulumi:pulumi:Stack")).toEqual([]);
      } else {
        expect(o.error!.message).toMatch(/mandatory policy violation/);
        const v = o.error!.result!.policyViolations.filter((v) => v.enforcementLevel === "mandatory" && v.policyName === c.policy && matches(v.message, c));
        expect(v).toHaveLength(1);
      }
    });
  }

  test("`up` on a stack with a mandatory violation applies nothing", () => {
    expect(up.result).toBeUndefined();
    expect(up.error!.message).toMatch(/mandatory policy violation\(s\): nothing was applied/);
  });

  test("no host was contacted: the tripwire was in every process that could reach one, and stayed silent", () => {
    const loaded = fs.readFileSync(`${tripwireLog}.loaded`, "utf8").trim().split("\n").map((l) => (JSON.parse(l) as { argv: string[] }).argv.join(" "));
    for (const kind of [/runner\/worker\.ts$/, /cmd\/dynamic-provider/, /cmd\/run-policy-pack/]) expect(loaded).toContainEqual(expect.stringMatching(kind));
    expect(fs.existsSync(tripwireLog) ? fs.readFileSync(tripwireLog, "utf8") : "").toBe("");
    // Positive control: the same preload does record (and refuse) a connection attempt.
    const control = spawnSync(process.execPath, ["-e", "require('net').connect(22, '198.51.100.254').on('error', () => {})"], { env: { ...process.env, ...tripwireEnv }, encoding: "utf8" });
    expect(control.status).toBe(0);
    expect(fs.readFileSync(tripwireLog, "utf8")).toMatch(/"host":"198\.51\.100\.254","port":22/);
  });
});
