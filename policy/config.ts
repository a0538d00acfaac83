/**
 * Policy pack config, read exactly as the Pulumi CLI reads `--policy-pack-config <file>`
 * (pkg/resource/analyzer/config.go): a JSON object mapping a policy name — or "all" — to either an
 * enforcement level string or an object with an optional `enforcementLevel` and the policy's
 * config properties. Defaults come from each policy's enforcement level and configSchema defaults;
 * "all" sets every policy's level first, then per-policy entries apply.
 *
 * Stricter than the CLI in two ways, so a typo cannot silently weaken a rule: an unknown policy
 * name and a property outside the policy's schema are errors.
 */
import * as fs from "fs";
import * as path from "path";
import { defaultPolicyConfig, EnforcementLevel, PolicyConfig, RULES } from "./rules";

const LEVELS: readonly EnforcementLevel[] = ["advisory", "mandatory", "remediate", "disabled"];

export class PolicyConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PolicyConfigError";
  }
}

/** The config file for a stack, by convention `policy/<stack>-config.json`; undefined when there is none. */
export function policyConfigFileFor(projectDir: string, stack: string): string | undefined {
  const file = path.join(projectDir, "policy", `${stack}-config.json`);
  return fs.existsSync(file) ? file : undefined;
}

/** Read and resolve a policy config file (undefined: the defaults). */
export function loadPolicyConfig(file: string | undefined): PolicyConfig {
  if (file === undefined) return defaultPolicyConfig();
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    throw new PolicyConfigError(`cannot read policy config ${file}: ${(e as Error).message}`);
  }
  if (text.trim() === "") return defaultPolicyConfig();
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new PolicyConfigError(`policy config ${file} is not valid JSON: ${(e as Error).message}`);
  }
  return resolvePolicyConfig(raw, file);
}

/** Apply a parsed config object to the defaults, validating it. */
export function resolvePolicyConfig(raw: unknown, source = "policy config"): PolicyConfig {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw new PolicyConfigError(`${source} must be a JSON object of policy name → level or settings`);
  const problems: string[] = [];
  const given: Record<string, { level?: EnforcementLevel; properties: Record<string, unknown> }> = {};
  for (const [name, v] of Object.entries(raw as Record<string, unknown>)) {
    if (name !== "all" && !RULES.some((r) => r.name === name)) {
      problems.push(`unknown policy ${JSON.stringify(name)} (policies: ${RULES.map((r) => r.name).join(", ")})`);
      continue;
    }
    if (typeof v === "string") {
      if (!LEVELS.includes(v as EnforcementLevel)) problems.push(`${name}: ${JSON.stringify(v)} is not an enforcement level (${LEVELS.join(", ")})`);
      else given[name] = { level: v as EnforcementLevel, properties: {} };
    } else if (typeof v === "object" && v !== null && !Array.isArray(v)) {
      const { enforcementLevel, ...properties } = v as Record<string, unknown>;
      if (enforcementLevel !== undefined && !LEVELS.includes(enforcementLevel as EnforcementLevel)) {
        problems.push(`${name}.enforcementLevel: ${JSON.stringify(enforcementLevel)} is not an enforcement level (${LEVELS.join(", ")})`);
      }
      given[name] = { level: enforcementLevel as EnforcementLevel | undefined, properties };
    } else problems.push(`${name}: must be an enforcement level string or an object`);
  }
  const result: Record<string, { enforcementLevel: EnforcementLevel; properties: Record<string, unknown> }> = {};
  for (const [name, c] of Object.entries(defaultPolicyConfig())) {
    result[name] = { enforcementLevel: given.all?.level ?? c.enforcementLevel, properties: { ...c.properties } };
  }
  for (const [name, g] of Object.entries(given)) {
    if (name === "all") continue;
    if (g.level) result[name].enforcementLevel = g.level;
    Object.assign(result[name].properties, g.properties);
  }
  for (const rule of RULES) problems.push(...validateProperties(rule.name, rule.configSchema?.properties ?? {}, result[rule.name].properties));
  if (problems.length > 0) throw new PolicyConfigError(`invalid ${source}:\n` + problems.map((p) => `  - ${p}`).join("\n"));
  return result;
}

function validateProperties(policy: string, schema: Readonly<Record<string, { readonly type: string; readonly [k: string]: unknown }>>, props: Record<string, unknown>): string[] {
  const problems: string[] = [];
  for (const [k, v] of Object.entries(props)) {
    const s = schema[k];
    if (!s) {
      problems.push(`${policy}: unknown setting ${JSON.stringify(k)}${Object.keys(schema).length ? ` (settings: ${Object.keys(schema).join(", ")})` : " (it takes none)"}`);
      continue;
    }
    if (s.type === "integer" && !(Number.isInteger(v) && (s.minimum === undefined || (v as number) >= (s.minimum as number)))) {
      problems.push(`${policy}.${k} must be an integer${s.minimum !== undefined ? ` ≥ ${String(s.minimum)}` : ""} (got ${JSON.stringify(v)})`);
    }
    if (s.type === "array") {
      const pattern = (s.items as { pattern?: string } | undefined)?.pattern;
      if (!Array.isArray(v) || v.some((x) => typeof x !== "string" || (pattern !== undefined && !new RegExp(pattern).test(x)))) {
        problems.push(`${policy}.${k} must be a list of strings${pattern ? ` matching ${pattern}` : ""} (got ${JSON.stringify(v)})`);
      }
    }
  }
  return problems;
}
