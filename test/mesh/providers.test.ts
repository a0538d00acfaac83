/** Provider check/diff: pure, no I/O (the engine calls them serially, also in preview with unknowns). */
import * as hostFiles from "../../providers/impl/host-files";
import * as meshCheck from "../../providers/impl/mesh-check";
import * as nodeKey from "../../providers/impl/node-key";
import * as ops from "../../ops/mesh-check";
import type { CheckReport } from "../../ops/mesh-check";
import type { MeshFinding } from "../../planning/mesh";
import { fakeHostKey } from "../support/config-fixture";

const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
const ssh = { host: "198.51.100.11", port: 22, user: "root", hostKeys: [fakeHostKey("n1")] };
const mount = { kind: "gocryptfs" as const, path: "/srv/crypt", cipherDir: "/srv/.crypt-cipher" };

describe("NodeKey check/diff", () => {
  const key: nodeKey.NodeKeyInputs = { node: "n1", tincName: "n1", ssh, encryptedMount: mount, privateKeyPath: "/srv/crypt/keys/tinc/rsa_key.priv", generation: 1, keyBits: 4096 };
  const outs = { ...key, publicKey: "PEM", fingerprint: "SHA256:x", __provider: "old code" };

  test("a new generation replaces the key; nothing else about the node does", async () => {
    expect(await nodeKey.diff("id", outs, { ...key, generation: 2 })).toEqual({ changes: true, replaces: ["generation"], deleteBeforeReplace: false });
    expect(await nodeKey.diff("id", outs, { ...key, ssh: { ...ssh, port: 2222 } })).toEqual({ changes: true, replaces: [], deleteBeforeReplace: false });
    expect(await nodeKey.diff("id", outs, { ...key, __provider: "new code" } as any)).toEqual({ changes: false, replaces: [], deleteBeforeReplace: false });
  });

  test("an unknown generation in preview counts as a replacement", async () => {
    expect((await nodeKey.diff("id", outs, { ...key, generation: UNKNOWN as any })).replaces).toEqual(["generation"]);
    expect(await nodeKey.check(undefined, { ...key, generation: UNKNOWN as any, privateKeyPath: UNKNOWN })).toEqual({ inputs: expect.anything() });
  });

  test("generations only go up", async () => {
    const r = await nodeKey.check({ ...key, generation: 3 }, { ...key, generation: 2 });
    expect(r.failures).toEqual([{ property: "generation", reason: expect.stringMatching(/n1 went down from 3 to 2: generations only go up .*set it to 4/) }]);
    expect((await nodeKey.check({ ...key, generation: 3 }, { ...key, generation: 4 })).failures).toBeUndefined();
  });

  test("the private key must live inside the encrypted mount", async () => {
    for (const p of ["/etc/tinc/rplan/rsa_key.priv", "/srv/crypt/../etc/key", "/srv/crypt", "/srv/cryptx/key", "relative/key"]) {
      const r = await nodeKey.check(undefined, { ...key, privateKeyPath: p });
      expect(r.failures?.map((f) => f.property)).toEqual(["privateKeyPath"]);
    }
  });

  test("bad tinc names and key sizes are refused", async () => {
    const r = await nodeKey.check(undefined, { ...key, tincName: "n-1", keyBits: 1024 });
    expect(r.failures?.map((f) => f.property)).toEqual(["tincName", "keyBits"]);
  });
});

describe("HostFiles check/diff", () => {
  const files: hostFiles.HostFile[] = [
    { path: "/etc/tinc/rplan/tinc.conf", content: "Name = n1\n" },
    { path: "/etc/tinc/rplan/hosts/n1", content: "Subnet = 198.18.0.11/32\n", mode: "0644", owner: "root:root" },
  ];
  const inputs: hostFiles.HostFilesInputs = { node: "n1", ssh, files, prune: ["/etc/tinc/rplan/hosts"], reload: [["systemctl", "reload", "x"]] };

  test("valid inputs pass", async () => {
    expect(hostFiles.validateHostFiles(inputs)).toEqual([]);
  });

  test("every problem is reported at once", () => {
    const bad = hostFiles.validateHostFiles({
      ...inputs,
      files: [
        { path: "/etc/x/../shadow", content: "" },
        { path: "/etc/a", content: "", mode: "999" },
        { path: "/etc/a", content: "", owner: "root" },
        { path: "/etc/b;rm", content: "" },
      ],
      prune: ["/etc"],
      reload: [[]],
    });
    expect(bad.map((f) => f.reason)).toEqual([
      expect.stringContaining("files[0].path"),
      expect.stringContaining("files[1].mode"),
      expect.stringContaining("files[2].path /etc/a is listed twice"),
      expect.stringContaining("files[2].owner"),
      expect.stringContaining("files[3].path"),
      expect.stringContaining("prune[0]"),
      expect.stringContaining("reload must be"),
    ]);
  });

  test("unknown contents (a peer's key in preview) pass check and show as a change", async () => {
    const news = { ...inputs, files: [files[0], { ...files[1], content: UNKNOWN }] };
    expect(hostFiles.validateHostFiles(news)).toEqual([]);
    expect(await hostFiles.diff("id", inputs, news)).toEqual({ changes: true, replaces: [], deleteBeforeReplace: false });
    expect(hostFiles.validateHostFiles({ ...inputs, files: UNKNOWN as any })).toEqual([]);
  });

  test("a removed file is a change; same files with keys in another order are not; another node is a replacement", async () => {
    const olds = { ...inputs, lastApply: { written: [], removed: [], reloaded: false }, __provider: "x" };
    expect((await hostFiles.diff("id", olds, { ...inputs, files: [files[0]] })).changes).toBe(true);
    const reordered = { ...inputs, files: files.map((f) => Object.fromEntries(Object.entries(f).reverse()) as hostFiles.HostFile) };
    expect((await hostFiles.diff("id", olds, reordered)).changes).toBe(false);
    expect((await hostFiles.diff("id", olds, { ...inputs, node: "n2" })).replaces).toEqual(["node"]);
  });
});

