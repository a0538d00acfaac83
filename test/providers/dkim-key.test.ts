/**
 * DkimKey: check/diff (pure, no I/O, unknowns in preview), and the very scripts the provider runs on
 * a node, run here with `sh` and the real `openssl` below a fake mount root: the key is born in the
 * key directory, only its public half comes out, a rotation overwrites the old key, a symlinked key
 * directory is refused.
 */
import { spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { planDkim } from "../../planning/mail/dkim";
import { withoutLanded } from "../../planning/key-landing";
import * as dkim from "../../providers/impl/dkim-key";
import { fakeHostKey } from "../support/config-fixture";
import { FAKE_MOUNT, fakeMountDir, onFakeMount } from "../support/fake-mount";

const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
const ssh = { host: "198.51.100.11", port: 22, user: "root", hostKeys: [fakeHostKey("n1")] };
const mount = { kind: "gocryptfs" as const, path: "/srv/crypt", cipherDir: "/srv/.crypt-cipher" };
const { domain: _domain, ...plan } = planDkim({ node: "n1", domain: "example.org", keyDir: "/srv/crypt/keys/opendkim", generation: 1 });
const key: dkim.DkimKeyInputs = { ...plan, ssh, encryptedMount: mount };
const outs = { ...key, publicKey: "MIIB", __provider: "old code" };

describe("DkimKey check/diff", () => {
  test("the planned inputs pass; the key file is the plan's, inside the mount", async () => {
    expect(await dkim.check(undefined, key)).toEqual({ inputs: key });
    expect(key.privateKeyPath).toBe("/srv/crypt/keys/opendkim/dkim.private");
    expect(key.selector).toBe("n1");
  });

  test("a new generation replaces the key; a new SSH endpoint does not; provider code alone changes nothing", async () => {
    expect(await dkim.diff("id", outs, { ...key, generation: 2 })).toEqual({ changes: true, replaces: ["generation"], deleteBeforeReplace: false });
    expect(await dkim.diff("id", outs, { ...key, ssh: { ...ssh, port: 2222 } })).toEqual({ changes: true, replaces: [], deleteBeforeReplace: false });
    expect(await dkim.diff("id", outs, { ...key, __provider: "new code" } as any)).toEqual({ changes: false, replaces: [], deleteBeforeReplace: false });
  });

  test("a key found off the encrypted filesystem by refresh is replaced", async () => {
    const off = { ...outs, landedOn: [{ path: key.privateKeyPath, resolved: "/tmp/dkim.private", fsType: "tmpfs", encrypted: false }] };
    expect((await dkim.diff("id", off, key)).replaces).toContain("landedOn");
  });

  test("unknowns in preview pass check", async () => {
    const news = { ...key, generation: UNKNOWN as any, privateKeyPath: UNKNOWN, encryptedMount: UNKNOWN as any };
    expect(await dkim.check(undefined, news)).toEqual({ inputs: news });
  });

  test("generations only go up", async () => {
    const r = await dkim.check({ ...key, generation: 3 }, { ...key, generation: 2 });
    expect(r.failures).toEqual([{ property: "generation", reason: expect.stringMatching(/dkimKeyGeneration of n1 went down from 3 to 2: generations only go up .*set it to 4/) }]);
  });

  test("the key and its directory must be inside the encrypted mount; every problem at once", async () => {
    const r = await dkim.check(undefined, { ...key, keyDir: "/etc/dkimkeys", privateKeyPath: "/etc/dkimkeys/../x", selector: "N 1", keyBits: 1024 });
    expect(r.failures?.map((f) => f.property)).toEqual(["selector", "keyBits", "keyDir", "privateKeyPath"]);
    expect(r.failures?.[2].reason).toMatch(/must lie inside its encrypted mount \/srv\/crypt/);
  });
});

describe("the scripts the provider runs on the node (run locally with sh and openssl, below a fake mount root)", () => {
  let root: string;
  const inDir = (dir: string) => ({ ...key, encryptedMount: FAKE_MOUNT, keyDir: dir, privateKeyPath: `${dir}/dkim.private` });
  const run = (argv: string[]) => {
    const r = spawnSync(argv[0], onFakeMount(argv).slice(1), { encoding: "utf8" });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  };
  beforeEach(() => {
    root = fakeMountDir("rplan-dkim-");
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  test("generation: a 0600 key in a 0700 directory; only the public half is printed, and it belongs to the key", () => {
    const dir = path.join(root, "keys/opendkim");
    const r = run(dkim.generateDkimArgv(inDir(dir)));
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).not.toMatch(/PRIVATE/);
    const pub = dkim.dkimPublicKeyOf("n1", withoutLanded(r.stdout));
    const file = path.join(dir, "dkim.private");
    expect((fs.statSync(file).mode & 0o777).toString(8)).toBe("600");
    expect((fs.statSync(dir).mode & 0o777).toString(8)).toBe("700");
    const derived = crypto.createPublicKey(fs.readFileSync(file)).export({ type: "spki", format: "der" }).toString("base64");
    expect(pub).toBe(derived);
    expect(crypto.createPrivateKey(fs.readFileSync(file)).asymmetricKeyDetails?.modulusLength).toBe(2048);
    expect(fs.readdirSync(dir)).toEqual(["dkim.private"]);
    // the read script derives the same public half
    expect(dkim.dkimPublicKeyOf("n1", withoutLanded(run(dkim.readDkimArgv(inDir(dir))).stdout))).toBe(pub);
  });

  test("rotation: a new key replaces the old one in place; the old one is gone", () => {
    const dir = path.join(root, "keys/opendkim");
    const first = dkim.dkimPublicKeyOf("n1", withoutLanded(run(dkim.generateDkimArgv(inDir(dir))).stdout));
    const oldKey = fs.readFileSync(path.join(dir, "dkim.private"), "utf8");
    const second = dkim.dkimPublicKeyOf("n1", withoutLanded(run(dkim.generateDkimArgv(inDir(dir))).stdout));
    expect(second).not.toBe(first);
    expect(fs.readFileSync(path.join(dir, "dkim.private"), "utf8")).not.toBe(oldKey);
    expect(fs.readdirSync(dir)).toEqual(["dkim.private"]);
  });

  test("no key: the read script exits 3; a key with a loose mode is refused", () => {
    const dir = path.join(root, "keys/opendkim");
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    expect(run(dkim.readDkimArgv(inDir(dir))).code).toBe(3);
    run(dkim.generateDkimArgv(inDir(dir)));
    fs.chmodSync(path.join(dir, "dkim.private"), 0o644);
    const r = run(dkim.readDkimArgv(inDir(dir)));
    expect(r.code).toBe(6);
    expect(r.stderr).toMatch(/has mode 644, not 600/);
  });

  test("a key directory that is a symlink is refused, nothing is written behind it", () => {
    const elsewhere = fakeMountDir("rplan-dkim-elsewhere-");
    try {
      fs.mkdirSync(path.join(root, "keys"), { mode: 0o700 });
      fs.symlinkSync(elsewhere, path.join(root, "keys/opendkim"));
      const r = run(dkim.generateDkimArgv(inDir(path.join(root, "keys/opendkim"))));
      expect(r.code).toBe(65);
      expect(r.stderr).toMatch(/is a symlink/);
      expect(fs.readdirSync(elsewhere)).toEqual([]);
    } finally {
      fs.rmSync(elsewhere, { recursive: true, force: true });
    }
  });

  test("a printed text without a public key is an error, not an empty key", () => {
    expect(() => dkim.dkimPublicKeyOf("n1", "nothing here")).toThrow(/printed no public key/);
  });
});
