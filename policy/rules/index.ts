/**
 * The rplan policy rules as plain functions, and one evaluator that applies them the way the
 * Pulumi engine and @pulumi/policy do (enforcement levels, policy config, unknowns in preview).
 * The policy pack (policy/index.ts), the stack runner and the tests all go through here.
 */
import { SUBMISSION_CLEANUP } from "../../planning/mail/anonymity";
import { checkCountries, COUNTRY_DEFAULTS, CountryConfig } from "./countries";
import { checkHostKeysResource, checkHostKeysStack } from "./host-keys";
import { ScanContext } from "./key-material";
import { checkKeyGenerationResource, checkKeyGenerationStack } from "./key-generation";
import { checkLandedStack } from "./landed";
import { checkDkimKeys, checkHeaderAnonymity, checkLogAnonymity, checkSpamFilter, checkZoneServed } from "./node-duties";
import { checkPrivateKeysResource, checkPrivateKeysStack } from "./private-keys";
import { idOf, ResourceDesc, RuleOutput } from "./types";
import { showPath } from "./values";

export * from "./types";
export { plain, UNKNOWN, SIG_KEY, SECRET_SIG, ASSET_SIG, ARCHIVE_SIG } from "./values";
export { privateKeyKind, scanKeyMaterial } from "./key-material";
export type { ScanContext } from "./key-material";
export { hostKeyId } from "./host-keys";
export { DUTY_NAMES, journaldSetting, masterCfServices } from "./node-duties";
export type { CountryConfig } from "./countries";
export {
  checkCountries,
  checkHostKeysResource,
  checkHostKeysStack,
  checkKeyGenerationResource,
  checkKeyGenerationStack,
  checkDkimKeys,
  checkHeaderAnonymity,
  checkSpamFilter,
  checkLandedStack,
  checkLogAnonymity,
  checkPrivateKeysResource,
  checkZoneServed,
  checkPrivateKeysStack,
  COUNTRY_DEFAULTS,
};

export type EnforcementLevel = "advisory" | "mandatory" | "remediate" | "disabled";

/** JSON schema of one config property, as @pulumi/policy's configSchema takes it. */
export type ConfigProperty = { readonly type: string; readonly [k: string]: unknown };

export interface RuleContext extends ScanContext {
  /** This policy's config properties (defaults filled in). */
  readonly config: Readonly<Record<string, unknown>>;
}

interface RuleBase {
  readonly name: string;
  readonly description: string;
  readonly enforcementLevel: EnforcementLevel;
  readonly configSchema?: { readonly properties: Readonly<Record<string, ConfigProperty>>; readonly required?: readonly string[] };
}
export interface ResourceRule extends RuleBase {
  readonly kind: "resource";
  readonly check: (r: ResourceDesc, ctx: RuleContext) => RuleOutput;
}
export interface StackRule extends RuleBase {
  readonly kind: "stack";
  readonly check: (resources: readonly ResourceDesc[], ctx: RuleContext) => RuleOutput;
}
export type Rule = ResourceRule | StackRule;

