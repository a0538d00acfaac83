/** policy/config.ts reads `--policy-pack-config` files as the Pulumi CLI does, and refuses typos. */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { loadPolicyConfig, resolvePolicyConfig } from "../../policy/config";
import { defaultPolicyConfig } from "../../policy/rules";

describe("policy config", () => {
  test("defaults: key rules mandatory, country rule advisory with K = 3 and no exceptions", () => {
    const d = defaultPolicyConfig();
    expect(d["private-keys-inside-encrypted-mount"].enforcementLevel).toBe("mandatory");
    expect(d["country-diversity"]).toEqual({ enforcementLevel: "advisory", properties: { minCountries: 3, countryExceptions: [] } });
    expect(loadPolicyConfig(undefined)).toEqual(d);
  });

  test("policy/prod-config.json makes the country rule mandatory and leaves the rest alone", () => {
    const c = loadPolicyConfig(path.join(__dirname, "../../policy/prod-config.json"));
    expect(c["country-diversity"]).toEqual({ enforcementLevel: "mandatory", properties: { minCountries: 3, countryExceptions: [] } });
    expect(c["ssh-host-keys-pinned"].enforcementLevel).toBe("mandatory");
  });

  test("the CLI's forms: a level string, an object, and `all`", () => {
    const c = resolvePolicyConfig({ all: "advisory", "ssh-host-keys-pinned": "mandatory", "country-diversity": { minCountries: 2, countryExceptions: ["CH"] } });
    expect(c["private-keys-inside-encrypted-mount"].enforcementLevel).toBe("advisory"); // `all` weakens every rule: never use it for prod
    expect(c["ssh-host-keys-pinned"].enforcementLevel).toBe("mandatory");
    expect(c["country-diversity"]).toEqual({ enforcementLevel: "advisory", properties: { minCountries: 2, countryExceptions: ["CH"] } });
  });

  test("unknown policies, unknown settings, bad levels and bad values are errors, all at once", () => {
    expect(() => resolvePolicyConfig({ "country-diversty": "mandatory", "country-diversity": { enforcementLevel: "strict", minCountries: 0, countryExceptions: ["nl"], k: 3 } })).toThrow(
      /unknown policy "country-diversty"[\s\S]*enforcementLevel: "strict" is not an enforcement level[\s\S]*minCountries must be an integer ≥ 1[\s\S]*countryExceptions must be a list of strings matching[\s\S]*unknown setting "k"/,
    );
  });

  test("a file that is not JSON names the file", () => {
    const f = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "rplan-pc-")), "x.json");
    fs.writeFileSync(f, "country-diversity: mandatory\n");
    expect(() => loadPolicyConfig(f)).toThrow(new RegExp(`policy config ${f.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")} is not valid JSON`));
    fs.rmSync(path.dirname(f), { recursive: true });
  });
});
