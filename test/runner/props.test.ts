import { applyIgnoreChanges, matchesReplaceOnChanges } from "../../runner/options";
import { propertyChanges } from "../../runner/display";
import { annotateSecrets, isSecret, makeSecret, markSecretKeys, stripSecretsMap } from "../../runner/props";

describe("engine property handling", () => {
  it("strips secrets for a provider that does not accept them and re-marks same-named outputs", () => {
    const ins = { password: makeSecret("p"), conn: { host: "h", key: makeSecret("k") }, plain: 1 };
    expect(stripSecretsMap(ins)).toEqual({ password: "p", conn: { host: "h", key: "k" }, plain: 1 });
    const outs = annotateSecrets({ password: "p", conn: { host: "h", key: "k" }, plain: 1, extra: "e" }, ins);
    expect(isSecret(outs.password)).toBe(true);
    expect(isSecret(outs.conn)).toBe(false); // objects are matched key by key, as the engine does
    expect(isSecret((outs.conn as Record<string, unknown>).key)).toBe(true);
    expect(outs.plain).toBe(1);
    expect(outs.extra).toBe("e");
  });

  it("additionalSecretOutputs marks top-level outputs secret", () => {
    expect(isSecret(markSecretKeys({ pem: "x", pub: "y" }, ["pem"]).pem)).toBe(true);
  });

  it("ignoreChanges keeps old values (nested paths too) and leaves absent what was absent", () => {
    const olds = { a: 1, nested: { keep: "old", other: 1 } };
    const news = { a: 2, b: 3, nested: { keep: "new", other: 2 } };
    expect(applyIgnoreChanges(news, olds, ["a", "b", "nested.keep"])).toEqual({ a: 1, nested: { keep: "old", other: 2 } });
  });

  it("replaceOnChanges matches changed paths, their parents and children, and *", () => {
    const changes = propertyChanges({ ssh: { host: "a" }, x: 1 }, { ssh: { host: "b" }, x: 1 });
    expect(matchesReplaceOnChanges("ssh", changes)).toBe(true);
    expect(matchesReplaceOnChanges("ssh.host", changes)).toBe(true);
    expect(matchesReplaceOnChanges("x", changes)).toBe(false);
    expect(matchesReplaceOnChanges("*", changes)).toBe(true);
  });
});
