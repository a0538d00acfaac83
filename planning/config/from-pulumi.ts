/**
 * Reading the raw `rplan:*` values. Pulumi hands structured config to the program as JSON text;
 * a value that is not valid JSON becomes one clear problem instead of a stack trace.
 */
import { ClusterConfig, ConfigError } from "./types";
import { validateClusterConfig } from "./validate";

export const CONFIG_KEYS = ["domain", "rings", "nodes", "policy", "ldap", "placement", "dns", "spam"] as const;
/** Settings whose value is plain text rather than structured config. */
const TEXT_KEYS: readonly string[] = ["domain", "placement"];

/**
 * Validate config given as key → raw text (as `pulumi.Config.get` returns it). `present` lists the
 * `rplan:` keys the stack sets, so that a misspelt key is reported instead of silently ignored.
 */
export function clusterConfigFromText(get: (key: string) => string | undefined, present: readonly string[] = []): ClusterConfig {
  const raw: Record<string, unknown> = {};
  const problems: string[] = [];
  const known = [...CONFIG_KEYS] as string[];
  for (const key of present) if (!known.includes(key)) problems.push(`rplan:${key} is not a known setting (known: ${known.join(", ")})`);
  for (const key of CONFIG_KEYS) {
    const text = get(key);
    if (text === undefined) continue;
    if (TEXT_KEYS.includes(key)) raw[key] = text;
    else {
      try {
        raw[key] = JSON.parse(text);
      } catch {
        problems.push(`rplan:${key} is not valid structured config (expected a YAML map or list)`);
      }
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return validateClusterConfig(raw);
}
