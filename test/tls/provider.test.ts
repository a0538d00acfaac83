/**
 * ServiceTlsKey: check/diff (pure, no I/O, unknowns in preview), and the very scripts the provider
 * runs on a node, run here with `sh` and the real `openssl` against a local temporary directory.
 */
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parseTlsCertificate, planServiceTls } from "../../planning/service-tls";
import * as tls from "../../providers/impl/service-tls-key";
import { withoutLanded } from "../../planning/key-landing";
import { fakeHostKey } from "../support/config-fixture";
import { FAKE_MOUNT, fakeMountDir, onFakeMount } from "../support/fake-mount";

const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
const ssh = { host: "198.51.100.11", port: 22, user: "root", hostKeys: [fakeHostKey("n1")] };
const mount = { kind: "gocryptfs" as const, path: "/srv/crypt", cipherDir: "/srv/.crypt-cipher" };
const [plan] = planServiceTls({ name: "n1", publicAddress: "198.51.100.11" }, { postfix: "/srv/crypt/keys/postfix", dovecot: "/srv/crypt/keys/dovecot" }, "example.org");
const key: tls.ServiceTlsKeyInputs = { node: "n1", ssh, encryptedMount: mount, ...plan, subject: { ...plan.subject, dnsNames: [...plan.subject.dnsNames], ipAddresses: [...plan.subject.ipAddresses] } };
const outs = { ...key, certificate: "PEM", fingerprint: "AB:CD", notAfter: "2030-01-01T00:00:00.000Z", __provider: "old code" };

describe("ServiceTlsKey check/diff", () => {
  test("the planned inputs pass", async () => {
    expect(await tls.check(undefined, key)).toEqual({ inputs: key });
  });

  test("a new generation, subject or key type replaces the key; a new SSH endpoint does not; provider code alone changes nothing", async () => {
    expect(await tls.diff("id", outs, { ...key, generation: 2 })).toEqual({ changes: true, replaces: ["generation"], deleteBeforeReplace: false });
    expect((await tls.diff("id", outs, { ...key, subject: { ...key.subject, commonName: "n1.example.net" } })).replaces).toEqual(["subject"]);
    expect((await tls.diff("id", outs, { ...key, algorithm: "ec-p256" })).replaces).toEqual(["algorithm"]);
    expect(await tls.diff("id", outs, { ...key, ssh: { ...ssh, port: 2222 } })).toEqual({ changes: true, replaces: [], deleteBeforeReplace: false });
    expect(await tls.diff("id", outs, { ...key, __provider: "new code" } as any)).toEqual({ changes: false, replaces: [], deleteBeforeReplace: false });
  });

  test("unknowns in preview pass check and count as a replacement", async () => {
    const news = { ...key, generation: UNKNOWN as any, privateKeyPath: UNKNOWN, subject: { ...key.subject, commonName: UNKNOWN }, encryptedMount: UNKNOWN as any };
    expect(await tls.check(undefined, news)).toEqual({ inputs: news });
    expect((await tls.diff("id", outs, { ...key, generation: UNKNOWN as any })).replaces).toEqual(["generation"]);
  });

  test("generations only go up", async () => {
    const r = await tls.check({ ...key, generation: 3 }, { ...key, generation: 2 });
    expect(r.failures).toEqual([{ property: "generation", reason: expect.stringMatching(/tlsKeyGeneration of n1 went down from 3 to 2 \(postfix\): generations only go up .*set it to 4/) }]);
    expect((await tls.check({ ...key, generation: 3 }, { ...key, generation: 4 })).failures).toBeUndefined();
  });

  test("the key, certificate and key directory must be inside the encrypted mount", async () => {
    for (const [prop, p] of [
      ["privateKeyPath", "/etc/ssl/private/ssl-cert-snakeoil.key"],
      ["privateKeyPath", "/srv/crypt/../etc/key"],
      ["certPath", "/srv/cryptx/keys/postfix/tls.crt"],
      ["keyDir", "/srv/crypt"],
      ["keyDir", "relative/keys"],
    ]) {
      const r = await tls.check(undefined, { ...key, [prop]: p });
      expect(r.failures?.map((f) => f.property)).toEqual([prop]);
    }
  });

  test("every input is required: a missing path is never silently skipped", async () => {
    const { keyDir: _k, certPath: _c, ...partial } = key;
    const r = await tls.check(undefined, partial as tls.ServiceTlsKeyInputs);
    expect(r.failures).toEqual([
      { property: "keyDir", reason: "keyDir is required" },
      { property: "certPath", reason: "certPath is required" },
    ]);
  });

  test("bad key types, validity, subject and generation are all reported at once", async () => {
    const r = await tls.check(undefined, { ...key, algorithm: "dsa-1024" as any, validityDays: 0, generation: 0, subject: { commonName: "bad name", dnsNames: [], ipAddresses: [] } });
    expect(r.failures?.map((f) => f.property)).toEqual(["generation", "algorithm", "validityDays", "subject", "subject"]);
  });
});

