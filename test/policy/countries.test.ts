/** Rule "country-diversity" (stack): advisory by default, mandatory with policy/prod-config.json. */
import * as path from "path";
import { loadPolicyConfig, policyConfigFileFor } from "../../policy/config";
import { checkCountries, evaluatePolicies, ResourceDesc, UNKNOWN } from "../../policy/rules";
import { rawConfig, rawNode } from "../support/config-fixture";
import { messages, NODE_HOST, programResources } from "./support";

const PROD = path.join(__dirname, "../../policy/prod-config.json");

describe("country diversity on the real program's NodeHosts", () => {
  test("three active nodes in three countries pass", async () => {
    const rs = await programResources();
    expect(rs.filter((r) => r.type === NODE_HOST).map((r) => [r.props.node, r.props.country, r.props.state])).toEqual([
      ["n1", "NL", "active"],
      ["n2", "DE", "active"],
      ["n3", "SE", "active"],
    ]);
    expect(messages(checkCountries(rs))).toEqual([]);
  });

  test("two active nodes in one country are refused unless that country is an exception", async () => {
    const raw = rawConfig();
    raw.nodes.push(rawNode(4, "NL"));
    const rs = await programResources(raw);
    expect(messages(checkCountries(rs))).toEqual([
      "active nodes n1, n4 are all in NL (Netherlands): at most one active node per country (add NL to countryExceptions to allow it)",
    ]);
    expect(messages(checkCountries(rs, { countryExceptions: ["NL"] }))).toEqual([]);
  });

  test("a draining node does not count; a revoked one has no NodeHost", async () => {
    const raw = rawConfig();
    raw.nodes.push(rawNode(4, "NL", { state: "draining" }), rawNode(5, "NL", { state: "revoked" }));
    expect(messages(checkCountries(await programResources(raw)))).toEqual([]);
  });

  test("fewer than minCountries countries are refused", async () => {
    const raw = rawConfig();
    raw.nodes[2].state = "draining";
    const rs = await programResources(raw);
    expect(messages(checkCountries(rs))).toEqual(["the active nodes span 2 countries (DE, NL); at least 3 are required (minCountries)"]);
    expect(messages(checkCountries(rs, { minCountries: 2 }))).toEqual([]);
  });

  test("unknown countries in preview are tolerated and reported", async () => {
    const rs = (await programResources()).map((r) => (r.type === NODE_HOST && r.props.node === "n3" ? { ...r, props: { ...r.props, country: UNKNOWN } } : r));
    const out = checkCountries(rs);
    expect(out.violations).toEqual([]);
    expect(out.unknowns.map((u) => u.reason)).toEqual(["node n3's country", "whether the active nodes span 3 countries"]);
  });
});

describe("enforcement level", () => {
  let twoInNl: ResourceDesc[];
  beforeAll(async () => {
    const raw = rawConfig();
    raw.nodes.push(rawNode(4, "NL"));
    twoInNl = await programResources(raw);
  });

  test("advisory by default: reported, not blocking", () => {
    const e = evaluatePolicies(twoInNl, { phase: "preview" });
    expect(e.mandatory).toEqual([]);
    expect(e.diagnostics).toEqual([expect.objectContaining({ policy: "country-diversity", enforcementLevel: "advisory" })]);
  });

  test("mandatory under policy/prod-config.json (the file `--policy-pack-config` takes)", () => {
    expect(policyConfigFileFor(path.join(__dirname, "../.."), "prod")).toBe(PROD);
    expect(policyConfigFileFor(path.join(__dirname, "../.."), "lab")).toBeUndefined();
    const e = evaluatePolicies(twoInNl, { phase: "preview", config: loadPolicyConfig(PROD) });
    expect(e.mandatory).toEqual([expect.objectContaining({ policy: "country-diversity", message: expect.stringMatching(/n1, n4 are all in NL/) })]);
  });
});
