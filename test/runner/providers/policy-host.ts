/**
 * The policy pack, run as the engine runs it: @pulumi/pulumi's `cmd/run-policy-pack` (what
 * `pulumi-analyzer-policy` executes) loads `policy/index.ts`, whose `new PolicyPack(...)` serves
 * @pulumi/policy's Analyzer over gRPC. We call GetAnalyzerInfo, Configure (policy config),
 * Remediate + Analyze per resource (its inputs) and AnalyzeStack at the end (every resource's
 * outputs, parents, dependencies). @pulumi/policy itself downgrades a check that reads an unknown
 * value in preview to advisory.
 *
 * Policy config: `policy-config.<stack>.json` in the project, in the format of the CLI's
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

export function policyConfigFile(projectDir: string, stack: string): string {
  return path.join(projectDir, `policy-config.${stack}.json`);
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
      timeoutMs: 180000, // the pack is type-checked by ts-node on load
    });
    const host = new PolicyHost(proc, new anrpc.AnalyzerClient(`127.0.0.1:${proc.port}`, grpc.credentials.createInsecure(), CHANNEL_OPTIONS));
    try {
      await host.configure(policyConfigFile(opts.projectDir, opts.stack));
    } catch (e) {
      await host.close();
      throw e;
    }
    return host;
  }

  private async configure(file: string): Promise<void> {
    if (!fs.existsSync(file)) return;
    let raw: Record<string, unknown>;
    try {
      raw = JSON.parse(fs.readFileSync(file, "utf8")) as Record<string, unknown>;
    } catch (e) {
      throw new Error(`malformed policy config ${file}: ${(e as Error).message}`);
    }
    const info = await rpc<anproto.AnalyzerInfo>("policy pack GetAnalyzerInfo", (cb) => this.client.getAnalyzerInfo(new Empty(), cb));
    const req = new anproto.ConfigureAnalyzerRequest();
    for (const policy of info.getPoliciesList()) {
      const entry = raw[policy.getName()] ?? raw.all;
      if (entry === undefined) continue;
      const props = typeof entry === "object" && entry !== null ? { ...(entry as Record<string, unknown>) } : {};
      const level = (typeof entry === "string" ? entry : props.enforcementLevel) as EnforcementLevel | undefined;
      delete props.enforcementLevel;
      if (level !== undefined && !LEVELS.includes(level)) throw new Error(`policy config ${file}: unknown enforcement level "${String(level)}"`);
      const cfg = new anproto.PolicyConfig().setEnforcementlevel(LEVEL_ENUM[level ?? LEVELS[policy.getEnforcementlevel()]]).setProperties(struct(props as PropertyMap));
      req.getPolicyconfigMap().set(policy.getName(), cfg);
    }
    await rpc("policy pack Configure", (cb) => this.client.configure(req, cb));
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