export const RULES: readonly Rule[] = [
  {
    kind: "resource",
    name: "private-keys-inside-encrypted-mount",
    description:
      "No private key material (PEM, OpenSSH, tinc RSA, @pulumi/tls keys) is written outside the target node's encrypted mount; commands never carry private keys; a resource of unknown shape carrying one is refused.",
    enforcementLevel: "mandatory",
    check: (r, ctx) => checkPrivateKeysResource(r, ctx),
  },
  {
    kind: "stack",
    name: "private-keys-inside-node-mount",
    description:
      "Resources claim their own node's encrypted mount; remote copies of keys land inside the mount of the node they reach; a @pulumi/tls private key is only ever written inside its consumer's node mount.",
    enforcementLevel: "mandatory",
    check: (rs, ctx) => checkPrivateKeysStack(rs, ctx),
  },
  {
    kind: "resource",
    name: "key-generation-inside-encrypted-mount",
    description: "Key-generating resources (NodeKey, NodeHost key directories) target a directory inside the node's encrypted mount.",
    enforcementLevel: "mandatory",
    check: (r) => checkKeyGenerationResource(r),
  },
  {
    kind: "stack",
    name: "key-generation-on-own-node",
    description: "Key-generating resources claim the encrypted mount of an existing node, and return only public halves.",
    enforcementLevel: "mandatory",
    check: (rs, ctx) => checkKeyGenerationStack(rs, ctx),
  },
  {
    kind: "stack",
    name: "keys-landed-on-encrypted-filesystem",
    description: "No resource reports (landedOn, resolved on the node at write time and at refresh) a key or secret whose real path is off its node's encrypted filesystem.",
    enforcementLevel: "mandatory",
    check: (rs) => checkLandedStack(rs),
  },
  {
    kind: "resource",
    name: "ssh-host-keys-pinned",
    description: "Every node's SSH host key is pinned (a NodeHost's and our resources' ssh.hostKeys are OpenSSH public key lines); a command's connection.hostKey, when named, is one too.",
    enforcementLevel: "mandatory",
    check: (r) => checkHostKeysResource(r),
  },
  {
    kind: "stack",
    name: "ssh-host-keys-match-node",
    description: "A connection to a node uses that node's endpoint and host keys its NodeHost pins; remote commands and copies reach only nodes of the stack.",
    enforcementLevel: "mandatory",
    check: (rs) => checkHostKeysStack(rs),
  },
  {
    kind: "stack",
    name: "country-diversity",
    description: "Active nodes span at least minCountries countries, with at most one active node per country outside countryExceptions.",
    enforcementLevel: "advisory",
    configSchema: {
      properties: {
        minCountries: { type: "integer", minimum: 1, default: COUNTRY_DEFAULTS.minCountries },
        countryExceptions: { type: "array", items: { type: "string", pattern: "^[A-Z]{2}$" }, default: [] },
      },
    },
    check: (rs, ctx) => checkCountries(rs, ctx.config as Partial<CountryConfig>),
  },
  // What every active node must do (issue #14 item 7): advisory by default, mandatory for prod (policy/prod-config.json).
  {
    kind: "stack",
    name: "active-nodes-serve-zone",
    description: "Every active node serves the cluster's zone (dns-<node>-zone writes the zone file, dns-<node>-knot-conf knot.conf), and the DnsCheck dns-check verifies it after each update.",
    enforcementLevel: "advisory",
    check: (rs) => checkZoneServed(rs),
  },
  {
    kind: "stack",
    name: "active-nodes-dkim-key-in-mount",
    description: "Every active node has its DkimKey (<node>-dkim-key), generated strictly inside the node's own encrypted mount, and once created it reports where the key landed.",
    enforcementLevel: "advisory",
    check: (rs) => checkDkimKeys(rs),
  },
  {
    kind: "stack",
    name: "active-nodes-anonymise-submission-headers",
    description: `Every active node's <node>-postfix-config sends submission through the cleanup ${SUBMISSION_CLEANUP} with its header_checks table: the client's address and client headers leave no submitted message.`,
    enforcementLevel: "advisory",
    check: (rs) => checkHeaderAnonymity(rs),
  },
  {
    kind: "stack",
    name: "active-nodes-anonymise-logs",
    description: "Every active node has <node>-log-anonymity: rsyslog's first rule masks addresses, and journald keeps nothing (Storage=none).",
    enforcementLevel: "advisory",
    check: (rs) => checkLogAnonymity(rs),
  },
  {
    kind: "stack",
    name: "active-nodes-filter-spam",
    description: "Every active node filters spam on port 25: <node>-spam-filter configures rspamd, and <node>-postfix-config has port 25 ask it (smtpd_milters), so no MX takes what the others refuse.",
    enforcementLevel: "advisory",
    check: (rs) => checkSpamFilter(rs),
  },
];

