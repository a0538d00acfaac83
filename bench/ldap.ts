/**
 * The directory on the lab (3 nodes, applied through the stack runner): replication lag over many
 * writes, and master switches under a writer every 50 ms (duration, write outage, writes lost).
 * Reads and writes go over SSH channels to each node's ldapi socket, as the providers do.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import type { Client } from "ldapts";
import { parseDocument } from "yaml";
import { ensureLab, labDown, labSshTarget, labStackConfigPath, readLabState } from "../lab";
import { SSH_KEY as LAB_SSH_KEY } from "../lab/state";
import { userDn } from "../planning/ldap";
import { writeUser } from "../ops/ldap-users";
import { ldapClient, readEntry, sleep, sshStreamOpener } from "../transports/ldap";
import { sshConnection } from "../transports/ssh";
import { measureLag } from "./ldap-lag";
import { startWriter } from "./ldap-writer";
import { runStack } from "../runner";
import { LAB_STACK_FILES } from "../lab/stack-files";

const SUFFIX = "dc=lab,dc=rplan,dc=test";

export interface LdapBench {
  readonly writes: number;
  readonly lag: { p50: number; p99: number; max: number };
  /** One read of an entry on a replica through its SSH channel: the floor of the lag measurement. */
  readonly readFloorMs: number;
  readonly switches: Array<{ from: string; to: string; upSeconds: number; promotedMs: number; longestGapMs: number; acked: number; refused: number; lost: number }>;
}

async function rootClient(node: string): Promise<Client> {
  const c = ldapClient(sshStreamOpener(await sshConnection(labSshTarget(node)), { socketPath: "/var/run/slapd/ldapi" }), { timeoutMs: 10_000 });
  await c.bind("EXTERNAL");
  return c;
}

export async function benchLdap(writes: number): Promise<LdapBench> {
  const state = readLabState();
  if (state && state.nodes.length !== 3) await labDown();
  await ensureLab({ nodes: 3 });
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "rplan-bench-ldap-"));
  const stateFile = path.join(work, "state.json");
  const configFor = (master: string) => {
    const doc = parseDocument(fs.readFileSync(labStackConfigPath(), "utf8"));
    doc.setIn(["config", "rplan:ldap", "master"], master);
    const f = path.join(work, `${master}.yaml`);
    fs.writeFileSync(f, doc.toString());
    return f;
  };
  const up = async (master: string) => {
    // A failed run throws StackRunError with what was printed.
    return runStack({ op: "up", stack: "lab", stackFiles: LAB_STACK_FILES, stateFile, configFile: configFor(master), env: { RPLAN_SSH_KEY: LAB_SSH_KEY } });
  };
  await up("lab1");

  const clients = { lab1: await rootClient("lab1"), lab2: await rootClient("lab2"), lab3: await rootClient("lab3") };
  const master = { node: "lab1", ssh: { host: "", port: 22, user: "root", hostKeys: [] } };
  const uid = (i: number) => `lag${i}`;
  const lag = await measureLag({
    writes,
    write: async (i) => void (await writeUser(clients.lab1, { uid: uid(i), mail: `${uid(i)}@example.org`, home: "lab1", suffix: SUFFIX, master })),
    dnOf: (i) => userDn(SUFFIX, uid(i)),
    replicas: [clients.lab2, clients.lab3],
  });
  const t = process.hrtime.bigint();
  for (let i = 0; i < 100; i++) await readEntry(clients.lab2, userDn(SUFFIX, uid(i)), ["uid"]);
  const readFloorMs = Number(process.hrtime.bigint() - t) / 1e6 / 100;

  const switches: LdapBench["switches"] = [];
  for (const [from, to] of [["lab1", "lab2"], ["lab2", "lab1"]]) {
    const writer = startWriter({ clients: { lab1: clients.lab1, lab2: clients.lab2 }, first: from, suffix: SUFFIX, intervalMs: 50, prefix: `${from}to${to}-` });
    await sleep(1000);
    const t0 = Date.now();
    const r = await up(to);
    const upSeconds = (Date.now() - t0) / 1000;
    await sleep(1000);
    const w = await writer.stop();
    await sleep(2000); // replication of the last writes
    let lost = 0;
    for (const c of Object.values(clients)) for (const u of w.acked) if (!(await readEntry(c, userDn(SUFFIX, u), ["uid"]))) lost++;
    const report = r.outputs.ldapLastSwitch as { promotedMs: number };
    switches.push({ from, to, upSeconds, promotedMs: report.promotedMs, longestGapMs: w.longestGapMs, acked: w.acked.length, refused: w.refused.length, lost });
  }
  for (const c of Object.values(clients)) await c.unbind().catch(() => undefined);
  return { writes: lag.writes, lag, readFloorMs, switches };
}