describe("MeshCheck diff", () => {
  const m = (node: string, fingerprint = "SHA256:a") => ({ node, tincName: node, vpnAddress: "198.18.0.1", publicAddress: "198.51.100.1", ssh, fingerprint });
  const inputs: meshCheck.MeshCheckInputs = { confDir: "/etc/tinc/rplan", port: 655, systemdUnit: "tinc@rplan", members: [m("n1"), m("n2")], revoked: [], timeoutMs: 20000 };
  const olds = { ...inputs, matrix: {}, refusedBy: {}, checkedMs: 1 };

  test("re-runs when membership, revocation or a key changes; not for its own timeout or outputs", async () => {
    expect((await meshCheck.diff("id", olds, inputs)).changes).toBe(false);
    expect((await meshCheck.diff("id", olds, { ...inputs, timeoutMs: 5 })).changes).toBe(false);
    expect((await meshCheck.diff("id", olds, { ...inputs, members: [m("n1")] })).changes).toBe(true);
    expect((await meshCheck.diff("id", olds, { ...inputs, members: [m("n1"), m("n2", "SHA256:b")] })).changes).toBe(true);
    expect((await meshCheck.diff("id", olds, { ...inputs, revoked: [{ node: "n3", tincName: "n3", vpnAddress: "x", publicAddress: "y" }] })).changes).toBe(true);
    expect((await meshCheck.diff("id", olds, inputs)).replaces).toEqual([]);
  });
});

describe("MeshCheck failure message", () => {
  const m = (node: string) => ({ node, tincName: node, vpnAddress: "198.18.0.1", publicAddress: "198.51.100.1", ssh, fingerprint: "SHA256:a" });
  const revoked = [{ node: "n3", tincName: "n3", vpnAddress: "198.18.0.3", publicAddress: "198.51.100.3" }];
  const inputs: meshCheck.MeshCheckInputs = { confDir: "/etc/tinc/rplan", port: 655, systemdUnit: "tinc@rplan", members: [m("n1"), m("n2")], revoked, timeoutMs: 0 };
  const report = (findings: MeshFinding[]): CheckReport => ({
    ok: findings.length === 0,
    members: [],
    matrix: { n1: { n2: 1 }, n2: { n1: null } },
    findings,
    elapsedMs: 2400,
  });
  afterEach(() => jest.restoreAllMocks());

  test("names each survivor that still accepts the revoked node, decided by the findings' kinds", async () => {
    jest.spyOn(ops, "checkMesh").mockResolvedValue(
      report([
        { node: "n1", kind: "revoked-hostfile", revoked: "n3", message: "revoked node n3: hosts/n3 still exists (its key is still trusted)" },
        { node: "n1", kind: "revoked-identity-accepted", revoked: "n3", message: "revoked node n3: tincd STILL ACCEPTS its identity n3" },
        { node: "n2", kind: "revoked-reachable", revoked: "n3", message: "revoked node n3: reachability unknown at its VPN address 198.18.0.3" },
        { node: "n2", kind: "peer-unreachable", message: "cannot reach n1 (198.18.0.1) over the VPN" },
      ]),
    );
    const err = (await meshCheck.create(inputs).catch((e: Error) => e)) as Error;
    expect(err).toBeInstanceOf(Error);
    expect(err.message.split("\n").slice(0, 6)).toEqual([
      "VPN mesh check FAILED after 2.4 s (4 problems):",
      "  - [n1] revoked node n3: hosts/n3 still exists (its key is still trusted)",
      "  - [n1] revoked node n3: tincd STILL ACCEPTS its identity n3",
      "  - [n2] revoked node n3: reachability unknown at its VPN address 198.18.0.3",
      "  - [n2] cannot reach n1 (198.18.0.1) over the VPN",
      "A REVOKED NODE IS STILL ACCEPTED by: n1",
    ]);
    expect(err.message).toMatch(/^n2 +FAIL/m);
  });

  test("a failure where nobody accepts the revoked node does not say anyone does", async () => {
    jest.spyOn(ops, "checkMesh").mockResolvedValue(report([{ node: "n2", kind: "revoked-unverified", revoked: "n3", message: "revoked node n3: could not verify that tincd refuses n3 (no answer)" }]));
    const err = (await meshCheck.create(inputs).catch((e: Error) => e)) as Error;
    expect(err.message).toContain("(1 problem):");
    expect(err.message).not.toContain("STILL ACCEPTED");
  });

  test("a passing check records when each survivor refused the revoked node", async () => {
    jest.spyOn(ops, "checkMesh").mockResolvedValue({ ...report([]), members: [{ node: "n1", probe: undefined, findings: [], passedAfterMs: 5, refusedAfterMs: { n3: 5 } }, { node: "n2", probe: undefined, findings: [], passedAfterMs: 7, refusedAfterMs: { n3: 7 } }] });
    const outs = (await meshCheck.create(inputs)).outs as meshCheck.MeshCheckOutputs;
    expect(outs.refusedBy).toEqual({ n3: { n1: 5, n2: 7 } });
  });
});
