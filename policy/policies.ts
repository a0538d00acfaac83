/**
 * The @pulumi/policy wiring of the rules in ./rules: one policy per rule. Kept apart from
 * index.ts (which starts the analyzer's gRPC server when loaded) so tests and the stack runner can
 * call the policies' validateResource / validateStack directly.
 *
 * Values: validators get inputs/outputs with secrets unwrapped and unknowns (preview) as
 * sentinels behind a proxy that throws on reading one. The rules read the raw values instead and
 * report which checks an unknown prevented; those are raised here as @pulumi/policy's own
 * UnknownValueError, which the SDK turns into an advisory "can't run policy during preview"
 * diagnostic (after any violations already reported). At `up` the engine passes known values, so
 * every check runs at the policy's full enforcement level.
 */
import * as fs from "fs";
import * as path from "path";
import * as policySdk from "@pulumi/policy";
import type { Policies, PolicyConfigSchema, PolicyResource, ReportViolation, ResourceValidationArgs, ResourceValidationPolicy, StackValidationArgs, StackValidationPolicy } from "@pulumi/policy";
import { ARCHIVE_SIG, ASSET_SIG, plain, ResourceDesc, RuleOutput, RULES, SIG_KEY, UNKNOWN } from "./rules";

/** The project directory: a FileAsset's relative path is relative to it (the program runs there). */
const PROJECT_DIR = path.resolve(__dirname, "..");
const MAX_FILE = 4 * 1024 * 1024;
const MAX_FILES = 2000;

/** Contents of a local file, or of every regular file under a local directory; undefined if unreadable. */
export function readLocal(p: string, base = PROJECT_DIR): string[] | undefined {
  const abs = path.resolve(base, p);
  const out: string[] = [];
  const visit = (f: string): boolean => {
    const st = fs.statSync(f);
    if (st.isDirectory()) return fs.readdirSync(f).every((e) => visit(path.join(f, e)));
    if (!st.isFile() || st.size > MAX_FILE || out.length >= MAX_FILES) return false;
    out.push(fs.readFileSync(f, "latin1"));
    return true;
  };
  try {
    return visit(abs) ? out : undefined;
  } catch {
    return undefined;
  }
}

const PROXY_TARGET = "__getSpecialProxyTarget";

/** Turn a validator's value into the rules' plain form: unproxied, assets in wire form, secrets unwrapped. */
export async function toPlain(v: unknown): Promise<unknown> {
  if (v === null || v === undefined || typeof v !== "object") return v;
  const target = (v as Record<string, unknown>)[PROXY_TARGET];
  const raw = (target ?? v) as Record<string, unknown>;
  if (raw instanceof policySdk.Secret) return toPlain(raw.value);
  if (Array.isArray(raw)) return Promise.all(raw.map(toPlain));
  if (raw.__pulumiAsset || raw.__pulumiArchive) {
    const sig = raw.__pulumiAsset ? ASSET_SIG : ARCHIVE_SIG;
    for (const k of ["text", "assets", "path", "uri"]) {
      if (k in raw) return { [SIG_KEY]: sig, [k]: await toPlain(await (raw[k] as unknown)) };
    }
    return { [SIG_KEY]: sig };
  }
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(raw)) out[k] = await toPlain(x);
  return out;
}

async function plainProps(props: unknown): Promise<Record<string, unknown>> {
  return plain(await toPlain(props)) as Record<string, unknown>;
}

/** What validateResource sees, as a rule's ResourceDesc. */
export async function describeResource(args: Pick<ResourceValidationArgs, "type" | "name" | "urn" | "props" | "opts">): Promise<ResourceDesc> {
  return { type: args.type, name: args.name, urn: args.urn, props: await plainProps(args.props), ...(args.opts?.parent ? { parent: args.opts.parent } : {}) };
}

/** What validateStack sees, as the rules' ResourceDescs (property dependencies by URN). */
export async function describeStack(resources: readonly PolicyResource[]): Promise<ResourceDesc[]> {
  return Promise.all(
    resources.map(async (r) => ({
      type: r.type,
      name: r.name,
      urn: r.urn,
      props: await plainProps(r.props),
      ...(r.parent ? { parent: r.parent.urn } : {}),
      propertyDependencies: Object.fromEntries(Object.entries(r.propertyDependencies ?? {}).map(([k, deps]) => [k, deps.map((d) => d.urn)])),
    })),
  );
}

/** @pulumi/policy exports UnknownValueError at run time; its typings omit it. */
const UnknownValueError = (policySdk as unknown as { UnknownValueError: new (sentinel: string, props: string[]) => Error }).UnknownValueError;

/** Report violations, then raise the unknowns the way the SDK expects (advisory in preview). */
export function report(out: RuleOutput, reportViolation: ReportViolation, withUrn: boolean): void {
  for (const v of out.violations) {
    if (withUrn && v.resource?.startsWith("urn:")) reportViolation(v.message, v.resource);
    else reportViolation(v.message);
  }
  if (out.unknowns.length > 0) {
    const e = new UnknownValueError(UNKNOWN, [...out.unknowns[0].path]);
    const reasons = [...new Set(out.unknowns.map((u) => u.reason))];
    e.message = `${reasons.slice(0, 5).join("; ")}${reasons.length > 5 ? `; and ${reasons.length - 5} more` : ""} not known yet; checked again at up`;
    throw e;
  }
}

export const policies: Policies = RULES.map((rule) => {
  const base = {
    name: rule.name,
    description: rule.description,
    enforcementLevel: rule.enforcementLevel,
    ...(rule.configSchema ? { configSchema: JSON.parse(JSON.stringify(rule.configSchema)) as PolicyConfigSchema } : {}),
  };
  if (rule.kind === "resource") {
    const p: ResourceValidationPolicy = {
      ...base,
      validateResource: async (args: ResourceValidationArgs, reportViolation: ReportViolation) => {
        const r = await describeResource(args);
        report(rule.check(r, { config: args.getConfig<Record<string, unknown>>(), readLocal }), reportViolation, false);
      },
    };
    return p;
  }
  const p: StackValidationPolicy = {
    ...base,
    validateStack: async (args: StackValidationArgs, reportViolation: ReportViolation) => {
      const rs = await describeStack(args.resources);
      report(rule.check(rs, { config: args.getConfig<Record<string, unknown>>(), readLocal }), reportViolation, true);
    },
  };
  return p;
});
