/**
 * The landing fragment (planning/key-landing.ts), run locally with sh against temp directories
 * below a fake mount root (test/support/fake-mount.ts): a key is written only where its real path
 * is on the mount root's filesystem, with no symlink on the way; refusals name the node, the path
 * and what it resolved to, and nothing lands elsewhere. The read side (land_probe) reports the
 * same facts, and the policy rule fails on them.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { landedArgv, parseLanded, PROBE_LANDING, WRITE_KEY_FILE } from "../../planning/key-landing";
import { checkLandedStack } from "../../policy/rules";
import { replaceOffMount } from "../../providers/impl/diff";
import { FAKE_MOUNT, fakeMountDir, onFakeMount } from "../support/fake-mount";

const me = `${os.userInfo().username}:${os.userInfo().username === "root" ? "root" : String(process.getgid?.())}`;
const sh = (argv: string[], input = "") => spawnSync(argv[0], argv.slice(1), { encoding: "utf8", input });
const write = (file: string, content = "SECRET\n") => sh(onFakeMount(landedArgv("n1", FAKE_MOUNT, WRITE_KEY_FILE, [file, "0600", me])), content);
const probe = (...paths: string[]) => parseLanded(sh(onFakeMount(landedArgv("n1", FAKE_MOUNT, PROBE_LANDING, paths))).stdout);
/** Every file under dir whose content is `needle` (to prove nothing landed off the mount). */
const holding = (dir: string, needle: string): string[] =>
  fs.readdirSync(dir, { recursive: true, encoding: "utf8" }).map((f) => path.join(dir, f)).filter((f) => fs.lstatSync(f).isFile() && fs.readFileSync(f, "utf8") === needle);