/** Effective per-policy config: enforcement level and properties (see policy/config.ts). */
export type PolicyConfig = Readonly<Record<string, { readonly enforcementLevel: EnforcementLevel; readonly properties: Readonly<Record<string, unknown>> }>>;

/** The defaults every rule declares: its own enforcement level and its schema's defaults. */
export function defaultPolicyConfig(): PolicyConfig {
  return Object.fromEntries(
    RULES.map((r) => [
      r.name,
      {
        enforcementLevel: r.enforcementLevel,
        properties: Object.fromEntries(Object.entries(r.configSchema?.properties ?? {}).filter(([, s]) => "default" in s).map(([k, s]) => [k, s.default])),
      },
    ]),
  );
}

export interface Diagnostic {
  readonly policy: string;
  /** As the engine reports it: a violation at the policy's level; an unknown in preview is advisory. */
  readonly enforcementLevel: "advisory" | "mandatory";
  readonly message: string;
  /** URN (or name) of the resource; absent for stack-wide findings. */
  readonly resource?: string;
}

export interface EvaluateOptions extends ScanContext {
  /** preview: unknown values make a check advisory; up: every value must be known. */
  readonly phase: "preview" | "up";
  /** Effective config (policy/config.ts `resolvePolicyConfig`); defaults when absent. */
  readonly config?: PolicyConfig;
}

export interface Evaluation {
  readonly diagnostics: Diagnostic[];
  /** The mandatory ones: any of these refuses the operation. */
  readonly mandatory: Diagnostic[];
}

/**
 * Run every enabled rule: resource rules over `inputs` (each resource's inputs, as validateResource
 * sees them), stack rules over `outputs` (all resources' outputs with parents and property
 * dependencies, as validateStack sees them; after a preview, planned outputs). `outputs` defaults
 * to `inputs`.
 */
export function evaluatePolicies(inputs: readonly ResourceDesc[], opts: EvaluateOptions, outputs: readonly ResourceDesc[] = inputs): Evaluation {
  const config = opts.config ?? defaultPolicyConfig();
  const diagnostics: Diagnostic[] = [];
  for (const rule of RULES) {
    const c = config[rule.name] ?? defaultPolicyConfig()[rule.name];
    if (c.enforcementLevel === "disabled") continue;
    const level = c.enforcementLevel === "advisory" ? "advisory" : "mandatory";
    const ctx: RuleContext = { ...opts, config: c.properties };
    const outs = rule.kind === "resource" ? inputs.map((r) => rule.check(r, ctx)) : [rule.check(outputs, ctx)];
    for (const out of outs) diagnostics.push(...toDiagnostics(rule.name, level, out, opts.phase));
  }
  return { diagnostics, mandatory: diagnostics.filter((d) => d.enforcementLevel === "mandatory") };
}

/** A rule's output as engine diagnostics: violations at `level`; unknowns advisory in preview, violations at up. */
export function toDiagnostics(policy: string, level: "advisory" | "mandatory", out: RuleOutput, phase: "preview" | "up"): Diagnostic[] {
  const ds: Diagnostic[] = out.violations.map((v) => ({ policy, enforcementLevel: level, message: v.message, ...(v.resource ? { resource: v.resource } : {}) }));
  for (const u of out.unknowns) {
    const where = u.path.length > 0 ? ` (${showPath(u.path)})` : "";
    ds.push(
      phase === "preview"
        ? { policy, enforcementLevel: "advisory", message: `can't check during preview: ${u.reason} is not known yet${where}; checked again at up`, ...(u.resource ? { resource: u.resource } : {}) }
        : { policy, enforcementLevel: level, message: `${u.reason} is still unknown at up${where}, so the rule cannot be shown to hold`, ...(u.resource ? { resource: u.resource } : {}) },
    );
  }
  return ds;
}

export { idOf };