describe("the scripts the provider runs on the node (run locally with sh and openssl, below a fake mount root)", () => {
  let root: string;
  const inDir = (dir: string) => ({ ...key, encryptedMount: FAKE_MOUNT, keyDir: dir, privateKeyPath: `${dir}/tls.key`, certPath: `${dir}/tls.crt` });
  /** stdout without the `landed` lines the scripts print first. */
  const run = (argv: string[]) => {
    const r = spawnSync(argv[0], onFakeMount(argv).slice(1), { encoding: "utf8" });
    return { ...r, stdout: withoutLanded(r.stdout) };
  };
  beforeAll(() => {
    root = fakeMountDir("rplan-tls-gen-");
  });
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

  test.each(["rsa-3072", "ec-p256"] as const)("%s: a 0600 key and the certificate that goes with it; only the certificate is printed", (algorithm) => {
    const i = { ...inDir(path.join(root, algorithm, "keys", "svc")), algorithm };
    const r = run(tls.generateArgv(i));
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout).not.toMatch(/PRIVATE KEY/);
    const cert = parseTlsCertificate("n1", r.stdout, "n1.example.org");
    expect(cert.pem).toBe(fs.readFileSync(i.certPath, "utf8"));
    expect((fs.statSync(i.privateKeyPath).mode & 0o777).toString(8)).toBe("600");
    expect((fs.statSync(i.keyDir).mode & 0o777).toString(8)).toBe("700");
    expect(fs.readdirSync(i.keyDir).sort()).toEqual(["tls.crt", "tls.key"]); // no scratch left behind
    const text = execFileSync("openssl", ["x509", "-in", i.certPath, "-noout", "-text"]).toString();
    expect(text).toMatch(/Subject: CN ?= ?n1\.example\.org/);
    expect(text).toMatch(/DNS:n1\.example\.org, IP Address:198\.51\.100\.11/);
    expect(text).toMatch(/CA:FALSE/);
    expect(text).toMatch(/TLS Web Server Authentication/);
    expect(text).toMatch(algorithm === "rsa-3072" ? /Public-Key: \(3072 bit\)/ : /NIST CURVE: P-256/);
    // the key belongs to the certificate
    const kp = execFileSync("openssl", ["pkey", "-in", i.privateKeyPath, "-pubout"]).toString();
    expect(execFileSync("openssl", ["x509", "-in", i.certPath, "-noout", "-pubkey"]).toString()).toBe(kp);
    // and the read script gives the same certificate back
    const back = run(tls.readArgv(i));
    expect(back.status).toBe(0);
    expect(parseTlsCertificate("n1", back.stdout).fingerprint).toBe(cert.fingerprint);
  });

  test("rotation: a fresh key renamed over the old one, whose content is overwritten (shred)", () => {
    const i = { ...inDir(path.join(root, "rotate")), algorithm: "ec-p256" as const };
    expect(run(tls.generateArgv(i)).status).toBe(0);
    const oldKey = fs.readFileSync(i.privateKeyPath);
    const oldCert = fs.readFileSync(i.certPath, "utf8");
    // a second name for the old key's inode, to look at its content after the rotation
    fs.linkSync(i.privateKeyPath, path.join(root, "rotate-old-key-link"));
    const r = run(tls.generateArgv(i));
    expect(r.status).toBe(0);
    expect(fs.readFileSync(i.privateKeyPath).equals(oldKey)).toBe(false);
    expect(fs.readFileSync(i.certPath, "utf8")).not.toBe(oldCert);
    const left = fs.readFileSync(path.join(root, "rotate-old-key-link"));
    expect(left.includes(oldKey.subarray(40, 80))).toBe(false);
    expect(fs.readdirSync(i.keyDir).sort()).toEqual(["tls.crt", "tls.key"]);
  });

  test("the read script: missing pair 3, one half missing or a mismatched pair 5, a loose key mode 6", () => {
    const a = { ...inDir(path.join(root, "read-a")), algorithm: "ec-p256" as const };
    const b = { ...inDir(path.join(root, "read-b")), algorithm: "ec-p256" as const };
    expect(run(tls.readArgv(a)).status).toBe(3);
    expect(run(tls.generateArgv(a)).status).toBe(0);
    expect(run(tls.generateArgv(b)).status).toBe(0);
    fs.copyFileSync(b.certPath, a.certPath);
    const mismatch = run(tls.readArgv(a));
    expect([mismatch.status, mismatch.stdout, mismatch.stderr.trim()]).toEqual([5, "", `the private key ${a.privateKeyPath} does not belong to the certificate ${a.certPath}`]);
    fs.chmodSync(b.privateKeyPath, 0o644);
    expect(run(tls.readArgv(b)).stderr.trim()).toBe(`the private key ${b.privateKeyPath} has mode 644, not 600`);
    fs.rmSync(b.certPath);
    expect(run(tls.readArgv(b)).status).toBe(5);
  });

  test("a key directory that is a symlink off the mount is refused: nothing is generated there", () => {
    const off = fs.mkdtempSync(path.join(os.tmpdir(), "rplan-tls-off-"));
    fs.mkdirSync(path.join(root, "sym"));
    fs.symlinkSync(off, path.join(root, "sym", "svc"));
    const i = { ...inDir(path.join(root, "sym", "svc")), algorithm: "ec-p256" as const };
    const r = run(tls.generateArgv(i));
    expect(r.status).toBe(65);
    expect(r.stderr).toContain(`[n1] refusing to write keys to ${i.privateKeyPath}: ${i.keyDir} is a symlink to ${off}`);
    expect(fs.readdirSync(off)).toEqual([]);
    fs.rmSync(off, { recursive: true, force: true });
  });

  test("a failing openssl leaves the old pair in place and says why", () => {
    const i = { ...inDir(path.join(root, "fail")), algorithm: "ec-p256" as const };
    expect(run(tls.generateArgv(i)).status).toBe(0);
    const before = fs.readFileSync(i.privateKeyPath);
    const r = run(tls.generateArgv({ ...i, validityDays: "x" as any }));
    expect(r.status).not.toBe(0);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(/Can.t parse "x" as a number/);
    expect(fs.readFileSync(i.privateKeyPath).equals(before)).toBe(true);
    expect(fs.readdirSync(i.keyDir).sort()).toEqual(["tls.crt", "tls.key"]);
  });
});
