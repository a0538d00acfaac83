/**
 * Rule: the active nodes span at least `minCountries` distinct countries, and no two active nodes
 * share a country unless it is listed in `countryExceptions`. Countries and states come from the
 * NodeHost resources (`country`, `state`); draining nodes are not counted; revoked nodes have no
 * NodeHost. Advisory by default; mandatory where the policy config says so (policy/prod-config.json).
 */
import { countryName } from "../../planning/config/countries";
import { NodeIndex } from "./nodes";
import { Report, ResourceDesc, RuleOutput } from "./types";
import { isUnknown } from "./values";
import { isLive, isNodeState, mayBeHome } from "../../planning/node-roles";

export interface CountryConfig {
  /** K: distinct countries the active nodes must span. */
  readonly minCountries: number;
  /** ISO 3166-1 alpha-2 codes allowed to host more than one active node. */
  readonly countryExceptions: readonly string[];
}

export const COUNTRY_DEFAULTS: CountryConfig = { minCountries: 3, countryExceptions: [] };

export function checkCountries(resources: readonly ResourceDesc[], config: Partial<CountryConfig> = {}): RuleOutput {
  const cfg = { ...COUNTRY_DEFAULTS, ...config };
  const rep = new Report();
  const byCountry = new Map<string, string[]>();
  let undecided = 0;
  for (const n of new NodeIndex(resources).nodes) {
    if (isUnknown(n.state) || isUnknown(n.country)) {
      rep.unknown(n.desc, [isUnknown(n.state) ? "state" : "country"], `node ${n.name}'s ${isUnknown(n.state) ? "state" : "country"}`);
      undecided++;
      continue;
    }
    if (!isNodeState(n.state) || !isLive(n.state)) {
      rep.violation(n.desc, `node ${n.name}'s NodeHost carries state ${JSON.stringify(n.state ?? null)}; expected active or draining`);
      continue;
    }
    if (!mayBeHome(n.state)) continue;
    if (typeof n.country !== "string" || !countryName(n.country)) {
      rep.violation(n.desc, `node ${n.name}'s NodeHost carries country ${JSON.stringify(n.country ?? null)}, not an ISO 3166-1 alpha-2 code`);
      continue;
    }
    byCountry.set(n.country, [...(byCountry.get(n.country) ?? []), n.name]);
  }
  for (const [country, names] of [...byCountry].sort()) {
    if (names.length > 1 && !cfg.countryExceptions.includes(country)) {
      rep.violation(undefined, `active nodes ${names.join(", ")} are all in ${country} (${countryName(country)}): at most one active node per country (add ${country} to countryExceptions to allow it)`);
    }
  }
  if (byCountry.size < cfg.minCountries && byCountry.size + undecided >= cfg.minCountries) {
    rep.unknown(undefined, [], `whether the active nodes span ${cfg.minCountries} countries`);
  } else if (byCountry.size < cfg.minCountries) {
    const list = [...byCountry.keys()].sort().join(", ") || "none";
    rep.violation(undefined, `the active nodes span ${byCountry.size} ${byCountry.size === 1 ? "country" : "countries"} (${list}); at least ${cfg.minCountries} are required (minCountries)`);
  }
  return rep;
}
