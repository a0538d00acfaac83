/**
 * The mail daemons' TLS keys on the lab, checked with real clients: after `up`, every node's
 * postfix (SMTP STARTTLS, port 25) and dovecot (IMAPS, port 993) present the certificate whose
 * SHA-256 fingerprint the stack reports (`tlsFingerprints`), also after the daemons restart (they
 * can open keys on the node's gocryptfs mount); the keys are 0600 root files inside the encrypted
 * mount, postfix and dovecot are configured with them, and no private key lies under /etc except
 * Debian's snakeoil key (which the daemons no longer reference) and the SSH host keys. Each
 * daemon's configuration has one owner (`<node>-postfix-config`, `<node>-dovecot-config`): a hand
 * edit of main.cf (`postconf -e`) shows as drift in a refresh and the next `up` writes it back.
 * Rotating one node's TLS keys (`tlsKeyGeneration`) previews as exactly its two keys replaced and
 * its two daemon configs updated, and the daemons then serve the new certificates.
 *
 * Needs root and the lab (3 nodes; a lab with another node count is taken down and brought up
 * again). Run it alone: `sudo RPLAN_LAB_KEEP=1 npx jest --runInBand test/tls.lab.test.ts`.
 * The TLS clients (`openssl s_client`) run on this machine, against the nodes' lab addresses
 * (routed over the lab bridge; labSshTarget refuses an address that is not).
 */
import { spawnSync } from "child_process";
import { X509Certificate } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parseDocument } from "yaml";
import { labSshTarget, labStackConfigPath } from "../lab";
import { LAB_DOMAIN } from "../lab/stack-config";
import { SSH_KEY as LAB_SSH_KEY } from "../lab/state";
import { closeAllSsh, sshConnection } from "../transports/ssh";
import { runStack, RunResult } from "../runner";
import { labWithExactly } from "./support/lab";
import { LAB_STACK_FILES } from "../lab/stack-files";

const root = process.getuid?.() === 0;
const maybe = root ? describe : describe.skip;
const NODES = ["lab1", "lab2", "lab3"];
type Fingerprints = Record<string, { postfix: string; dovecot: string }>;

/** The certificate a TLS server presents (SMTP with STARTTLS, or TLS from the first byte), by a real client. */
function servedCertificate(host: string, port: number, starttls?: "smtp"): X509Certificate {
  const r = spawnSync("openssl", ["s_client", "-connect", `${host}:${port}`, ...(starttls ? ["-starttls", starttls] : [])], { input: "", encoding: "utf8", timeout: 30_000 });
  const pem = /-----BEGIN CERTIFICATE-----\n[\s\S]+?\n-----END CERTIFICATE-----/.exec(r.stdout ?? "")?.[0];
  if (!pem) throw new Error(`no certificate from ${host}:${port}${starttls ? ` (STARTTLS ${starttls})` : ""}: exit ${r.status}\n${(r.stderr ?? "").slice(-800)}`);
  return new X509Certificate(pem);
}

