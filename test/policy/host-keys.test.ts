/** Rules "ssh-host-keys-pinned" (resource) and "ssh-host-keys-match-node" (stack). */
import { checkHostKeysResource, checkHostKeysStack, ResourceDesc, UNKNOWN } from "../../policy/rules";
import { fakeHostKey } from "../support/config-fixture";
import { HOST_FILES, hostOf, messages, onNode, programResources, remote, urnOf } from "./support";

let program: ResourceDesc[];
let n1: ResourceDesc;
beforeAll(async () => {
  program = await programResources();
  n1 = hostOf(program, "n1");
});
const withSsh = (r: ResourceDesc, ssh: Record<string, unknown>) => ({ ...r, props: { ...r.props, ssh: { ...(r.props.ssh as object), ...ssh } } });

describe("NodeHost (registered by the real program)", () => {
  test("pinned host keys pass", () => {
    for (const r of program) expect(messages(checkHostKeysResource(r))).toEqual([]);
    expect(messages(checkHostKeysStack(program))).toEqual([]);
  });

  test("no host keys is refused", () => {
    expect(messages(checkHostKeysResource(withSsh(n1, { hostKeys: [] })))).toEqual([
      'NodeHost n1-host connects to "198.51.100.11" without a pinned SSH host key (ssh.hostKeys is empty): rplan never trusts on first use',
    ]);
    const { hostKeys: _dropped, ...ssh } = n1.props.ssh as Record<string, unknown>;
    expect(messages(checkHostKeysResource({ ...n1, props: { ...n1.props, ssh } }))).toHaveLength(1);
  });

  test("a host key that is no OpenSSH public key line is refused", () => {
    const mislabelled = fakeHostKey("x").replace(/^ssh-ed25519/, "ssh-rsa");
    expect(messages(checkHostKeysResource(withSsh(n1, { hostKeys: ["AAAA", mislabelled] })))).toEqual([
      expect.stringMatching(/ssh\.hostKeys\[0\] "AAAA" is not an OpenSSH public host key line/),
      expect.stringMatching(/ssh\.hostKeys\[1\] "ssh-rsa .*" is not an OpenSSH public host key line/),
    ]);
  });

  test("a NodeHost without an ssh endpoint is refused", () => {
    const { ssh: _ssh, ...props } = n1.props;
    expect(messages(checkHostKeysResource({ ...n1, props }))).toEqual(["NodeHost n1-host has no ssh endpoint, so its host key cannot be pinned"]);
  });

  test("unknown host keys are tolerated in preview", () => {
    const out = checkHostKeysResource(withSsh(n1, { hostKeys: UNKNOWN }));
    expect(out.violations).toEqual([]);
    expect(out.unknowns).toHaveLength(1);
  });
});

describe("resources connecting to a node", () => {
  test("HostFiles with its node's endpoint and keys passes; with another key or endpoint it is refused", () => {
    const ok = onNode(n1, HOST_FILES, "n1-files", { files: [] });
    expect(messages(checkHostKeysStack([...program, ok]))).toEqual([]);
    const otherKey = withSsh(ok, { hostKeys: [fakeHostKey("mitm")] });
    expect(messages(checkHostKeysResource(otherKey))).toEqual([]);
    expect(messages(checkHostKeysStack([...program, otherKey]))).toEqual([expect.stringMatching(/HostFiles n1-files pins host key ssh-ed25519 .* for node n1, which is not one of the keys node n1 pins/)]);
    const otherHost = withSsh(ok, { host: "198.51.100.12" });
    expect(messages(checkHostKeysStack([...program, otherHost]))).toEqual([expect.stringMatching(/is on node n1 but connects to 198\.51\.100\.12:22, not the node's 198\.51\.100\.11:22/)]);
    expect(messages(checkHostKeysResource(withSsh(ok, { hostKeys: [] })))).toEqual([expect.stringMatching(/HostFiles n1-files connects to .* without a pinned SSH host key/)]);
  });

  test("a remote command reaches a node (whose NodeHost pins its keys), with one of that node's keys if it names one", () => {
    const c = remote(n1, "command:remote:Command", "n1-reload", { create: "systemctl reload tinc@rplan" });
    expect(messages(checkHostKeysResource(c))).toEqual([]);
    expect(messages(checkHostKeysStack([...program, c]))).toEqual([]);
    const { hostKey: _k, ...conn } = c.props.connection as Record<string, unknown>;
    const unnamed = { ...c, props: { ...c.props, connection: conn } }; // @pulumi/command's ConnectionArgs has no hostKey
    expect(messages(checkHostKeysResource(unnamed))).toEqual([]);
    expect(messages(checkHostKeysStack([...program, unnamed]))).toEqual([]);
    const wrong = { ...c, props: { ...c.props, connection: { ...conn, hostKey: fakeHostKey("n2") } } };
    expect(messages(checkHostKeysStack([...program, wrong]))).toEqual([expect.stringMatching(/Command n1-reload pins host key .* for node n1, which is not one of the keys node n1 pins/)]);
    expect(messages(checkHostKeysResource({ ...c, props: { ...c.props, connection: { ...conn, hostKey: "AAAA" } } }))).toEqual([expect.stringMatching(/connection\.hostKey "AAAA" is not an OpenSSH public host key line/)]);
  });

  test("a remote command to a host that is no node is refused: nothing pins its key", () => {
    const c = remote(n1, "command:remote:Command", "dns-reload", { create: "rndc reload" });
    const elsewhere = { ...c, props: { ...c.props, connection: { host: "198.51.100.250", port: 22, user: "root" } } };
    expect(messages(checkHostKeysStack([...program, elsewhere]))).toEqual(["Command dns-reload connects to 198.51.100.250:22, which is no node of this stack, so no pinned SSH host key covers it"]);
  });

  test("a local command needs no host key", () => {
    const type = "command:local:Command";
    expect(messages(checkHostKeysResource({ type, name: "l", urn: urnOf(type, "l"), props: { create: "true" } }))).toEqual([]);
  });
});
