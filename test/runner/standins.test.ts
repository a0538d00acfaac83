import { isSecret, PropertyValue } from "../../runner/props";
import { EngineProvider, Target } from "../../runner/providers/plugin";
import { ProviderRegistry, UnsupportedTypeError } from "../../runner/providers/registry";
import { RandomResource } from "../../runner/standins/random";

const t = (type: string, name = "r"): Target => ({ urn: `urn:pulumi:s::p::${type}::${name}`, type, name });
const secretValue = (v: PropertyValue) => (isSecret(v) ? v.value : v);

describe("random stand-in", () => {
  const password = new EngineProvider(new RandomResource("RandomPassword"));

  it("honours length, character sets and minimums, and keeps the password secret", async () => {
    const inputs = { length: 40, special: false, upper: false, minNumeric: 10 };
    const made = await password.create(t("random:index/randomPassword:RandomPassword"), inputs, false);
    expect(isSecret(made.outputs.result)).toBe(true);
    const result = String(secretValue(made.outputs.result));
    expect(result).toMatch(/^[a-z0-9]{40}$/);
    expect(result.replace(/[^0-9]/g, "").length).toBeGreaterThanOrEqual(10);
  });

  it("rejects impossible inputs in check and replaces on any input change (keepers too)", async () => {
    const c = await password.check(t("x"), {}, { length: 2, minUpper: 3 });
    expect(c.failures[0].reason).toMatch(/sum of the minimums/);
    const d = await password.diff(t("x"), "none", { length: 8, keepers: { a: "1" } }, {}, { length: 8, keepers: { a: "2" } }, []);
    expect(d).toEqual({ changes: "some", replaces: ["keepers"], deleteBeforeReplace: false });
  });

  it("makes ids in every encoding from the same bytes", async () => {
    const id = new EngineProvider(new RandomResource("RandomId"));
    const made = await id.create(t("random:index/randomId:RandomId"), { byteLength: 8, prefix: "p-" }, false);
    const hex = String(made.outputs.hex).slice(2);
    expect(hex).toMatch(/^[0-9a-f]{16}$/);
    expect(made.outputs.dec).toBe("p-" + BigInt("0x" + hex).toString());
    expect(made.id).toBe(Buffer.from(hex, "hex").toString("base64url"));
  });
});

describe("native providers the program does not use", () => {
  const registry = new ProviderRegistry({ projectDir: "/nonexistent", project: "p", config: { values: {}, secretKeys: [], parsed: {} } as never, log: () => undefined });

  it.each(["command:remote:Command", "command:local:Command", "tls:index/privateKey:PrivateKey", "aws:s3/bucket:Bucket"])("%s is refused with a message naming the type", async (type) => {
    await expect(registry.forType(type, "r1")).rejects.toThrow(UnsupportedTypeError);
    await expect(registry.forType(type, "r1")).rejects.toThrow(new RegExp(`resource r1 has type ${type.replace(/[/:]/g, "\\$&")}.*stands in only for @pulumi/random`));
  });

  it("@pulumi/random is served by the stand-in", async () => {
    await expect(registry.forType("random:index/randomPassword:RandomPassword", "r2")).resolves.toBeInstanceOf(EngineProvider);
  });
});