maybe("mail daemons' TLS keys on the lab", () => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "rplan-tls-"));
  const stateFile = path.join(work, "state.json");
  const env = { RPLAN_SSH_KEY: LAB_SSH_KEY };
  const run = (op: "preview" | "up" | "refresh", configFile = labStackConfigPath(), skipPreview = false): Promise<RunResult> => runStack({ op, skipPreview, stack: "lab", stackFiles: LAB_STACK_FILES, stateFile, configFile, env });
  const changes = (r: RunResult) => r.steps.filter((s) => s.op !== "same").map((s) => `${s.op} ${s.name}`).sort();
  const host = (node: string) => labSshTarget(node).host;
  let fingerprints: Fingerprints;

  beforeAll(async () => {
    await labWithExactly(3);
    // The suite's starting point: no test reads this up's plan, so one pass (no preview first).
    fingerprints = (await run("up", labStackConfigPath(), true)).outputs.tlsFingerprints as Fingerprints;
  }, 900_000);
  afterAll(() => closeAllSsh());

  test("every node serves, on SMTP STARTTLS and IMAPS, the certificate whose fingerprint the stack reports", () => {
    expect(Object.keys(fingerprints).sort()).toEqual(NODES);
    for (const node of NODES) {
      const smtp = servedCertificate(host(node), 25, "smtp");
      const imaps = servedCertificate(host(node), 993);
      expect([node, "postfix", smtp.fingerprint256]).toEqual([node, "postfix", fingerprints[node].postfix]);
      expect([node, "dovecot", imaps.fingerprint256]).toEqual([node, "dovecot", fingerprints[node].dovecot]);
      expect(smtp.subject).toBe(`CN=${node}.${LAB_DOMAIN}`);
      expect(imaps.subject).toBe(`CN=${node}.${LAB_DOMAIN}`);
      expect(imaps.publicKey.asymmetricKeyType).toBe("ec");
      expect(smtp.publicKey.asymmetricKeyType).toBe("rsa");
    }
    // six distinct keys: nothing shared between nodes or services
    expect(new Set(NODES.flatMap((n) => [fingerprints[n].postfix, fingerprints[n].dovecot])).size).toBe(6);
  });

  test("the keys are 0600 root files inside the encrypted mount, and the daemons are configured with them", async () => {
    for (const node of NODES) {
      const conn = await sshConnection(labSshTarget(node));
      const keys = await conn.exec(
        "stat -c '%a %U %n' /srv/crypt/keys/postfix/tls.key /srv/crypt/keys/dovecot/tls.key /srv/crypt/keys/dovecot/doveadm.secret; " +
          "findmnt -n -o FSTYPE --target /srv/crypt/keys/postfix/tls.key; findmnt -n -o FSTYPE --target /srv/crypt/keys/dovecot/tls.key; " +
          "ls -A /srv/crypt/keys/postfix /srv/crypt/keys/dovecot",
      );
      expect(keys.stdout.trim().split("\n")).toEqual([
        "600 root /srv/crypt/keys/postfix/tls.key",
        "600 root /srv/crypt/keys/dovecot/tls.key",
        // the move channel's doveadm password (planning/mail/move-channel.ts) lives beside dovecot's key
        "600 root /srv/crypt/keys/dovecot/doveadm.secret",
        "fuse.gocryptfs",
        "fuse.gocryptfs",
        "/srv/crypt/keys/dovecot:",
        "doveadm.secret",
        "tls.crt",
        "tls.key",
        "",
        "/srv/crypt/keys/postfix:",
        "tls.crt",
        "tls.key",
      ]);
      const postconf = await conn.exec("postconf -h smtpd_tls_cert_file smtpd_tls_key_file smtpd_tls_security_level");
      expect(postconf.stdout.trim().split("\n")).toEqual(["/srv/crypt/keys/postfix/tls.crt", "/srv/crypt/keys/postfix/tls.key", "may"]);
      // doveconf hides ssl_key unless -P; if -P ever printed the key's content instead of its path,
      // only a marker leaves the node.
      const dovecot = await conn.exec(
        'doveconf -h ssl_cert; doveconf -h ssl; v=$(doveconf -P -h ssl_key 2>&1); case "$v" in "<"*) printf "%s\\n" "$v" ;; *PRIVATE*) echo "(key content)" ;; *) echo "(other)" ;; esac',
      );
      expect(dovecot.stdout.trim().split("\n")).toEqual(["</srv/crypt/keys/dovecot/tls.crt", "required", "</srv/crypt/keys/dovecot/tls.key"]);
      // the certificates in the mount are the ones the stack reports
      const files = await conn.exec("for s in postfix dovecot; do openssl x509 -in /srv/crypt/keys/$s/tls.crt -noout -fingerprint -sha256 | cut -d= -f2; done");
      expect(files.stdout.trim().split("\n")).toEqual([fingerprints[node].postfix, fingerprints[node].dovecot]);
    }
  });

  test("no private key under /etc but Debian's snakeoil key (referenced by no daemon) and the SSH host keys", async () => {
    for (const node of NODES) {
      const conn = await sshConnection(labSshTarget(node));
      expect((await conn.exec("ls -A /etc/ssl/private")).stdout.trim().split("\n")).toEqual(["ssl-cert-snakeoil.key"]);
      const withKeys = (await conn.exec("grep -rlE -- '-----BEGIN ([A-Z]+ )?PRIVATE KEY-----' /etc 2>/dev/null | sort || true")).stdout.trim().split("\n").filter(Boolean);
      expect(withKeys.filter((f) => f !== "/etc/ssl/private/ssl-cert-snakeoil.key" && !/^\/etc\/ssh\/ssh_host_[a-z0-9]+_key$/.test(f))).toEqual([]);
      const refs = await conn.exec("postconf -h smtpd_tls_key_file smtpd_tls_cert_file smtpd_tls_chain_files; doveconf -P -h ssl_key ssl_cert 2>/dev/null | grep -c snakeoil || true");
      expect(refs.stdout).not.toContain("snakeoil");
      expect(refs.stdout.trim().split("\n").at(-1)).toBe("0");
    }
  });

  test("after a restart the daemons open their keys from the encrypted mount again", async () => {
    const conn = await sshConnection(labSshTarget("lab1"));
    await conn.exec("systemctl restart postfix dovecot && sleep 1 && systemctl is-active postfix dovecot");
    expect(servedCertificate(host("lab1"), 25, "smtp").fingerprint256).toBe(fingerprints.lab1.postfix);
    expect(servedCertificate(host("lab1"), 993).fingerprint256).toBe(fingerprints.lab1.dovecot);
  }, 120_000);

  test("a second preview shows no changes", async () => {
    expect(changes(await run("preview"))).toEqual([]);
  }, 300_000);

  test("one owner per daemon configuration: main.cf and dovecot.conf are rplan's whole files, and a hand edit is drift that the next up repairs", async () => {
    const conn = await sshConnection(labSshTarget("lab1"));
    expect((await conn.exec("head -1 /etc/postfix/main.cf; postconf -h myhostname; grep -c '^!include' /etc/dovecot/dovecot.conf || true")).stdout.trim().split("\n")).toEqual([
      expect.stringMatching(/^# in use: postfix TLS certificate SHA-256 /),
      `lab1.${LAB_DOMAIN}`,
      "0",
    ]);
    expect((await conn.exec("test -e /etc/postfix/rplan-tls.cf || test -e /etc/dovecot/conf.d/99-rplan-tls.conf; echo $?")).stdout.trim()).toBe("1");
    // a hand edit, not reloaded: nothing changes in how mail flows meanwhile
    await conn.exec("postconf -e biff=yes");
    try {
      const refresh = await run("refresh");
      const drifted = refresh.steps.filter((s) => s.op === "read" && s.diffs.length > 0).map((s) => s.name);
      expect(drifted.filter((n) => /-(postfix|dovecot)-config$/.test(n))).toEqual(["lab1-postfix-config"]);
      const up = await run("up");
      expect(changes({ ...up, steps: up.preview!.steps })).toEqual(["update lab1-postfix-config"]); // its own preview
      expect(changes(up)).toEqual(["update lab1-postfix-config"]);
      expect((await conn.exec("postconf -h biff")).stdout.trim()).toBe("no");
      expect(changes(await run("preview"))).toEqual([]);
    } finally {
      await conn.exec('[ "$(postconf -h biff)" = no ] || postconf -e biff=no');
    }
  }, 600_000);

  test("rotating lab2's TLS keys: exactly its two keys replaced and its two daemon configs updated; the daemons serve the new certificates", async () => {
    const doc = parseDocument(fs.readFileSync(labStackConfigPath(), "utf8"));
    (doc.getIn(["config", "rplan:nodes"]) as any).items[1].set("tlsKeyGeneration", 2);
    const rotated = path.join(work, "rotated.yaml");
    fs.writeFileSync(rotated, doc.toString());
    const expected = ["replace lab2-dovecot-tls-key", "replace lab2-postfix-tls-key", "update lab2-dovecot-config", "update lab2-postfix-config"];
    const up = await run("up", rotated);
    expect(changes({ ...up, steps: up.preview!.steps })).toEqual(expected); // its own preview, checked before anything was applied
    expect(changes(up)).toEqual(expected);
    const after = up.outputs.tlsFingerprints as Fingerprints;
    expect(after.lab1).toEqual(fingerprints.lab1);
    expect(after.lab3).toEqual(fingerprints.lab3);
    expect(after.lab2.postfix).not.toBe(fingerprints.lab2.postfix);
    expect(after.lab2.dovecot).not.toBe(fingerprints.lab2.dovecot);
    expect(servedCertificate(host("lab2"), 25, "smtp").fingerprint256).toBe(after.lab2.postfix);
    expect(servedCertificate(host("lab2"), 993).fingerprint256).toBe(after.lab2.dovecot);
    const conn = await sshConnection(labSshTarget("lab2"));
    expect((await conn.exec("ls -A /srv/crypt/keys/postfix /srv/crypt/keys/dovecot | grep -c tlsgen || true")).stdout.trim()).toBe("0");
    expect((await run("preview", rotated)).changed).toBe(false);
  }, 600_000);
});
