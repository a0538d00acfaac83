/** Rules "key-generation-inside-encrypted-mount" (resource) and "key-generation-on-own-node" (stack). */
import { checkKeyGenerationResource, checkKeyGenerationStack, ResourceDesc, UNKNOWN } from "../../policy/rules";
import { rawConfig } from "../support/config-fixture";
import { hostOf, messages, NODE_HOST, NODE_KEY, onNode, PKCS8_PEM, programResources, urnOf } from "./support";

let program: ResourceDesc[];
let n1: ResourceDesc;
beforeAll(async () => {
  program = await programResources();
  n1 = hostOf(program, "n1");
});

const key = (privateKeyPath: unknown, extra: Record<string, unknown> = {}) => onNode(n1, NODE_KEY, "n1-tinc-key", { kind: "tinc-rsa", privateKeyPath, generation: 1, ...extra });

describe("NodeHost (registered by the real program)", () => {
  test("its key directories inside the mount pass", () => {
    for (const r of program) expect(messages(checkKeyGenerationResource(r))).toEqual([]);
    expect((n1.props.keyDirs as Record<string, string>).tinc).toBe("/srv/crypt/keys/tinc");
  });

  test("a key directory outside the mount is refused", () => {
    const bad = { ...n1, props: { ...n1.props, keyDirs: { ...(n1.props.keyDirs as object), tinc: "/etc/tinc/keys" } } };
    expect(messages(checkKeyGenerationResource(bad))).toEqual(["NodeHost n1-host puts its key directory for tinc at /etc/tinc/keys, outside its encrypted mount /srv/crypt"]);
  });

  test("a key directory that is the mount point itself, or escapes it, is refused", () => {
    const bad = { ...n1, props: { ...n1.props, keyDirs: { tinc: "/srv/crypt", slapd: "/srv/crypt/keys/../../etc" } } };
    expect(messages(checkKeyGenerationResource(bad))).toEqual([
      "NodeHost n1-host puts its key directory for tinc at /srv/crypt, the mount point itself, not a directory inside its encrypted mount /srv/crypt",
      "NodeHost n1-host puts its key directory for slapd at /srv/crypt/keys/../../etc (that is /srv/etc), outside its encrypted mount /srv/crypt",
    ]);
  });

  test.each([
    ["a relative mount", { kind: "luks", path: "srv/crypt", device: "/dev/vdb", mapper: "crypt" }, /declares encrypted mount path "srv\/crypt", which is not a normalized absolute path other than \//],
    ["the root as mount", { kind: "luks", path: "/", device: "/dev/vdb", mapper: "crypt" }, /declares encrypted mount path "\/"/],
    ["no mount", undefined, /declares no encrypted mount/],
    ["an unencrypted kind", { kind: "tmpfs", path: "/srv/crypt" }, /encrypted mount of unknown kind "tmpfs"/],
  ])("%s is refused", (_what, mount, message) => {
    const bad = { ...n1, props: { ...n1.props, encryptedMount: mount } };
    expect(messages(checkKeyGenerationResource(bad))).toEqual([expect.stringMatching(message)]);
  });

  test("a revoked node has no NodeHost at all", async () => {
    const raw = rawConfig();
    raw.nodes[2].state = "revoked";
    const rs = await programResources(raw);
    expect(rs.filter((r) => r.type === NODE_HOST).map((r) => r.props.node)).toEqual(["n1", "n2"]);
  });
});

describe("NodeKey", () => {
  test("a key generated inside the node's mount passes", () => {
    const k = key("/srv/crypt/keys/tinc/rsa_key.priv");
    expect(messages(checkKeyGenerationResource(k))).toEqual([]);
    expect(messages(checkKeyGenerationStack([...program, k]))).toEqual([]);
  });

  test.each([
    ["/etc/tinc/rplan/rsa_key.priv", "NodeKey n1-tinc-key puts its generated private key at /etc/tinc/rplan/rsa_key.priv, outside its encrypted mount /srv/crypt"],
    ["/srv/crypt/../tinc/rsa_key.priv", "NodeKey n1-tinc-key puts its generated private key at /srv/crypt/../tinc/rsa_key.priv (that is /srv/tinc/rsa_key.priv), outside its encrypted mount /srv/crypt"],
    ["rsa_key.priv", 'NodeKey n1-tinc-key puts its generated private key (privateKeyPath) at "rsa_key.priv", which is not an absolute path inside its encrypted mount /srv/crypt'],
  ])("privateKeyPath %s is refused", (p, message) => {
    expect(messages(checkKeyGenerationResource(key(p)))).toEqual([message]);
  });

  test("claiming a mount other than its node's is refused in validateStack", () => {
    const k = key("/mnt/usb/rsa_key.priv", { encryptedMount: { kind: "gocryptfs", path: "/mnt/usb", cipherDir: "/mnt/.usb" } });
    expect(messages(checkKeyGenerationResource(k))).toEqual([]);
    expect(messages(checkKeyGenerationStack([...program, k]))).toEqual(["NodeKey n1-tinc-key claims encrypted mount /mnt/usb (gocryptfs) but node n1 declares /srv/crypt (luks)"]);
  });

  test("generating on a node without NodeHost is refused", () => {
    const k = { ...key("/srv/crypt/keys/tinc/k"), props: { ...key("/srv/crypt/keys/tinc/k").props, node: "n9" } };
    expect(messages(checkKeyGenerationStack([...program, k]))).toEqual([expect.stringMatching(/generates keys on node "n9", which has no NodeHost/)]);
  });

  test("returning the private key as an output is refused", () => {
    const k = key("/srv/crypt/keys/tinc/rsa_key.priv", { publicKey: "-----BEGIN RSA PUBLIC KEY-----", privateKey: PKCS8_PEM });
    expect(messages(checkKeyGenerationStack([...program, k]))).toEqual([expect.stringMatching(/NodeKey n1-tinc-key returns a PEM private key in privateKey: a key generated on the node stays there/)]);
  });

  test("an unknown path in preview is tolerated and reported", () => {
    const out = checkKeyGenerationResource(key(UNKNOWN));
    expect(out.violations).toEqual([]);
    expect(out.unknowns).toEqual([expect.objectContaining({ path: ["privateKeyPath"] })]);
  });

  test("a dynamic resource generating keys without node and mount is refused (fail closed)", () => {
    const type = "pulumi-nodejs:dynamic/rplan:Keygen";
    const r = { type, name: "kg", urn: urnOf(type, "kg"), props: { privateKeyPath: "/srv/crypt/k" } };
    expect(messages(checkKeyGenerationResource(r))).toEqual([expect.stringMatching(/Keygen kg generates keys but declares no node and encryptedMount/)]);
  });
});
