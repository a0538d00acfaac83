import { EncryptedMount, isInsideMount, judgeMount, mountProbeArgv } from "../planning/encrypted-mount";

const goc: EncryptedMount = { kind: "gocryptfs", path: "/srv/crypt", cipherDir: "/srv/.crypt-cipher" };
const luks: EncryptedMount = { kind: "luks", path: "/srv/crypt", device: "/dev/vdb", mapper: "crypt" };

describe("encrypted mount judgement", () => {
  test("an unlocked gocryptfs mount", () => {
    expect(judgeMount("lab1", goc, "mount fuse.gocryptfs /srv/.crypt-cipher\n")).toEqual({ state: "unlocked", fsType: "fuse.gocryptfs", source: "/srv/.crypt-cipher" });
  });
  test("nothing mounted: locked, and the message says how to unlock", () => {
    const v = judgeMount("lab1", goc, "");
    expect(v.state).toBe("locked");
    expect(v.state === "locked" && v.message).toContain("npm run unlock -- lab1");
  });
  test("a plain filesystem at the mount point is not accepted", () => {
    const v = judgeMount("lab1", goc, "mount ext4 /dev/vda1\n");
    expect(v.state).toBe("not-encrypted");
  });
  test("LUKS: mapper source and LUKS2 type are both required", () => {
    expect(judgeMount("n1", luks, "mount ext4 /dev/mapper/crypt\ncrypt LUKS2\n").state).toBe("unlocked");
    expect(judgeMount("n1", luks, "mount ext4 /dev/mapper/crypt\ncrypt PLAIN\n").state).toBe("not-encrypted");
    expect(judgeMount("n1", luks, "mount ext4 /dev/mapper/other\ncrypt LUKS2\n").state).toBe("not-encrypted");
  });
  test("the probe passes paths as arguments, never inside the script", () => {
    const argv = mountProbeArgv({ ...luks, path: "/srv/odd path" });
    expect(argv[2]).not.toContain("/srv");
    expect(argv.slice(-2)).toEqual(["/srv/odd path", "crypt"]);
  });
  test("inside-mount check resolves .. and rejects prefixes that are not directories", () => {
    expect(isInsideMount(goc, "/srv/crypt/keys/tinc/rsa_key.priv")).toBe(true);
    expect(isInsideMount(goc, "/srv/crypt/../etc/tinc/rsa_key.priv")).toBe(false);
    expect(isInsideMount(goc, "/srv/crypt-other/key")).toBe(false);
    expect(isInsideMount(goc, "keys/tinc")).toBe(false);
  });
});