describe("the landing fragment, run locally", () => {
  let inside: string;
  let outside: string;
  beforeEach(() => {
    inside = fakeMountDir("rplan-landing-");
    outside = fs.mkdtempSync(path.join(os.tmpdir(), "rplan-landing-off-")); // on / , another filesystem
  });
  afterEach(() => {
    fs.rmSync(inside, { recursive: true, force: true });
    fs.rmSync(outside, { recursive: true, force: true });
  });

  test("a file in a fresh key directory: missing directories made 0700, the file written with its mode, reported as landed", () => {
    const f = `${inside}/keys/tinc/rsa_key.priv`;
    const r = write(f);
    expect([r.status, r.stderr]).toEqual([0, ""]);
    expect(fs.readFileSync(f, "utf8")).toBe("SECRET\n");
    expect((fs.statSync(f).mode & 0o777).toString(8)).toBe("600");
    expect((fs.statSync(`${inside}/keys`).mode & 0o777).toString(8)).toBe("700");
    expect((fs.statSync(`${inside}/keys/tinc`).mode & 0o777).toString(8)).toBe("700");
    expect(fs.readdirSync(`${inside}/keys/tinc`)).toEqual(["rsa_key.priv"]);
    expect(probe(f)).toEqual([{ path: f, resolved: f, fsType: "tmpfs", encrypted: true }]);
  });

  test("the key directory is a symlink to another filesystem: refused, naming node, path and target; nothing written there", () => {
    fs.mkdirSync(`${inside}/keys`);
    fs.symlinkSync(outside, `${inside}/keys/tinc`);
    const f = `${inside}/keys/tinc/rsa_key.priv`;
    const r = write(f);
    expect(r.status).toBe(65);
    expect(r.stderr).toContain(`[n1] refusing to write keys to ${f}: ${inside}/keys/tinc is a symlink to ${outside}, which resolves to ${outside} on `);
    expect(fs.readdirSync(outside)).toEqual([]);
    expect(probe(f)).toEqual([{ path: f, resolved: `${outside}/rsa_key.priv`, fsType: expect.any(String), encrypted: false }]);
  });

  test("a symlink component in the middle (even to a directory on the same filesystem) is refused", () => {
    fs.mkdirSync(`${inside}/real/tinc`, { recursive: true });
    fs.symlinkSync(`${inside}/real`, `${inside}/keys`);
    const f = `${inside}/keys/tinc/rsa_key.priv`;
    const r = write(f);
    expect(r.status).toBe(65);
    expect(r.stderr).toContain(`${inside}/keys is a symlink to ${inside}/real`);
    expect(holding(inside, "SECRET\n")).toEqual([]);
    expect(probe(f)[0]).toMatchObject({ resolved: `${inside}/real/tinc/rsa_key.priv`, encrypted: false });
  });

  test("the key file itself is a symlink: refused (the old target is not touched)", () => {
    fs.mkdirSync(`${inside}/keys`, { mode: 0o700 });
    fs.writeFileSync(`${outside}/victim`, "old\n");
    fs.symlinkSync(`${outside}/victim`, `${inside}/keys/k`);
    const r = write(`${inside}/keys/k`);
    expect(r.status).toBe(65);
    expect(r.stderr).toContain(`${inside}/keys/k is a symlink to ${outside}/victim`);
    expect(fs.readFileSync(`${outside}/victim`, "utf8")).toBe("old\n");
  });

  test("a directory on another filesystem below the root, without any symlink, is refused by the device comparison", () => {
    // The fake root here is /dev (devtmpfs); /dev/shm below it is a separate tmpfs.
    const devRoot = { ...FAKE_MOUNT, path: "/dev" };
    const f = `${inside}/k`;
    const r = sh(landedArgv("n1", devRoot, WRITE_KEY_FILE, [f, "0600", me]).map((a, i) => (i === 6 ? "devtmpfs" : a)), "SECRET\n");
    expect(r.status).toBe(65);
    expect(r.stderr).toContain(`/dev/shm is on tmpfs at /dev/shm, another filesystem`);
    expect(fs.existsSync(f)).toBe(false);
  });

  test("a mount root of the wrong type (not the declared encrypted filesystem) is refused before anything is made", () => {
    const f = `${inside}/keys/k`;
    const r = sh(landedArgv("n1", FAKE_MOUNT, WRITE_KEY_FILE, [f, "0600", me]), "SECRET\n");
    expect(r.status).toBe(65);
    expect(r.stderr).toContain("/dev/shm is tmpfs, not fuse.gocryptfs");
    expect(fs.existsSync(`${inside}/keys`)).toBe(false);
  });

  test("nothing mounted at the root (a locked mount) is refused", () => {
    const r = sh(landedArgv("n1", { ...FAKE_MOUNT, path: inside }, WRITE_KEY_FILE, [`${inside}/k`, "0600", me]), "SECRET\n");
    expect(r.status).toBe(65);
    expect(r.stderr).toContain(`nothing is mounted at ${inside} (locked`);
  });

  test("a refresh's off-mount fact makes the key resource replaced and fails the policy's stack rule", () => {
    const off = [{ path: "/srv/crypt/keys/tinc/rsa_key.priv", resolved: "/tmp/rsa_key.priv", fsType: "tmpfs", encrypted: false }];
    const on = [{ ...off[0], resolved: off[0].path, fsType: "fuse.gocryptfs", encrypted: true }];
    const same = { changes: false, replaces: [], deleteBeforeReplace: false };
    expect(replaceOffMount(same, { landedOn: off })).toMatchObject({ changes: true, replaces: ["landedOn"] });
    expect(replaceOffMount(same, { landedOn: on })).toBe(same);
    const r = (landedOn: unknown) => ({ type: "pulumi-nodejs:dynamic/rplan:NodeKey", name: "mesh-lab1-key", props: { landedOn } });
    expect(checkLandedStack([r(on)]).violations).toEqual([]);
    expect(checkLandedStack([r(off)]).violations.map((v) => v.message)).toEqual([
      "NodeKey mesh-lab1-key: /srv/crypt/keys/tinc/rsa_key.priv resolves to /tmp/rsa_key.priv on tmpfs, off its node's encrypted filesystem; " +
        "a key there is exposed: remove what redirects the path (a symlink or a mount), then run up again (the key is replaced by a fresh one)",
    ]);
  });
});
