/**
 * The policy pack, run as the engine runs it: @pulumi/pulumi's `cmd/run-policy-pack` (what
 * `pulumi-analyzer-policy` executes) loads `policy/index.ts`, whose `new PolicyPack(...)` serves
 * @pulumi/policy's Analyzer over gRPC. We call GetAnalyzerInfo, Configure (policy config),
 * Remediate + Analyze per resource (its inputs) and AnalyzeStack at the end (every resource's
 * outputs, parents, dependencies). @pulumi/policy itself downgrades a check that reads an unknown
 * value in preview to advisory.
 *
 * Policy config: `policy/<stack>-config.json` (or an explicit file), in the format of the CLI's
 * `--policy-pack-config` file: `{ "<policy>": "mandatory" | { "enforcementLevel": …, …props }, "all": … }`.
 */
import * as grpc from "@grpc/grpc-js";
import * as fs from "fs";
import * as path from "path";
import * as anrpc from "@pulumi/pulumi/proto/analyzer_grpc_pb";
import * as anproto from "@pulumi/pulumi/proto/analyzer_pb";
import { Empty } from "google-protobuf/google/protobuf/empty_pb";
import { PropertyMap } from "../props";
import { CHANNEL_OPTIONS, plain, rpc, struct } from "./grpc-util";
import { PluginProcess, startPluginProcess } from "./plugin-process";

export type EnforcementLevel = "advisory" | "mandatory" | "disabled" | "remediate";

export interface PolicyViolation {
  readonly policyPackName: string;
  readonly policyPackVersion: string;
  readonly policyName: string;
  readonly description: string;
  readonly message: string;
  readonly enforcementLevel: EnforcementLevel;
  readonly urn: string;
}

export interface AnalyzedResource {
  readonly urn: string;
  readonly type: string;
  readonly name: string;
  readonly properties: PropertyMap;
  readonly parent: string;
  readonly dependencies: readonly string[];
  readonly propertyDependencies: Readonly<Record<string, readonly string[]>>;
  readonly protect?: boolean;
  readonly ignoreChanges?: readonly string[];
  readonly deleteBeforeReplace?: boolean;
  readonly additionalSecretOutputs?: readonly string[];
}

const LEVELS: EnforcementLevel[] = ["advisory", "mandatory", "disabled", "remediate"];
const LEVEL_ENUM: Record<EnforcementLevel, anproto.EnforcementLevel> = {
  advisory: anproto.EnforcementLevel.ADVISORY,
  mandatory: anproto.EnforcementLevel.MANDATORY,
  disabled: anproto.EnforcementLevel.DISABLED,
  remediate: anproto.EnforcementLevel.REMEDIATE,
};

/** The stack's policy config by the project's convention, `policy/<stack>-config.json`, if present. */
export function policyConfigFile(projectDir: string, stack: string): string | undefined {
  const file = path.join(projectDir, "policy", `${stack}-config.json`);
  return fs.existsSync(file) ? file : undefined;
}

