/**
 * Thin providers: the fixed `__provider` source each dynamic resource carries, loaded the way
 * Pulumi's dynamic-provider host loads it (require-from-string, then `handler()`), and the proof
 * that evaluating the program never starts Pulumi's inspector-based closure serializer.
 */
import * as path from "path";
import { implModule, PROVIDER_IMPLS, ProviderImpl, thinProviderSource } from "../../providers/thin";
import { rawConfig } from "../support/config-fixture";
import { evaluateProgram } from "../support/mock-program";

const ROOT = path.resolve(__dirname, "..", "..");
// The same loader the dynamic-provider host uses, from @pulumi/pulumi's own dependencies.
const requireFromString = require(require.resolve("require-from-string", { paths: [path.dirname(require.resolve("@pulumi/pulumi"))] })) as (code: string) => { handler: () => Record<string, (...a: unknown[]) => unknown> };

/** Load a provider source as the host does: its `require` resolves from the project directory (the host's cwd). */
function loadInHost(source: string): Record<string, (...a: unknown[]) => unknown> {
  const cwd = process.cwd();
  process.chdir(ROOT);
  try {
    return requireFromString(source).handler();
  } finally {
    process.chdir(cwd);
  }
}

describe("thin provider sources", () => {
  test.each(PROVIDER_IMPLS.map((i) => [i]))("%s: loads in the host and each method runs the compiled implementation", async (impl) => {
    const provider = loadInHost(thinProviderSource(impl));
    expect(Object.keys(provider).sort()).toEqual(["check", "create", "delete", "diff", "read", "update"]);
    // check and diff need no host: through the source they give the compiled implementation's answers.
    const real = require(path.join(ROOT, "node_modules", implModule(impl))) as Record<string, (...a: unknown[]) => Promise<unknown>>;
    expect(await provider.check({}, { node: "n1" })).toEqual(await real.check({}, { node: "n1" }));
    expect(await provider.diff("id", { node: "n1" }, { node: "n2" })).toEqual(await real.diff("id", { node: "n1" }, { node: "n2" }));
    for (const m of ["create", "read", "update", "delete"]) expect(typeof real[m]).toBe("function");
  });

  test("every implementation module under providers/impl/ is listed (a module exporting all six methods)", () => {
    const dir = path.join(ROOT, "providers", "impl");
    const methods = ["check", "diff", "create", "read", "update", "delete"];
    const impls = require("fs")
      .readdirSync(dir)
      .filter((f: string) => f.endsWith(".ts"))
      .map((f: string) => f.replace(/\.ts$/, ""))
      .filter((m: string) => methods.every((k) => typeof require(path.join(dir, m))[k] === "function"));
    expect([...PROVIDER_IMPLS].sort()).toEqual(impls.sort());
  });

  test("small, fixed, and carrying nothing but the module it loads", () => {
    for (const impl of PROVIDER_IMPLS) {
      const s = thinProviderSource(impl);
      expect(s).toBe(thinProviderSource(impl));
      expect(s.length).toBeLessThan(1024);
      expect(s.match(/require\(([^)]*)\)/g)).toEqual([`require(${JSON.stringify(implModule(impl))})`]);
    }
  });

  test("an unknown implementation is refused (nothing is spliced into the source)", () => {
    expect(() => thinProviderSource('node-key"); process.exit(1); ("' as ProviderImpl)).toThrow(/unknown provider implementation/);
  });
});

describe("the program's dynamic resources", () => {
  afterEach(() => jest.dontMock("@pulumi/pulumi/runtime/closure/v8"));

  test("carry the fixed sources, and the inspector-based closure serializer (runtime/closure/v8) is never loaded", async () => {
    const loaded: string[] = [];
    jest.doMock("@pulumi/pulumi/runtime/closure/v8", () => {
      loaded.push("runtime/closure/v8");
      return jest.requireActual("@pulumi/pulumi/runtime/closure/v8");
    });
    const { resources } = await evaluateProgram(rawConfig());
    expect(loaded).toEqual([]);
    const byType: Record<string, ProviderImpl> = { NodeHost: "node-host", NodeKey: "node-key", HostFiles: "host-files", MeshCheck: "mesh-check", ServiceTlsKey: "service-tls-key", SlapdConfig: "ldap-slapd", LdapEntries: "ldap-entries", DnsZone: "dns-zone", DnsCheck: "dns-check", DkimKey: "dkim-key" };
    const dynamic = resources.filter((r) => r.type.startsWith("pulumi-nodejs:dynamic/rplan:"));
    expect(new Set(dynamic.map((r) => r.type.split(":").pop()))).toEqual(new Set(Object.keys(byType)));
    for (const r of dynamic) expect(r.inputs.__provider).toBe(thinProviderSource(byType[r.type.split(":").pop()!]));
  });
});
