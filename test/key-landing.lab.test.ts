/**
 * Keys land only on the encrypted filesystem, through the real program and the stack runner on the
 * lab (issue #10). As an attacker with root on a node would: a key directory inside the mount is
 * replaced by a symlink — to /tmp (tmpfs) or to the mount's parent /srv (the plain disk) — and a
 * write of that key is then asked for: the tinc NodeKey (vpnKeyGeneration bumped), a ServiceTlsKey
 * (tlsKeyGeneration bumped) and the slapd replication secret (HostFiles, after a refresh finds it
 * gone). `up` refuses naming node, path and target; nothing is written off the encrypted filesystem;
 * tincd keeps its key. A refresh shows a key planted off the mount as drift (the key is replaced);
 * a locked mount stops a NodeKey rotation.
 *
 * Needs root and the lab (3 nodes). Run it alone: `RPLAN_LAB_KEEP=1 npx jest --runInBand test/key-landing.lab.test.ts`.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parseDocument } from "yaml";
import { labSshTarget, labStackConfigPath, lockNode, unlockNode } from "../lab";
import { SSH_KEY as LAB_SSH_KEY } from "../lab/state";
import { closeAllSsh, sshConnection } from "../transports/ssh";
import { runStack, RunResult } from "../runner";
import { labWithExactly } from "./support/lab";
import { LAB_STACK_FILES } from "../lab/stack-files";

const maybe = process.getuid?.() === 0 ? describe : describe.skip;
const KEYS = "/srv/crypt/keys";
const FILES: Record<string, string[]> = { tinc: ["rsa_key.priv", "rsa_key.pub"], postfix: ["tls.key", "tls.crt"], dovecot: ["tls.key", "tls.crt"], slapd: ["replicator.secret"] };

maybe("keys land only on the encrypted filesystem (lab, stack runner)", () => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "rplan-landing-"));
  const stateFile = path.join(work, "state.json");
  const env = { RPLAN_SSH_KEY: LAB_SSH_KEY };
  const run = (op: "preview" | "up" | "refresh", configFile = labStackConfigPath(), skipPreview = false): Promise<RunResult> => runStack({ op, skipPreview, stack: "lab", stackFiles: LAB_STACK_FILES, stateFile, configFile, env });
  const failure = (p: Promise<unknown>) =>
    p.then(
      () => "",
      (e: Error & { printed?: string }) => `${e.message}\n${e.printed ?? ""}`,
    );
  const changes = (r: RunResult) => r.steps.filter((s) => s.op !== "same").map((s) => `${s.op} ${s.name}`).sort();
  const sh = async (node: string, script: string) => (await (await sshConnection(labSshTarget(node))).exec(script)).stdout;
  const config = (node: number, edit: { vpn?: number; tls?: number }): string => {
    const doc = parseDocument(fs.readFileSync(labStackConfigPath(), "utf8"));
    const n = (doc.getIn(["config", "rplan:nodes"]) as any).items[node];
    if (edit.vpn) n.set("vpnKeyGeneration", edit.vpn);
    if (edit.tls) n.set("tlsKeyGeneration", edit.tls);
    const out = path.join(work, `cfg-${node}-${edit.vpn ?? 0}-${edit.tls ?? 0}.yaml`);
    fs.writeFileSync(out, doc.toString());
    return out;
  };
  /** Replace <keys>/<service> by a symlink to target (the real directory kept aside). */
  const plant = (node: string, service: string, target: string) => sh(node, `set -e; mv ${KEYS}/${service} ${KEYS}/.${service}.real; ln -s ${target} ${KEYS}/${service}`);
  const unplant = (node: string, service: string) => sh(node, `set -e; rm ${KEYS}/${service}; mv ${KEYS}/.${service}.real ${KEYS}/${service}`);
  /** Key files of any service found in a directory off the mount. */
  const strays = async (node: string, dir: string) => {
    const names = [...new Set(Object.values(FILES).flat())];
    return (await sh(node, `cd ${dir} && ls -A ${names.join(" ")} 2>/dev/null || true`)).split("\n").filter(Boolean);
  };

  beforeAll(async () => {
    await labWithExactly(3);
    // The suite's starting point: no test reads this up's plan, so one pass (no preview first).
    await run("up", labStackConfigPath(), true);
  }, 900_000);
  afterAll(() => closeAllSsh());

  describe.each([
    ["/tmp", "tmpfs"],
    ["/srv", "the mount's parent on the plain disk"],
  ])("a key directory replaced by a symlink to %s (%s)", (target) => {
    test("tinc: the rotation is refused, nothing lands off the mount, tincd keeps its key", async () => {
      const before = await sh("lab1", `sha256sum ${KEYS}/tinc/rsa_key.priv; systemctl show -p MainPID tinc@rplan`);
      await plant("lab1", "tinc", target);
      try {
        const msg = await failure(run("up", config(0, { vpn: 2 })));
        expect(msg).toContain(`[lab1] refusing to write keys to ${KEYS}/tinc/rsa_key.priv: ${KEYS}/tinc is a symlink to ${target}, which resolves to ${target} on `);
        expect(await strays("lab1", target)).toEqual([]);
      } finally {
        await unplant("lab1", "tinc");
      }
      expect(await sh("lab1", `sha256sum ${KEYS}/tinc/rsa_key.priv; systemctl show -p MainPID tinc@rplan`)).toBe(before);
    }, 600_000);

    test("postfix and dovecot TLS: the new keys are refused, nothing lands off the mount", async () => {
      const before = await sh("lab2", `sha256sum ${KEYS}/postfix/tls.key ${KEYS}/dovecot/tls.key`);
      await plant("lab2", "postfix", target);
      await plant("lab2", "dovecot", target);
      try {
        const msg = await failure(run("up", config(1, { tls: 2 })));
        expect(msg).toMatch(new RegExp(`\\[lab2\\] refusing to write keys to ${KEYS}/(postfix|dovecot)/tls\\.key: ${KEYS}/(postfix|dovecot) is a symlink to ${target}, which resolves to ${target} on `));
        expect(await strays("lab2", target)).toEqual([]);
      } finally {
        await unplant("lab2", "postfix");
        await unplant("lab2", "dovecot");
      }
      expect(await sh("lab2", `sha256sum ${KEYS}/postfix/tls.key ${KEYS}/dovecot/tls.key`)).toBe(before);
    }, 600_000);

    test("slapd replication secret: refresh sees it gone, up refuses to write it through the symlink", async () => {
      await plant("lab3", "slapd", target);
      try {
        await run("refresh");
        const msg = await failure(run("up"));
        expect(msg).toContain(`[lab3] refusing to write keys to ${KEYS}/slapd/replicator.secret: ${KEYS}/slapd is a symlink to ${target}`);
        expect(await strays("lab3", target)).toEqual([]);
      } finally {
        await unplant("lab3", "slapd");
      }
      // Back in place, the next refresh and up converge again.
      await run("refresh");
      await run("up");
      expect((await run("preview")).changed).toBe(false);
    }, 600_000);
  });

  test("refresh shows a key planted off the mount as drift: the key is replaced", async () => {
    await sh("lab1", `set -e; rm -rf /tmp/planted; cp -a ${KEYS}/tinc /tmp/planted`);
    await plant("lab1", "tinc", "/tmp/planted");
    try {
      await run("refresh");
      const state = JSON.parse(fs.readFileSync(stateFile, "utf8"));
      const key = JSON.stringify(state).includes('"resolved":"/tmp/planted/rsa_key.priv"');
      expect(key).toBe(true);
      expect(changes(await run("preview"))).toContain("replace mesh-lab1-key");
      expect(await failure(run("up"))).toContain(`${KEYS}/tinc is a symlink to /tmp/planted`);
    } finally {
      await unplant("lab1", "tinc");
      await sh("lab1", "rm -rf /tmp/planted");
    }
    // the key (presumed exposed) is replaced once the path leads back onto the mount
    const up = await run("up");
    expect(changes(up)).toContain("replace mesh-lab1-key");
    expect((await run("preview")).changed).toBe(false);
  }, 900_000);

  test("a locked mount stops a NodeKey rotation with the unlock message; the key is untouched", async () => {
    await lockNode("lab3");
    await closeAllSsh();
    try {
      const msg = await failure(run("up", config(2, { vpn: 2 })));
      expect(msg).toContain("encrypted mount /srv/crypt on node lab3 is locked");
      expect(msg).toContain("npm run unlock -- lab3");
    } finally {
      await unlockNode("lab3");
    }
    expect((await run("preview")).changed).toBe(false);
  }, 600_000);
});
