/**
 * The VPN flows through the stack runner, as admins run them (`npm run stack -- preview|up`):
 * mesh up, rotating one node's key (preview: that key replaced, its hosts/ file changed on every
 * peer, nothing else), and revoking a node (preview: removal on every survivor; the revoked node is
 * never contacted; the mesh check proves every survivor refuses it).
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parseDocument } from "yaml";
import { labSshTarget, labStackConfigPath } from "../../lab";
import { SSH_KEY as LAB_SSH_KEY } from "../../lab/state";
import { closeAllSsh, sshConnection } from "../../transports/ssh";
import { runStack, RunResult } from "../../runner";
import { labWithExactly } from "../support/lab";
import { acceptedLogins, controlLogin } from "../support/lab-logins";

const maybe = process.getuid?.() === 0 ? describe : describe.skip;

maybe("VPN flows through the stack runner on the lab", () => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "rplan-vpn-flows-"));
  const stateFile = path.join(work, "state.json");
  const env = { RPLAN_SSH_KEY: LAB_SSH_KEY };
  const run = (op: "preview" | "up", configFile: string): Promise<RunResult> => runStack({ op, stack: "lab", stateFile, configFile, env });
  const changes = (r: RunResult) => r.steps.filter((s) => s.op !== "same").map((s) => `${s.op} ${s.name}`).sort();
  const variant = (file: string, edit: (nodes: any) => void): string => {
    const doc = parseDocument(fs.readFileSync(labStackConfigPath(), "utf8"));
    edit(doc.getIn(["config", "rplan:nodes"]));
    const out = path.join(work, file);
    fs.writeFileSync(out, doc.toString());
    return out;
  };

  beforeAll(async () => {
    await labWithExactly(3);
    await run("up", labStackConfigPath());
  }, 600_000);
  afterAll(() => closeAllSsh());

  test("rotating lab2's key: preview shows exactly its key and its hosts/ file on every peer; up applies it", async () => {
    const rotated = variant("rotated.yaml", (nodes) => nodes.items[1].set("vpnKeyGeneration", 2));
    const expected = ["replace mesh-lab2-key", "update mesh-check", "update mesh-lab1-tinc-hosts", "update mesh-lab2-tinc-hosts", "update mesh-lab2-tinc-self", "update mesh-lab3-tinc-hosts"];
    expect(changes(await run("preview", rotated))).toEqual(expected);
    const before = (await run("preview", labStackConfigPath())).outputs.vpnFingerprints as Record<string, string>;
    const up = await run("up", rotated);
    expect(changes(up)).toEqual(expected);
    const after = up.outputs.vpnFingerprints as Record<string, string>;
    expect(after.lab2).not.toBe(before.lab2);
    expect(after.lab1).toBe(before.lab1);
    expect((await run("preview", rotated)).changed).toBe(false);
  }, 600_000);

  test("revoking lab3: removal previewed on every survivor, applied without contacting lab3, refusal verified", async () => {
    const revoked = variant("revoked.yaml", (nodes) => {
      nodes.items[1].set("vpnKeyGeneration", 2);
      nodes.items[2].set("state", "revoked");
    });
    const preview = await run("preview", revoked);
    expect(changes(preview)).toEqual([
      "delete lab3",
      "delete lab3-dovecot-config",
      "delete lab3-dovecot-tls-key",
      "delete lab3-host",
      "delete lab3-mail-daemons",
      "delete lab3-postfix-config",
      "delete lab3-postfix-tls-key",
      "delete ldap-lab3-secret",
      "delete ldap-lab3-secret-file",
      "delete ldap-lab3-slapd",
      "delete mesh-lab3-key",
      "delete mesh-lab3-tinc-hosts",
      "delete mesh-lab3-tinc-self",
      // every replication secret lab3 could have learnt is rotated in the same up
      "replace ldap-lab1-secret",
      "replace ldap-lab2-secret",
      "update ldap-entries",
      "update ldap-lab1-secret-file",
      "update ldap-lab1-slapd",
      "update ldap-lab2-secret-file",
      "update ldap-lab2-slapd",
      "update mesh-check",
      "update mesh-lab1-tinc-hosts",
      "update mesh-lab2-tinc-hosts",
    ]);
    // lab3 keeps running and keeps trying: count its sshd logins to prove the update never contacted it
    const lab3 = await sshConnection(labSshTarget("lab3"));
    const loginsBefore = await acceptedLogins(lab3);
    expect(loginsBefore).toBeGreaterThan(0); // our own connection is counted: the query sees sshd's logins
    const up = await run("up", revoked);
    expect(changes(up)).toEqual(changes(preview));
    const loginsAfter = await acceptedLogins(lab3);
    expect(loginsAfter).toBe(loginsBefore);
    await controlLogin(lab3, loginsAfter); // positive control: a login to lab3 does raise the count
    // from every survivor, lab3's VPN address is unreachable
    for (const survivor of ["lab1", "lab2"]) {
      const conn = await sshConnection(labSshTarget(survivor));
      const ping = await conn.run(["ping", "-c", "2", "-W", "1", "198.18.1.13"], { allowFailure: true });
      expect(ping.code).not.toBe(0);
    }
    expect(Object.keys(up.outputs.vpnMatrix as object).sort()).toEqual(["lab1", "lab2"]);
  }, 600_000);
});
