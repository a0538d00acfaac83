/**
 * Nodes on the lab: adding a fourth node in a new country is one config entry with a readable
 * preview; draining it is previewed and applied (the zone every active node serves, asked with kdig
 * from every node, keeps only lab4's own name and SPF; lab4 stops serving); removing its entry is
 * previewed; a locked encrypted mount stops `up` with the unlock message; `npm run unlock` (the
 * admin command, passphrase on stdin) unlocks it and `up` succeeds.
 */
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parseDocument } from "yaml";
import { ensureLab, labSshTarget, labStackConfigPath, lockNode } from "../lab";
import { secretFile } from "../lab/state";
import { KNOWN_HOSTS, SSH_KEY as LAB_SSH_KEY } from "../lab/state";
import { closeAllSsh, sshConnection } from "../transports/ssh";
import { runStack, RunResult } from "../runner";
import { labWithExactly } from "./support/lab";
import { kdigAll, serialOf, txt, zoneQueries } from "./support/dns";
import { LAB_STACK_FILES } from "../lab/stack-files";

const root = process.getuid?.() === 0;
const maybe = root ? describe : describe.skip;
const projectDir = path.resolve(__dirname, "..");

maybe("nodes on the lab", () => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "rplan-nodes-"));
  const stateFile = path.join(work, "state.json");
  const env = { RPLAN_SSH_KEY: LAB_SSH_KEY };
  const run = (op: "preview" | "up", configFile = labStackConfigPath(), skipPreview = false): Promise<RunResult> => runStack({ op, skipPreview, stack: "lab", stackFiles: LAB_STACK_FILES, stateFile, configFile, env });
  const changes = (r: RunResult, steps = r.steps) => steps.filter((s) => s.op !== "same").map((s) => `${s.op} ${s.name}`);
  /** The lab's stack config with `edit` applied to its nodes, written to `file` in the work directory. */
  const variant = (file: string, edit: (nodes: any) => void) => {
    const doc = parseDocument(fs.readFileSync(labStackConfigPath(), "utf8"));
    edit(doc.getIn(["config", "rplan:nodes"]));
    const out = path.join(work, file);
    fs.writeFileSync(out, doc.toString());
    return out;
  };
  /** lab4 draining (applied by the drain test; the tests after it keep it so). */
  const drainConfig = () => variant("drain.yaml", (nodes) => nodes.items[3].set("state", "draining"));

  beforeAll(async () => {
    await labWithExactly(3);
    // The suite's starting point: no test reads this up's plan, so one pass (no preview first).
    await run("up", labStackConfigPath(), true);
  }, 600_000);
  afterAll(() => closeAllSsh());

  test("every node has a private key directory per service inside its encrypted mount", async () => {
    const conn = await sshConnection(labSshTarget("lab1"));
    const r = await conn.exec("stat -c '%a %U %n' /srv/crypt/keys/*; findmnt -n -o FSTYPE --target /srv/crypt/keys/tinc");
    expect(r.stdout.trim().split("\n")).toEqual([
      "700 root /srv/crypt/keys/dovecot",
      "700 root /srv/crypt/keys/opendkim",
      "700 root /srv/crypt/keys/postfix",
      "700 root /srv/crypt/keys/slapd",
      "700 root /srv/crypt/keys/tinc",
      "fuse.gocryptfs",
    ]);
  });


  // The lab's mount must not fail one daemon's write while it creates a file for another user:
  // Debian 12's gocryptfs 2.3 did (slapd died with "txn_commit failed: Permission denied" within a
  // second of this load, seen in CI during moves); lab/image.ts installs 2.6.1.
  test("the encrypted mount keeps slapd writing while four other users create files in it", async () => {
    const conn = await sshConnection(labSshTarget("lab1"));
    const script = String.raw`set -u
base=$(ldapsearch -Q -Y EXTERNAL -H ldapi:/// -b "" -s base -LLL namingContexts | awk '/^namingContexts/{print $2}')
dn="cn=rplan-mount-check,$base"; d=/srv/crypt/mount-check
ldapdelete -Q -Y EXTERNAL -H ldapi:/// "$dn" 2>/dev/null; rm -rf $d  # a run that died half way
printf 'dn: %s\nobjectClass: organizationalRole\ncn: rplan-mount-check\n' "$dn" | ldapadd -Q -Y EXTERNAL -H ldapi:/// >/dev/null
mkdir -p $d && chmod 1777 $d
for u in mail nobody openldap postfix; do
  ( for i in $(seq 1 300); do setpriv --reuid=$u --regid=$(id -g $u) --clear-groups sh -c "echo x > $d/$u.$i" || echo "create $u.$i failed" >&2; done ) &
done
fails=0
for i in $(seq 1 300); do
  printf 'dn: %s\nchangetype: modify\nreplace: description\ndescription: %s\n' "$dn" "$i$(head -c 200 /dev/urandom | base64 -w0)" | ldapmodify -Q -Y EXTERNAL -H ldapi:/// >/dev/null 2>&1 || fails=$((fails+1))
done
wait
echo "created $(ls $d | wc -l)"; echo "ldap failures $fails"; echo "slapd $(systemctl is-active slapd)"
ldapdelete -Q -Y EXTERNAL -H ldapi:/// "$dn"; rm -rf $d`;
    const r = await conn.run(["bash", "-c", script], { allowFailure: true, label: "mount check" });
    expect(r.stderr).toBe("");
    expect(r.stdout.trim().split("\n")).toEqual(["created 1200", "ldap failures 0", "slapd active"]);
  }, 180_000);
  test("adding a fourth node in a new country: preview lists it, up provisions it", async () => {
    const started = Date.now();
    await ensureLab({ nodes: 4 });
    // One up: what its own preview listed (up.preview, checked before anything was applied), then what it did.
    const up = await run("up");
    const planned = changes(up, up.preview!.steps);
    expect(planned).toEqual(expect.arrayContaining(["create lab4", "create lab4-host"]));
    expect(planned.filter((c) => c.startsWith("create ") && !c.includes("lab4"))).toEqual([]);
    // what the new node causes on the existing ones: each peer learns its hosts/ file and ConnectTo
    expect(planned).toEqual(expect.arrayContaining(["update mesh-lab1-tinc-hosts", "update mesh-lab2-tinc-hosts", "update mesh-lab3-tinc-hosts"]));
    expect(planned.filter((c) => /^(delete|replace)/.test(c))).toEqual([]);
    expect(up.preview!.printed).toMatch(/"IS \(active\)"/);
    expect(changes(up)).toEqual(expect.arrayContaining(["create lab4-host"]));
    const facts = up.outputs.nodeFacts as Record<string, { mountFsType: string }>;
    expect(facts.lab4.mountFsType).toBe("fuse.gocryptfs");
    console.log(`adding lab4 (lab bring-up + preview + up): ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }, 600_000);

  test("draining lab4 is previewed, then applied: lab4 leaves NS, MX and the round-robin names and stops serving, keeps its own name and SPF", async () => {
    // One up: what its own preview listed (up.preview, checked before anything was applied), then what it did.
    const up = await run("up", drainConfig());
    const drain = changes(up, up.preview!.steps);
    expect(drain.filter((c) => !/ dns-/.test(c))).toEqual(["update lab4-host"]);
    expect(up.preview!.steps.find((s) => s.name === "lab4-host")?.diffs).toEqual(["~state"]);
    expect(up.preview!.printed).toMatch(/"IS \(draining\)"/);
    // the zone changes on every server; lab4 stops serving (its knot.conf goes, its zone resource is dropped)
    expect(drain.filter((c) => / dns-/.test(c)).sort()).toEqual(["delete dns-lab4-zone", "update dns-check", "update dns-lab1-zone", "update dns-lab2-zone", "update dns-lab3-zone", "update dns-lab4-knot-conf", "update dns-zone"]);
    expect(changes(up).sort()).toEqual([...drain].sort());
    const domain = "lab.rplan.test";
    const names = ["lab1", "lab2", "lab3", "lab4"];
    const addr = (n: string) => `198.51.100.${10 + Number(n.slice(3))}`;
    const active = ["lab1", "lab2", "lab3"];
    // Every node asks the three servers for everything, and lab4 for its SOA only (each unanswered query waits out kdig's timeout).
    const views = await Promise.all(
      names.map(async (from) => {
        const conn = await sshConnection(labSshTarget(from));
        return { from, seen: { ...(await kdigAll(conn, active.map(addr), zoneQueries(domain, names))), ...(await kdigAll(conn, [addr("lab4")], [`${domain} SOA`])) } };
      }),
    );
    for (const { from, seen } of views) {
      for (const server of active) {
        const a = seen[addr(server)];
        expect(serialOf(a[`${domain} SOA`])).toBe(up.outputs.dnsSerial);
        expect(a[`lab4.${domain} A`].records).toEqual([addr("lab4")]);
        expect(a[`${domain} MX`].records).toEqual(active.map((n) => `10 ${n}.${domain}.`));
        expect(a[`${domain} NS`].records).toEqual(active.map((n) => `${n}.${domain}.`));
        for (const name of ["", "mail.", "imap.", "smtp.", "www."]) expect(a[`${name}${domain} A`].records).toEqual(active.map(addr));
        expect(a[`${domain} TXT`].records.map(txt)).toEqual([`v=spf1 ${names.map((n) => `ip4:${addr(n)}`).join(" ")} -all`]);
      }
      expect(`${from} → lab4: ${seen[addr("lab4")][`${domain} SOA`].status}`).toBe(`${from} → lab4: no reply`);
    }
    expect((await (await sshConnection(labSshTarget("lab4"))).exec("systemctl is-enabled knot; systemctl is-active knot", { allowFailure: true })).stdout.trim().split("\n")).toEqual(["disabled", "inactive"]);
  }, 300_000);

  test("removing lab4's entry is previewed: only lab4 and what its peers know of it change", async () => {
    const remove = await run("preview", variant("removed.yaml", (nodes) => nodes.delete(3)));
    const c = changes(remove);
    expect(c).toEqual(expect.arrayContaining(["delete lab4", "delete lab4-host", "delete mesh-lab4-key", "delete ldap-lab4-slapd", "delete lab4-postfix-tls-key"]));
    expect(c.filter((x) => x.startsWith("delete") && !x.includes("lab4"))).toEqual([]);
    expect(c.filter((x) => /^(create|replace)/.test(x))).toEqual([]);
    expect(c).toEqual(expect.arrayContaining(["update mesh-lab1-tinc-hosts", "update mesh-lab2-tinc-hosts", "update mesh-lab3-tinc-hosts", "update mesh-check"]));
    // the preview changed nothing: lab4 is still in the mesh, draining
    expect((await run("preview", drainConfig())).changed).toBe(false);
  }, 300_000);

  test("a locked mount stops up with the unlock message; npm run unlock fixes it", async () => {
    await lockNode("lab2");
    await closeAllSsh();
    // Locked, as after a reboot: postfix, whose queue is in the mount, does not start (the other
    // MXes take the mail) and makes no queue on the plain disk beneath the mount point.
    const locked = await (await sshConnection(labSshTarget("lab2"))).exec(
      "systemctl start postfix@-.service 2>/dev/null; systemctl is-active postfix@-.service; test -e /srv/crypt/postfix && echo queue-on-plain-disk || echo no-queue-on-plain-disk; nc -z -w 2 127.0.0.1 25 && echo port-25-open || echo port-25-closed",
      { allowFailure: true },
    );
    expect(locked.stdout.trim().split("\n")).toEqual([expect.stringMatching(/^(failed|inactive)$/), "no-queue-on-plain-disk", "port-25-closed"]);
    // lab4 stays as the drain test left it, draining: only lab2's packages change
    const changed = variant("Pulumi.lab.yaml", (nodes) => {
      nodes.items[1].set("packages", ["curl"]);
      nodes.items[3].set("state", "draining");
    });

    const failed = await run("up", changed).then(
      () => undefined,
      (e: Error & { printed?: string }) => e,
    );
    expect(failed).toBeDefined();
    expect(`${failed!.message}\n${failed!.printed ?? ""}`).toContain("encrypted mount /srv/crypt on node lab2 is locked");
    expect(`${failed!.message}\n${failed!.printed ?? ""}`).toContain("npm run unlock -- lab2");

    // The admin command, as an admin runs it; the passphrase goes in on stdin, never argv.
    const unlock = spawnSync(process.execPath, ["-r", "ts-node/register/transpile-only", "cli/unlock.ts", "lab2", "--stack", "lab"], {
      cwd: projectDir,
      input: fs.readFileSync(secretFile("lab2")),
      env: { ...process.env, RPLAN_SSH_KEY: LAB_SSH_KEY },
    });
    expect(unlock.stderr.toString()).toBe("");
    expect(unlock.stdout.toString()).toContain("lab2: /srv/crypt is unlocked");

    // unlocking restarted what reads from the mount: the VPN, the directory and the mail daemons
    const lab2 = await sshConnection(labSshTarget("lab2"));
    expect((await lab2.exec("systemctl is-active tinc@rplan slapd postfix dovecot", { allowFailure: true })).stdout.trim().split("\n")).toEqual(["active", "active", "active", "active"]);
    // the positive control of the locked checks above: the same probes now see postfix and its queue
    const unlocked = await lab2.exec("systemctl is-active postfix@-.service; test -e /srv/crypt/postfix && echo queue-in-mount || echo no-queue; nc -z -w 2 127.0.0.1 25 && echo port-25-open || echo port-25-closed", { allowFailure: true });
    expect(unlocked.stdout.trim().split("\n")).toEqual(["active", "queue-in-mount", "port-25-open"]);
    expect((await lab2.exec("ldapsearch -Q -LLL -Y EXTERNAL -H ldapi:/// -s base -b dc=lab,dc=rplan,dc=test dn")).stdout).toContain("dn: dc=lab,dc=rplan,dc=test");

    const up = await run("up", changed);
    expect(changes(up)).toEqual(["update lab2-host"]);
    expect((await run("preview", changed)).changed).toBe(false);
  }, 600_000);

  test("a wrong passphrase is refused and changes nothing", async () => {
    await lockNode("lab3");
    await closeAllSsh();
    const r = spawnSync(process.execPath, ["-r", "ts-node/register/transpile-only", "cli/unlock.ts", "lab3", "--stack", "lab"], {
      cwd: projectDir,
      input: "not the passphrase\n",
      env: { ...process.env, RPLAN_SSH_KEY: LAB_SSH_KEY },
    });
    expect(r.status).toBe(1);
    expect(r.stderr.toString()).toContain("wrong passphrase for /srv/crypt");
    const mounted = execFileSync("ssh", ["-i", LAB_SSH_KEY, "-o", `UserKnownHostsFile=${KNOWN_HOSTS}`, "-o", "StrictHostKeyChecking=yes", "root@198.51.100.13", "findmnt -n /srv/crypt || echo locked"]).toString();
    expect(mounted.trim()).toBe("locked");
    const { unlockNode } = await import("../lab");
    await unlockNode("lab3");
  }, 300_000);
});
