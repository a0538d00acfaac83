/**
 * A failed step, end to end through the real dynamic-provider host: the state afterwards is what
 * Pulumi's engine would hold, and the next preview and up see exactly what is left to do. The
 * partial failure travels as the engine's ErrorResourceInitFailed gRPC status detail.
 */
import * as fs from "fs";
import { env, fileResources, ops, stack, writeConfig } from "./fixture-stack";

const base = { "fixture:greeting": "hello" };

describe("stack runner: state after a failed replacement", () => {
  it("the create of a replacement fails: the old file stays live and unchanged; reverting the config shows nothing to do", async () => {
    const e = env();
    writeConfig(e, base);
    await stack(e, "up");
    const before = fileResources(e);
    writeConfig(e, { ...base, "fixture:greetingFile": "hi.txt" });
    await expect(stack(e, "up", { env: { FIXTURE_FAIL: "create:hi.txt:plain" } })).rejects.toThrow(/create hi\.txt: connect ECONNREFUSED/);
    expect(fileResources(e)).toEqual(before);
    expect(ops(await stack(e, "preview"))).toEqual(["replace greeting"]);
    writeConfig(e, base);
    expect((await stack(e, "preview")).changed).toBe(false);
    expect(fs.readdirSync(e.out).sort()).toEqual(["greeting.txt", "secret.txt"]);
  });

  it("the new file is written but does not initialize: recorded with its init errors, then retried and the old one deleted", async () => {
    const e = env();
    writeConfig(e, base);
    await stack(e, "up");
    writeConfig(e, { ...base, "fixture:greetingFile": "hi.txt" });
    await expect(stack(e, "up", { env: { FIXTURE_FAIL: "create:hi.txt:partial" } })).rejects.toThrow(/create hi\.txt: written but did not initialize/);
    const greeting = fileResources(e).filter((r) => r.name === "greeting");
    expect(greeting.map((r) => [r.id.split("/").pop(), !!r.delete, r.initErrors])).toEqual([
      ["greeting.txt", true, undefined],
      ["hi.txt", false, ["service did not start"]],
    ]);
    expect(greeting[1].outputs).toMatchObject({ name: "hi.txt", size: 5 });
    const r = await stack(e, "up");
    expect(ops(r)).toEqual(["update greeting", "delete greeting"]);
    expect(fs.readdirSync(e.out).sort()).toEqual(["hi.txt", "secret.txt"]);
    expect(fileResources(e).map((x) => [x.name, x.initErrors])).toEqual([["secret", undefined], ["greeting", undefined]]);
    expect((await stack(e, "preview")).changed).toBe(false);
  });
});
