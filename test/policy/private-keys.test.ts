/**
 * Rule "private-keys-inside-encrypted-mount" (resource) and "private-keys-inside-node-mount"
 * (stack), on the resources the real program registers plus resources of the program's
 * conventions built on a registered NodeHost.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { checkPrivateKeysResource, checkPrivateKeysStack, evaluatePolicies, ResourceDesc, SIG_KEY, ASSET_SIG, UNKNOWN } from "../../policy/rules";
import { readLocal } from "../../policy/policies";
import { HOST_FILES, hostOf, messages, NODE_KEY, OPENSSH_KEY, PKCS8_PEM, programResources, remote, RSA_PEM, tlsKey, onNode, urnOf } from "./support";

const stringAsset = (text: string) => ({ [SIG_KEY]: ASSET_SIG, text });
const fileAsset = (p: string) => ({ [SIG_KEY]: ASSET_SIG, path: p });

let program: ResourceDesc[];
let n1: ResourceDesc;
beforeAll(async () => {
  program = await programResources();
  n1 = hostOf(program, "n1");
});

const resourceMessages = (r: ResourceDesc) => messages(checkPrivateKeysResource(r, { readLocal }));
const stackMessages = (extra: ResourceDesc[]) => messages(checkPrivateKeysStack([...program, ...extra], { readLocal }));

describe("the real program", () => {
  test("its registered resources pass both key-placement rules", () => {
    for (const r of program) expect(resourceMessages(r)).toEqual([]);
    expect(stackMessages([])).toEqual([]);
    expect(evaluatePolicies(program, { phase: "up" }).diagnostics).toEqual([]);
  });

  test("a NodeHost that carries a private key (e.g. a pasted host key) is refused", () => {
    const bad = { ...n1, props: { ...n1.props, hostname: RSA_PEM } };
    expect(resourceMessages(bad)).toEqual([expect.stringMatching(/NodeHost n1-host carries a PEM RSA private key in hostname, which is not a file it writes inside its encrypted mount/)]);
  });

  test("a dynamic provider that captured a key is refused", () => {
    const bad = { ...n1, props: { ...n1.props, __provider: `exports.handler = { key: ${JSON.stringify(PKCS8_PEM)} }` } };
    expect(resourceMessages(bad)).toEqual([expect.stringMatching(/serialized dynamic provider captured a PEM private key/)]);
  });
});

describe("HostFiles", () => {
  const files = (...fs: { path: string; content: unknown }[]) => onNode(n1, HOST_FILES, "n1-tinc", { files: fs });

  test("a key inside the mount and a public file outside pass", () => {
    const r = files({ path: "/srv/crypt/keys/tinc/rsa_key.priv", content: RSA_PEM }, { path: "/etc/tinc/rplan/tinc.conf", content: "Name = n1\n" });
    expect(resourceMessages(r)).toEqual([]);
    expect(stackMessages([r])).toEqual([]);
  });

  test.each([
    ["a tinc RSA key in /etc", "/etc/tinc/rplan/rsa_key.priv", RSA_PEM, /writes a PEM RSA private key \(files\[0\]\.content\) to \/etc\/tinc\/rplan\/rsa_key\.priv, outside its encrypted mount \/srv\/crypt/],
    ["a key escaping the mount with ..", "/srv/crypt/keys/../../../etc/ssl/key.pem", PKCS8_PEM, /to \/srv\/crypt\/keys\/\.\.\/\.\.\/\.\.\/etc\/ssl\/key\.pem \(that is \/etc\/ssl\/key\.pem\), outside/],
    ["a key on a sibling path sharing the prefix", "/srv/crypt-backup/key.pem", PKCS8_PEM, /to \/srv\/crypt-backup\/key\.pem, outside/],
    ["an OpenSSH key at a relative path", "keys/id_ed25519", OPENSSH_KEY, /writes an OpenSSH private key .* to "keys\/id_ed25519", which is not an absolute path/],
    ["a base64-wrapped PEM", "/etc/rplan/key.b64", Buffer.from(PKCS8_PEM).toString("base64"), /writes a base64-wrapped PEM private key/],
  ])("%s is refused", (_what, p, content, message) => {
    const r = files({ path: "/etc/motd", content: "hello" }, { path: p, content });
    const got = resourceMessages(r).join("\n").replace("files[1]", "files[0]");
    expect(got).toMatch(message);
  });

  test("a key in a property that is no file's content (reload) is refused", () => {
    const r = onNode(n1, HOST_FILES, "n1-x", { files: [], reload: [["sh", "-c", `echo '${PKCS8_PEM}' > /tmp/k`]] });
    expect(resourceMessages(r)).toEqual([expect.stringMatching(/carries a PEM private key in reload\[0\]\[2\], which is not a file it writes/)]);
  });

  test("claiming another mount than the node's is refused in validateStack", () => {
    const r = onNode(n1, HOST_FILES, "n1-tinc", { files: [{ path: "/srv/other/keys/k", content: RSA_PEM }], encryptedMount: { kind: "luks", path: "/srv/other", device: "/dev/vdb", mapper: "crypt" } });
    expect(resourceMessages(r)).toEqual([]); // inside the mount it claims...
    expect(stackMessages([r])).toEqual([expect.stringMatching(/HostFiles n1-tinc claims encrypted mount \/srv\/other \(luks\) but node n1 declares \/srv\/crypt \(luks\)/)]);
  });

  test("a resource on a node without NodeHost (revoked or unknown) is refused", () => {
    const r = { ...onNode(n1, HOST_FILES, "ghost-files", { files: [] }), props: { ...onNode(n1, HOST_FILES, "x", { files: [] }).props, node: "ghost" } };
    expect(stackMessages([r])).toEqual([expect.stringMatching(/targets node "ghost", which has no NodeHost in this stack/)]);
  });

  test("unknown content outside the mount is advisory in preview and mandatory at up", () => {
    const r = files({ path: "/etc/tinc/rplan/hosts/n1", content: UNKNOWN });
    const out = checkPrivateKeysResource(r);
    expect(out.violations).toEqual([]);
    expect(out.unknowns).toEqual([expect.objectContaining({ path: ["files", "0", "content"], reason: expect.stringMatching(/whether \/etc\/tinc\/rplan\/hosts\/n1, outside its encrypted mount \/srv\/crypt, receives private key material/) })]);
    const preview = evaluatePolicies([...program, r], { phase: "preview" });
    expect(preview.mandatory).toEqual([]);
    expect(preview.diagnostics).toEqual([expect.objectContaining({ policy: "private-keys-inside-encrypted-mount", enforcementLevel: "advisory", message: expect.stringMatching(/^can't check during preview/) })]);
    expect(evaluatePolicies([...program, r], { phase: "up" }).mandatory).toEqual([expect.objectContaining({ message: expect.stringMatching(/still unknown at up/) })]);
  });

  test("unknown content inside the mount needs no check", () => {
    expect(checkPrivateKeysResource(files({ path: "/srv/crypt/keys/tinc/rsa_key.priv", content: UNKNOWN }))).toEqual({ violations: [], unknowns: [] });
  });
});

describe("commands", () => {
  test("a command without key material passes", () => {
    const c = remote(n1, "command:remote:Command", "n1-reload", { create: "systemctl reload tinc@rplan" });
    expect(resourceMessages(c)).toEqual([]);
    expect(stackMessages([c])).toEqual([]);
  });

  test.each([
    ["create", { create: `cat > /srv/crypt/keys/k <<EOF\n${RSA_PEM}EOF` }],
    ["stdin", { create: "install -m600 /dev/stdin /srv/crypt/keys/k", stdin: RSA_PEM }],
    ["environment", { create: "true", environment: { KEY: PKCS8_PEM } }],
  ])("a key in %s is refused, even towards the mount", (prop, props) => {
    const c = remote(n1, "command:remote:Command", "n1-key", props);
    expect(resourceMessages(c)).toEqual([expect.stringMatching(new RegExp(`Command n1-key carries a PEM (RSA )?private key in ${prop}.*: private keys must not travel in commands`))]);
  });

  test("a local command carrying a key is refused", () => {
    const c = { type: "command:local:Command", name: "push-key", urn: urnOf("command:local:Command", "push-key"), props: { create: `ssh n1 'cat > /srv/crypt/k' <<< '${PKCS8_PEM}'` } };
    expect(resourceMessages(c)).toEqual([expect.stringMatching(/Command push-key carries a PEM private key in create/)]);
  });

  test("an SSH private key in connection is refused", () => {
    const c = remote(n1, "command:remote:Command", "n1-uptime", { create: "uptime" });
    const bad = { ...c, props: { ...c.props, connection: { ...(c.props.connection as object), privateKey: OPENSSH_KEY } } };
    expect(resourceMessages(bad)).toEqual([expect.stringMatching(/puts an SSH private key in connection\.privateKey: the admin's credentials never enter the stack/)]);
  });
});

describe("CopyToRemote / CopyFile", () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "rplan-policy-"));
    fs.writeFileSync(path.join(dir, "key.pem"), RSA_PEM);
    fs.writeFileSync(path.join(dir, "motd"), "hello\n");
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  const copy = (source: unknown, remotePath: string, name = "n1-copy") => remote(n1, "command:remote:CopyToRemote", name, { source, remotePath });

  test("a key copied inside the node's mount passes; a public file anywhere passes", () => {
    const ok = [copy(stringAsset(RSA_PEM), "/srv/crypt/keys/postfix/key.pem", "a"), copy(fileAsset(path.join(dir, "motd")), "/etc/motd", "b"), copy(fileAsset(path.join(dir, "key.pem")), "/srv/crypt/keys/x.pem", "c")];
    for (const r of ok) expect(resourceMessages(r)).toEqual([]);
    expect(stackMessages(ok)).toEqual([]);
  });

  test("a key copied outside the node's mount is refused in validateStack", () => {
    const r = copy(stringAsset(RSA_PEM), "/root/key.pem");
    expect(resourceMessages(r)).toEqual([]); // the node (and so its mount) is only known to the stack rule
    expect(stackMessages([r])).toEqual([expect.stringMatching(/CopyToRemote n1-copy writes a PEM RSA private key \(source\.text\) to \/root\/key\.pem, outside node n1's encrypted mount \/srv\/crypt/)]);
  });

  test("a local key file copied outside the mount is refused (the policy reads the file)", () => {
    const r = copy(fileAsset(path.join(dir, "key.pem")), "/etc/ssl/private/key.pem");
    expect(stackMessages([r])).toEqual([expect.stringMatching(/writes a PEM RSA private key \(source\.path\) to \/etc\/ssl\/private\/key\.pem, outside node n1's/)]);
  });

  test("a file the policy cannot read, copied outside the mount, is refused (fail closed)", () => {
    const r = copy(fileAsset(path.join(dir, "missing.pem")), "/etc/x");
    expect(stackMessages([r])).toEqual([expect.stringMatching(/cannot be read by the policy\) \(it may hold a private key\) to \/etc\/x, outside node n1's/)]);
  });

  test("the installed SDK's CopyFile is judged the same way", () => {
    const r = remote(n1, "command:remote:CopyFile", "n1-cf", { localPath: path.join(dir, "key.pem"), remotePath: "/tmp/key.pem" });
    expect(stackMessages([r])).toEqual([expect.stringMatching(/CopyFile n1-cf writes a PEM RSA private key .* to \/tmp\/key\.pem, outside node n1's/)]);
  });

  test("a key copied to a host that is no node is refused", () => {
    const r = copy(stringAsset(RSA_PEM), "/srv/crypt/keys/k");
    const elsewhere = { ...r, props: { ...r.props, connection: { host: "198.51.100.250", port: 22, user: "root", hostKey: (r.props.connection as any).hostKey } } };
    expect(stackMessages([elsewhere])).toEqual([expect.stringMatching(/copies a PEM RSA private key .* to host "198\.51\.100\.250", which is no node of this stack/)]);
  });
});

describe("other resources (fail closed)", () => {
  test("a dynamic resource of unknown shape carrying a key is refused; without a key it passes", () => {
    const type = "pulumi-nodejs:dynamic/rplan:Mystery";
    const r = { type, name: "m", urn: urnOf(type, "m"), props: { blob: { nested: [PKCS8_PEM] } } };
    expect(resourceMessages(r)).toEqual([expect.stringMatching(/Mystery m carries a PEM private key in blob\.nested\[0\], and the policy does not know where a pulumi-nodejs:dynamic\/rplan:Mystery puts it \(fail closed\)/)]);
    expect(resourceMessages({ ...r, props: { blob: "public" } })).toEqual([]);
  });

  test("another dynamic resource of ours with node + encryptedMount + path/content follows the HostFiles rules", () => {
    const type = "pulumi-nodejs:dynamic/rplan:ServiceKey";
    const inside = onNode(n1, type, "n1-slapd-key", { path: "/srv/crypt/keys/slapd/key.pem", content: PKCS8_PEM });
    expect(resourceMessages(inside)).toEqual([]);
    const outside = onNode(n1, type, "n1-slapd-key", { path: "/etc/ldap/key.pem", content: PKCS8_PEM });
    expect(resourceMessages(outside)).toEqual([expect.stringMatching(/ServiceKey n1-slapd-key writes a PEM private key \(content\) to \/etc\/ldap\/key\.pem, outside its encrypted mount/)]);
  });
});

describe("@pulumi/tls private keys (generated off-host)", () => {
  const key = tlsKey("postfix-key");
  const deps = { files: [key.urn!] };

  test("consumed by HostFiles inside the mount (and its public half outside) passes", () => {
    const r = onNode(n1, HOST_FILES, "n1-postfix-tls", { files: [{ path: "/srv/crypt/keys/postfix/key.pem", content: key.props.privateKeyPem }, { path: "/etc/postfix/pub.pem", content: key.props.publicKeyPem }] }, deps);
    expect(stackMessages([key, r])).toEqual([]);
  });

  test("consumed by a resource writing it outside the mount is caught in validateStack", () => {
    const r = onNode(n1, HOST_FILES, "n1-postfix-tls", { files: [{ path: "/etc/ssl/private/postfix.pem", content: key.props.privateKeyPem }] }, deps);
    expect(stackMessages([key, r])).toEqual(
      expect.arrayContaining([expect.stringMatching(/HostFiles n1-postfix-tls writes the private key of tls PrivateKey postfix-key \(a PEM private key \(files\[0\]\.content\)\) to "\/etc\/ssl\/private\/postfix\.pem", outside node n1's encrypted mount \/srv\/crypt/)]),
    );
  });

  test("a disguised copy (armour stripped, lines reversed) is recognized as that key", () => {
    const body = (key.props.privateKeyOpenssh as string).split("\n").filter((l) => l && !l.startsWith("-----")).reverse().join("\n");
    const r = onNode(n1, HOST_FILES, "n1-disguised", { files: [{ path: "/etc/rplan/blob", content: body }] }, deps);
    expect(resourceMessages(r)).toEqual([]); // no armour: the resource rule alone cannot see it
    expect(stackMessages([key, r])).toEqual([expect.stringMatching(/writes the private key of tls PrivateKey postfix-key \(part of a @pulumi\/tls private key/)]);
  });

  test("consumed by a command is refused", () => {
    const c = remote(n1, "command:remote:Command", "n1-install-key", { create: "install -m600 /dev/stdin /srv/crypt/keys/k", stdin: key.props.privateKeyPem }, { stdin: [key.urn!] });
    expect(stackMessages([key, c])).toEqual([expect.stringMatching(/Command n1-install-key takes the private key of tls PrivateKey postfix-key in stdin, which is not a file written inside a node's encrypted mount/)]);
  });

  test("consumed by a tls certificate (signing) passes", () => {
    const type = "tls:index/selfSignedCert:SelfSignedCert";
    const cert = { type, name: "postfix-cert", urn: urnOf(type, "postfix-cert"), props: { privateKeyPem: key.props.privateKeyPem, certPem: "-----BEGIN CERTIFICATE-----" }, propertyDependencies: { privateKeyPem: [key.urn!] } };
    expect(stackMessages([key, cert])).toEqual([]);
  });

  test("in preview (key not generated yet) a consumer writing outside the mount is advisory, not silent", () => {
    const pending = { ...key, props: { ...key.props, privateKeyPem: UNKNOWN, privateKeyOpenssh: UNKNOWN, privateKeyPemPkcs8: UNKNOWN } };
    const r = onNode(n1, HOST_FILES, "n1-postfix-tls", { files: [{ path: "/etc/ssl/private/postfix.pem", content: UNKNOWN }] }, deps);
    const out = checkPrivateKeysStack([...program, pending, r]);
    expect(out.violations).toEqual([]);
    expect(out.unknowns.map((u) => u.reason)).toEqual([expect.stringMatching(/whether "\/etc\/ssl\/private\/postfix\.pem" outside node n1's encrypted mount receives the private key of tls PrivateKey postfix-key/)]);
  });
});

test("NodeKey has no content to place: this rule leaves it to the key-generation rules", () => {
  const k = onNode(n1, NODE_KEY, "n1-tinc-key", { kind: "tinc-rsa", privateKeyPath: "/etc/tinc/rsa_key.priv", generation: 1 });
  expect(resourceMessages(k)).toEqual([]);
});
