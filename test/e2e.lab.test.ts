/**
 * End to end on the lab, through the stack runner (the CLI's stand-in here):
 * lab up → up (every node serves the zone, asked with kdig from every node) → a second preview shows
 * no changes → change one node's config → preview shows exactly that diff → up (the zone's serial
 * stays) → destroy → lab down with the host's network restored.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parseDocument } from "yaml";
import { labDown, labStackConfigPath, readLabState } from "../lab";
import { labWithExactly } from "./support/lab";
import { diffSnapshots, takeSnapshot } from "../lab/network-safety";
import { SSH_KEY as LAB_SSH_KEY } from "../lab/state";
import { runStack, RunResult } from "../runner";
import { closeAllSsh, sshConnection } from "../transports/ssh";
import { labSshTarget } from "../lab";
import { kdigAll, serialOf, txt, zoneQueries } from "./support/dns";
import { LAB_STACK_FILES } from "../lab/stack-files";

const root = process.getuid?.() === 0;
const maybe = root ? describe : describe.skip;

maybe("rplan on the lab, end to end", () => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "rplan-e2e-"));
  const stateFile = path.join(work, "state.json");
  const changedConfig = path.join(work, "Pulumi.lab.yaml");
  const env = { RPLAN_SSH_KEY: LAB_SSH_KEY };
  const run = (op: "preview" | "up" | "destroy", configFile = labStackConfigPath()): Promise<RunResult> =>
    runStack({ op, stack: "lab", stackFiles: LAB_STACK_FILES, stateFile, configFile, env });
  let resourceCount = 0;
  let serialAtUp: unknown;
  const byOp = (r: RunResult, steps = r.steps) => steps.filter((s) => s.op !== "same").map((s) => `${s.op} ${s.name} ${s.diffs.join(" ")}`.trim());

  beforeAll(async () => {
    await labWithExactly(3);
  }, 600_000);

  test("up provisions every node through the dynamic-provider host", async () => {
    const r = await run("up");
    const created = byOp(r).map((s) => s.replace(/^create /, "")).sort();
    for (const n of ["lab1", "lab2", "lab3"]) {
      expect(created).toEqual(expect.arrayContaining([n, `${n}-host`, `mesh-${n}-key`, `mesh-${n}-tinc-hosts`, `mesh-${n}-tinc-self`]));
    }
    expect(created).toEqual(expect.arrayContaining(["rplan-lab", "mesh", "mesh-check"]));
    expect(byOp(r).every((s) => s.startsWith("create "))).toBe(true);
    resourceCount = created.length;
    serialAtUp = r.outputs.dnsSerial;
    const facts = r.outputs.nodeFacts as Record<string, { machineId: string; mountFsType: string }>;
    expect(Object.keys(facts).sort()).toEqual(["lab1", "lab2", "lab3"]);
    expect(new Set(Object.values(facts).map((f) => f.machineId)).size).toBe(3);
    for (const f of Object.values(facts)) expect(f.mountFsType).toBe("fuse.gocryptfs");
  }, 300_000);

  test("every node serves the zone to every node: NS, equal-priority MX, round-robin A, a name per node, SPF, DMARC", async () => {
    const domain = "lab.rplan.test";
    const nodes = ["lab1", "lab2", "lab3"];
    const addresses = ["198.51.100.11", "198.51.100.12", "198.51.100.13"];
    expect(serialAtUp).toBe(1);
    for (const from of nodes) {
      const served = await kdigAll(await sshConnection(labSshTarget(from)), addresses, zoneQueries(domain, nodes));
      for (const server of addresses) {
        const a = served[server];
        expect(`${from} → ${server}: ${a[`${domain} SOA`].status} serial ${serialOf(a[`${domain} SOA`])}`).toBe(`${from} → ${server}: NOERROR serial 1`);
        expect(a[`${domain} NS`].records).toEqual(nodes.map((n) => `${n}.${domain}.`));
        expect(a[`${domain} MX`].records).toEqual(nodes.map((n) => `10 ${n}.${domain}.`));
        for (const name of ["", "mail.", "imap.", "smtp.", "www."]) expect(a[`${name}${domain} A`].records).toEqual(addresses);
        nodes.forEach((n, i) => expect(a[`${n}.${domain} A`].records).toEqual([addresses[i]]));
        expect(a[`${domain} TXT`].records.map(txt)).toEqual([`v=spf1 ${addresses.map((x) => `ip4:${x}`).join(" ")} -all`]);
        expect(a[`_dmarc.${domain} TXT`].records.map(txt)).toEqual(["v=DMARC1; p=quarantine"]);
      }
    }
    // knot listens on the public address only: not on loopback, where Debian's stock config would
    const lo = await kdigAll(await sshConnection(labSshTarget("lab1")), ["127.0.0.1"], [`${domain} SOA`]);
    expect(lo["127.0.0.1"][`${domain} SOA`].status).toBe("no reply");
    await closeAllSsh();
  }, 120_000);

  test("a second preview shows no changes", async () => {
    const r = await run("preview");
    expect(r.changed).toBe(false);
    expect(byOp(r)).toEqual([]);
  }, 300_000);

  test("changing one node's config previews exactly that diff, then applies it", async () => {
    const doc = parseDocument(fs.readFileSync(labStackConfigPath(), "utf8"));
    const nodes = doc.getIn(["config", "rplan:nodes"]) as any;
    nodes.items[1].set("packages", ["curl"]);
    fs.writeFileSync(changedConfig, doc.toString());

    const preview = await run("preview", changedConfig);
    expect(byOp(preview)).toEqual(["update lab2-host ~packages"]);
    expect(preview.printed).toMatch(/\+\s+"curl"/);

    const up = await run("up", changedConfig);
    expect(byOp(up)).toEqual(["update lab2-host ~packages"]);
    // nothing the zone is made of changed: the serial stays, here and on the servers
    expect(up.outputs.dnsSerial).toBe(1);
    const soa = await kdigAll(await sshConnection(labSshTarget("lab2")), ["198.51.100.11", "198.51.100.12", "198.51.100.13"], ["lab.rplan.test SOA"]);
    for (const a of Object.values(soa)) expect(serialOf(a["lab.rplan.test SOA"])).toBe(1);
    await closeAllSsh();
    expect((await run("preview", changedConfig)).changed).toBe(false);
  }, 600_000);

  test("destroy removes every resource from the state", async () => {
    const r = await run("destroy", changedConfig);
    expect(byOp(r).filter((s) => !s.startsWith("delete"))).toEqual([]);
    expect(byOp(r)).toHaveLength(resourceCount);
    const state = JSON.parse(fs.readFileSync(stateFile, "utf8"));
    expect(state.resources).toEqual([]);
  }, 300_000);

  test("lab down restores the host's routes, addresses and namespaces", async () => {
    const before = readLabState()!.network;
    await labDown();
    expect(diffSnapshots(before, await takeSnapshot())).toEqual([]);
  }, 300_000);
});