function readPolicyConfig(file: string | undefined): Record<string, unknown> {
  if (!file) return {};
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (e) {
    throw new Error(`cannot read policy config ${file}: ${(e as Error).message}`);
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw new Error(`malformed policy config ${file}: expected a JSON object`);
  return raw as Record<string, unknown>;
}

function options(r: AnalyzedResource): anproto.AnalyzerResourceOptions {
  return new anproto.AnalyzerResourceOptions()
    .setProtect(r.protect ?? false)
    .setIgnorechangesList([...(r.ignoreChanges ?? [])])
    .setDeletebeforereplace(r.deleteBeforeReplace ?? false)
    .setAdditionalsecretoutputsList([...(r.additionalSecretOutputs ?? [])])
    .setParent(r.parent);
}

function violations(list: anproto.AnalyzeDiagnostic[], urn: string): PolicyViolation[] {
  return list.map((d) => ({
    policyPackName: d.getPolicypackname(),
    policyPackVersion: d.getPolicypackversion(),
    policyName: d.getPolicyname(),
    description: d.getDescription(),
    message: d.getMessage(),
    enforcementLevel: LEVELS[d.getEnforcementlevel()] ?? "advisory",
    urn: d.getUrn() || urn,
  }));
}

export class PolicyHost {
  private constructor(
    private readonly proc: PluginProcess,
    private readonly client: anrpc.AnalyzerClient,
  ) {}

  /** Start the pack in `<projectDir>/policy` if there is one. */
  static async startIfPresent(opts: {
    projectDir: string;
    project: string;
    stack: string;
    preview: boolean;
    configValues: Readonly<Record<string, string>>;
    /** Explicit policy config file; default policyConfigFile(projectDir, stack). */
    policyConfig?: string;
    /**
     * Type-check the pack as `pulumi-analyzer-policy` does (run-policy-pack registers ts-node with
     * typeCheck: true). Off: ./policy-transpile-only.js makes that registration transpile with swc,
     * as the runner loads the program; `npm run typecheck` checks the pack with everything else.
     */
    typeCheck: boolean;
    log: (line: string) => void;
  }): Promise<PolicyHost | undefined> {
    const dir = path.join(opts.projectDir, "policy");
    if (!fs.existsSync(path.join(dir, "index.ts")) && !fs.existsSync(path.join(dir, "index.js"))) return undefined;
    const script = require.resolve("@pulumi/pulumi/cmd/run-policy-pack", { paths: [opts.projectDir] });
    // PolicyPack reads the pack's version from ./package.json; the pack may share the project's.
    const cwd = fs.existsSync(path.join(dir, "package.json")) ? dir : opts.projectDir;
    const proc = await startPluginProcess({
      label: "policy-pack",
      script,
      args: [dir],
      nodeArgs: opts.typeCheck ? [] : ["-r", require.resolve("./policy-transpile-only.js")],
      cwd,
      env: {
        ...process.env,
        PULUMI_CONFIG: JSON.stringify(opts.configValues),
        PULUMI_NODEJS_PROJECT: opts.project,
        PULUMI_NODEJS_STACK: opts.stack,
        PULUMI_NODEJS_DRY_RUN: String(opts.preview),
        PULUMI_PROJECT: opts.project,
        PULUMI_STACK: opts.stack,
        PULUMI_DRY_RUN: String(opts.preview),
      },
      log: opts.log,
      timeoutMs: 180000, // with typeCheck, ts-node type-checks the pack on load
    });
    const host = new PolicyHost(proc, new anrpc.AnalyzerClient(`127.0.0.1:${proc.port}`, grpc.credentials.createInsecure(), CHANNEL_OPTIONS));
    try {
      await host.configure(opts.policyConfig ?? policyConfigFile(opts.projectDir, opts.stack), opts.log);
    } catch (e) {
      await host.close();
      throw e;
    }
    return host;
  }

  /**
   * The engine's reconciliation of policy config (pkg/resource/analyzer/config.go), then Configure:
   * each policy gets its schema defaults, overlaid by "all", overlaid by its own entry; its level is
   * its own entry's, else "all"'s, else the policy's. An unknown policy name is an error, so a typo
   * cannot silently leave a rule at its default.
   */
  private async configure(file: string | undefined, log: (line: string) => void): Promise<void> {
    const raw = readPolicyConfig(file);
    const info = await rpc<anproto.AnalyzerInfo>("policy pack GetAnalyzerInfo", (cb) => this.client.getAnalyzerInfo(new Empty(), cb));
    const names = info.getPoliciesList().map((p) => p.getName());
    const unknown = Object.keys(raw).filter((k) => k !== "all" && !names.includes(k));
    if (unknown.length > 0) throw new Error(`policy config ${file}: no policy named ${unknown.join(", ")} in pack ${info.getName()} (policies: ${names.join(", ")})`);
    const split = (entry: unknown): { level?: string; props: PropertyMap } => {
      if (typeof entry === "string") return { level: entry, props: {} };
      const { enforcementLevel, ...props } = (entry ?? {}) as PropertyMap;
      return { level: typeof enforcementLevel === "string" ? enforcementLevel : undefined, props };
    };
    const all = split(raw.all);
    const req = new anproto.ConfigureAnalyzerRequest();
    for (const policy of info.getPoliciesList()) {
      const own = split(raw[policy.getName()]);
      const schema = plain(policy.getConfigschema()?.getProperties());
      const defaults = Object.fromEntries(Object.entries(schema).flatMap(([k, v]) => (v && typeof v === "object" && "default" in v ? [[k, (v as PropertyMap).default]] : [])));
      const level = (own.level ?? all.level ?? LEVELS[policy.getEnforcementlevel()]) as EnforcementLevel;
      if (!LEVELS.includes(level)) throw new Error(`policy config ${file}: unknown enforcement level "${level}" for ${policy.getName()}`);
      const props = { ...defaults, ...all.props, ...own.props };
      req.getPolicyconfigMap().set(policy.getName(), new anproto.PolicyConfig().setEnforcementlevel(LEVEL_ENUM[level]).setProperties(struct(props)));
    }
    await rpc("policy pack Configure", (cb) => this.client.configure(req, cb));
    log(`policy pack ${info.getName()} v${info.getVersion()}: ${names.length} policies, config ${file ?? "defaults"}`);
  }

  private request(r: AnalyzedResource): anproto.AnalyzeRequest {
    return new anproto.AnalyzeRequest().setType(r.type).setName(r.name).setUrn(r.urn).setProperties(struct(r.properties)).setOptions(options(r));
  }

  /** Remediations first (they may rewrite the inputs), then validations, as the engine does. */
  async analyze(r: AnalyzedResource): Promise<{ properties: PropertyMap; violations: PolicyViolation[]; remediatedBy: string[] }> {
    let properties = r.properties;
    const remediatedBy: string[] = [];
    const rem = await rpc<anproto.RemediateResponse>(`policy remediate ${r.name}`, (cb) => this.client.remediate(this.request(r), cb));
    for (const x of rem.getRemediationsList()) {
      if (!x.getProperties()) continue;
      properties = plain(x.getProperties());
      remediatedBy.push(x.getPolicyname());
    }
    const res = await rpc<anproto.AnalyzeResponse>(`policy analyze ${r.name}`, (cb) => this.client.analyze(this.request({ ...r, properties }), cb));
    return { properties, violations: violations(res.getDiagnosticsList(), r.urn), remediatedBy };
  }

  async analyzeStack(resources: readonly AnalyzedResource[]): Promise<PolicyViolation[]> {
    const list = resources.map((r) => {
      const a = new anproto.AnalyzerResource().setType(r.type).setName(r.name).setUrn(r.urn).setProperties(struct(r.properties)).setOptions(options(r));
      a.setParent(r.parent).setDependenciesList([...r.dependencies]);
      for (const [k, urns] of Object.entries(r.propertyDependencies)) {
        a.getPropertydependenciesMap().set(k, new anproto.AnalyzerPropertyDependencies().setUrnsList([...urns]));
      }
      return a;
    });
    const res = await rpc<anproto.AnalyzeResponse>("policy analyzeStack", (cb) => this.client.analyzeStack(new anproto.AnalyzeStackRequest().setResourcesList(list), cb));
    return violations(res.getDiagnosticsList(), "");
  }

  async close(): Promise<void> {
    this.client.close();
    await this.proc.stop();
  }
}
