/** `rplan:placement` in the stack config, and reading/writing the file it names (stack-file/placement.ts). */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { clusterConfigFromText, validateClusterConfig } from "../../planning/config";
import { emptyPlacementRecord, parsePlacementRecord } from "../../planning/placement";
import { ensureLabPlacement, labStackConfig } from "../../lab/stack-config";
import { placementFilePath, readPlacementRecord, writePlacementRecord } from "../../stack-file/placement";
import { fakeHostKey, problemsOf, rawConfig } from "../support/config-fixture";

/** `config.get` as the program sees it: text as is, structured values as JSON. */
const getter = (config: Record<string, unknown>, prefix = "") => (k: string) => {
  const v = config[prefix + k];
  return v === undefined ? undefined : typeof v === "string" ? v : JSON.stringify(v);
};


describe("rplan:placement", () => {
  test("is optional, and read as plain text", () => {
    expect(validateClusterConfig(rawConfig())).not.toHaveProperty("placementFile");
    const raw = rawConfig();
    raw.placement = "stacks/placement.prod.yaml";
    expect(clusterConfigFromText(getter(raw), Object.keys(raw)).placementFile).toBe("stacks/placement.prod.yaml");
  });

  test.each([
    ["an absolute path", "/etc/placement.yaml"],
    ["a path out of the project", "../placement.yaml"],
    ["a .. segment", "a/../../placement.yaml"],
    ["another extension", "placement.json"],
    ["shell metacharacters", "p$(id).yaml"],
    ["a number", 5],
  ])("refuses %s", (_what, value) => {
    expect(problemsOf({ ...rawConfig(), placement: value })).toEqual([expect.stringMatching(/^rplan:placement must be the path of a \.yaml file inside the project directory/)]);
  });
});

describe("the placement file", () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "rplan-placement-"))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));
  const cluster = () => validateClusterConfig({ ...rawConfig(), placement: "placement.test.yaml" });

  test("no rplan:placement: nothing to read, and writing says what to set", () => {
    const c = validateClusterConfig(rawConfig());
    expect(readPlacementRecord(c, dir)).toBeUndefined();
    expect(() => writePlacementRecord(c, emptyPlacementRecord(), dir)).toThrow(/this stack has no rplan:placement/);
  });

  test("written, then read back the same, relative to the project directory", () => {
    const rec = { ...emptyPlacementRecord(), users: { alice: { home: "n2", bytes: 5 } }, pins: { alice: "n2" } };
    expect(writePlacementRecord(cluster(), rec, dir)).toBe(path.join(dir, "placement.test.yaml"));
    expect(placementFilePath(cluster(), dir)).toBe(path.join(dir, "placement.test.yaml"));
    expect(readPlacementRecord(cluster(), dir)).toEqual(rec);
    expect(fs.readdirSync(dir)).toEqual(["placement.test.yaml"]); // no temporary file left behind
  });

  test("a missing file is an error naming it and saying how to make one", () => {
    expect(() => readPlacementRecord(cluster(), dir)).toThrow(new RegExp(`cannot read the placement file ${dir}/placement.test.yaml .*npm run placement -- sync`));
  });

  test("every problem, against the stack's nodes, in one error naming the file", () => {
    fs.writeFileSync(path.join(dir, "placement.test.yaml"), "pins: { bob: n9 }\nusers:\n  alice: { home: n7, bytes: 1 }\n  'a;rm': { home: n1, bytes: 1 }\n");
    let message = "";
    try {
      readPlacementRecord(cluster(), dir);
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(new RegExp(`^the placement file ${dir}/placement.test.yaml has 3 problems:`));
    expect(message).toMatch(/users\.alice\.home: n7 is not a node of the stack \(nodes: n1, n2, n3\)/);
    expect(message).toMatch(/pins\.bob: n9 is not a node/);
    expect(message).toMatch(/user "a;rm"/);
  });
});

describe("the lab's placement file", () => {
  test("the generated lab stack names placement.lab.yaml, and the schema accepts it", () => {
    const config = labStackConfig([{ name: "lab1", index: 1, hostKeys: [fakeHostKey("lab1")] }]);
    expect(config["rplan:placement"]).toBe("placement.lab.yaml");
    expect(clusterConfigFromText(getter(config, "rplan:")).placementFile).toBe("placement.lab.yaml");
  });

  test("is created empty when missing, and never overwritten — except for a lab made from scratch, whose directory is empty", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rplan-lab-placement-"));
    try {
      expect(ensureLabPlacement(dir)).toBe(true);
      const file = path.join(dir, "placement.lab.yaml");
      expect(parsePlacementRecord(fs.readFileSync(file, "utf8"), "placement.lab.yaml")).toEqual(emptyPlacementRecord());
      fs.writeFileSync(file, "users: { alice: { home: lab1, bytes: 3 } }\n");
      expect(ensureLabPlacement(dir)).toBe(false);
      expect(fs.readFileSync(file, "utf8")).toBe("users: { alice: { home: lab1, bytes: 3 } }\n");
      expect(ensureLabPlacement(dir, true)).toBe(true);
      expect(parsePlacementRecord(fs.readFileSync(file, "utf8"), "placement.lab.yaml")).toEqual(emptyPlacementRecord());
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
