import { changeLines, diffKeys, formatSteps, propertyChanges, stepLine, summaryLine } from "../../runner/display";
import { makeSecret, UNKNOWN } from "../../runner/props";
import { Step } from "../../runner/steps";

describe("preview display", () => {
  it("diffs nested properties leaf by leaf and never shows __provider", () => {
    const olds = { __provider: "old code", hostname: "a", ssh: { host: "h", port: 22 }, keys: ["k1"] };
    const news = { __provider: "new code", hostname: "b", ssh: { host: "h", port: 2222 }, keys: ["k1", "k2"], extra: true };
    const changes = propertyChanges(olds, news);
    expect(changes.map((c) => `${c.kind} ${c.path}`)).toEqual(["update hostname", "update ssh.port", "add keys[1]", "add extra"]);
    expect(diffKeys(changes)).toEqual(["~hostname", "~ssh", "~keys", "+extra"]);
  });

  it("prints - old / + new, secrets as [secret] and unknowns as [unknown]", () => {
    const lines = changeLines(propertyChanges({ password: makeSecret("p1"), ip: "1.2.3.4" }, { password: makeSecret("p2"), ip: UNKNOWN }));
    expect(lines).toEqual(["~ password", '    - "[secret]"', '    + "[secret]"', "~ ip", '    - "1.2.3.4"', '    + "[unknown]"']);
    expect(lines.join("\n")).not.toMatch(/p1|p2/);
  });

  it("an unchanged secret is no change", () => {
    expect(propertyChanges({ s: makeSecret("x") }, { s: makeSecret("x") })).toEqual([]);
  });

  it("prints one line per step like pulumi preview, and a summary", () => {
    const steps: Step[] = [
      { op: "create", type: "rplan:cluster:Node", name: "lab1", urn: "u1", diffs: [], detail: ['+ name: "lab1"'] },
      { op: "update", type: "pulumi-nodejs:dynamic/rplan:NodeHost", name: "lab1-host", urn: "u2", diffs: ["~hostname"], detail: ["~ hostname", '    - "a"', '    + "b"'] },
      { op: "replace", type: "t", name: "r", urn: "u3", diffs: ["~dir"], detail: [] },
      { op: "delete", type: "t", name: "gone", urn: "u4", diffs: [], detail: [] },
      { op: "same", type: "t", name: "s", urn: "u5", diffs: [] },
    ];
    expect(stepLine(steps[1])).toBe("  ~  pulumi-nodejs:dynamic/rplan:NodeHost  lab1-host  update  [diff: ~hostname]");
    expect(formatSteps(steps, { showDetail: false })).toEqual([
      "  +  rplan:cluster:Node  lab1  create",
      "  ~  pulumi-nodejs:dynamic/rplan:NodeHost  lab1-host  update  [diff: ~hostname]",
      "        ~ hostname",
      '            - "a"',
      '            + "b"',
      "  +- t  r  replace  [diff: ~dir]",
      "  -  t  gone  delete",
    ]);
    expect(formatSteps(steps, { showDetail: true })).toContain('        + name: "lab1"');
    expect(summaryLine(steps, "preview")).toBe("Resources: + 1 to create, ~ 1 to update, +-1 to replace, - 1 to delete, 1 unchanged");
  });
});
