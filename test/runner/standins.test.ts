import { execFileSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { isSecret, PropertyMap, PropertyValue, UNKNOWN } from "../../runner/props";
import { EngineProvider, Target } from "../../runner/providers/plugin";
import { LocalCommand, RemoteCommand } from "../../runner/standins/command";
import { authorizedKey, opensshPrivateKey } from "../../runner/standins/openssh";
import { PinnedHosts } from "../../runner/standins/pinned-hosts";
import { RandomResource } from "../../runner/standins/random";
import { TlsPrivateKey } from "../../runner/standins/tls";

const t = (type: string, name = "r"): Target => ({ urn: `urn:pulumi:s::p::${type}::${name}`, type, name });
const secretValue = (v: PropertyValue) => (isSecret(v) ? v.value : v);
const { utils } = require("ssh2");

function hasSshKeygen(): boolean {
  try {
    execFileSync("ssh-keygen", ["-?"], { stdio: "ignore" });
  } catch (e) {
    return (e as { status?: number }).status !== 127 && (e as NodeJS.ErrnoException).code !== "ENOENT";
  }
  return true;
}

describe("random stand-in", () => {
  const password = new EngineProvider(new RandomResource("RandomPassword"));

  it("honours length, character sets and minimums, and keeps the password secret", async () => {
    const inputs = { length: 40, special: false, upper: false, minNumeric: 10 };
    const made = await password.create(t("random:index/randomPassword:RandomPassword"), inputs, false);
    expect(isSecret(made.outputs.result)).toBe(true);
    const result = String(secretValue(made.outputs.result));
    expect(result).toMatch(/^[a-z0-9]{40}$/);
    expect(result.replace(/[^0-9]/g, "").length).toBeGreaterThanOrEqual(10);
  });

  it("rejects impossible inputs in check and replaces on any input change (keepers too)", async () => {
    const c = await password.check(t("x"), {}, { length: 2, minUpper: 3 });
    expect(c.failures[0].reason).toMatch(/sum of the minimums/);
    const d = await password.diff(t("x"), "none", { length: 8, keepers: { a: "1" } }, {}, { length: 8, keepers: { a: "2" } }, []);
    expect(d).toEqual({ changes: "some", replaces: ["keepers"], deleteBeforeReplace: false });
  });

  it("makes ids in every encoding from the same bytes", async () => {
    const id = new EngineProvider(new RandomResource("RandomId"));
    const made = await id.create(t("random:index/randomId:RandomId"), { byteLength: 8, prefix: "p-" }, false);
    const hex = String(made.outputs.hex).slice(2);
    expect(hex).toMatch(/^[0-9a-f]{16}$/);
    expect(made.outputs.dec).toBe("p-" + BigInt("0x" + hex).toString());
    expect(made.id).toBe(Buffer.from(hex, "hex").toString("base64url"));
  });
});

describe("tls stand-in", () => {
  const tls = new EngineProvider(new TlsPrivateKey());

  it.each([
    ["ED25519", {}, "ssh-ed25519", "-----BEGIN PRIVATE KEY-----"],
    ["RSA", { rsaBits: 2048 }, "ssh-rsa", "-----BEGIN RSA PRIVATE KEY-----"],
    ["ECDSA", { ecdsaCurve: "P256" }, "ecdsa-sha2-nistp256", "-----BEGIN EC PRIVATE KEY-----"],
  ])("%s: a real key in the tls provider's encodings, private parts secret", async (algorithm, extra, sshType, pemHeader) => {
    const checked = await tls.check(t("tls:index/privateKey:PrivateKey"), {}, { algorithm, ...extra });
    const { outputs } = await tls.create(t("tls:index/privateKey:PrivateKey"), checked.inputs, false);
    for (const k of ["privateKeyPem", "privateKeyPemPkcs8", "privateKeyOpenssh"]) expect(isSecret(outputs[k])).toBe(true);
    const pem = String(secretValue(outputs.privateKeyPem));
    expect(pem.startsWith(pemHeader)).toBe(true);
    const pub = crypto.createPublicKey(crypto.createPrivateKey(pem)).export({ format: "pem", type: "spki" }).toString();
    expect(outputs.publicKeyPem).toBe(pub);
    expect(String(outputs.publicKeyOpenssh)).toMatch(new RegExp(`^${sshType} [A-Za-z0-9+/=]+\\n$`));
    const parsed = utils.parseKey(String(secretValue(outputs.privateKeyOpenssh)));
    expect(parsed.getPublicSSH().toString("base64")).toBe(String(outputs.publicKeyOpenssh).split(" ")[1].trim());
    expect(outputs.publicKeyFingerprintSha256).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
  });

  it("P224 has no OpenSSH form: empty strings, as upstream", async () => {
    const { outputs } = await tls.create(t("tls"), { algorithm: "ECDSA", ecdsaCurve: "P224", rsaBits: 2048 }, false);
    expect(outputs.publicKeyOpenssh).toBe("");
    expect(secretValue(outputs.privateKeyOpenssh)).toBe("");
  });

  (hasSshKeygen() ? it : it.skip)("OpenSSH private keys are read by ssh-keygen", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "runner-ssh-"));
    for (const [type, o] of [["ed25519", {}], ["rsa", { modulusLength: 2048 }], ["ec", { namedCurve: "P-384" }]] as const) {
      const { privateKey, publicKey } = crypto.generateKeyPairSync(type as "ed25519", o as object);
      fs.writeFileSync(path.join(dir, "k"), opensshPrivateKey(privateKey), { mode: 0o600 });
      expect(execFileSync("ssh-keygen", ["-y", "-f", path.join(dir, "k")]).toString().trim()).toBe(authorizedKey(publicKey).trim());
    }
  });
});

describe("command stand-ins", () => {
  it("local: create, update with the previous output in the environment, delete; stdout trimmed", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "runner-cmd-"));
    const lines: string[] = [];
    const cmd = new EngineProvider(new LocalCommand(dir, (l) => lines.push(l)));
    const inputs: PropertyMap = { create: "echo made-$X; echo one > f", update: "echo again:$PULUMI_COMMAND_STDOUT", delete: "rm f", environment: { X: "1" } };
    const made = await cmd.create(t("command:local:Command", "c"), inputs, false);
    expect(made.outputs.stdout).toBe("made-1");
    expect(made.id).toMatch(/^c[0-9a-f]{8}$/);
    expect(fs.existsSync(path.join(dir, "f"))).toBe(true);
    const updated = await cmd.update(t("command:local:Command", "c"), made.id, inputs, made.outputs, inputs, false);
    expect(updated.stdout).toBe("again:made-1");
    await cmd.delete(t("command:local:Command", "c"), made.id, inputs, updated);
    expect(fs.existsSync(path.join(dir, "f"))).toBe(false);
    expect(lines).toContain("    [c] made-1");
  });

  it("local: a failing command fails the step with its output", async () => {
    const cmd = new EngineProvider(new LocalCommand(os.tmpdir(), () => undefined));
    await expect(cmd.create(t("command:local:Command"), { create: "echo nope >&2; exit 3" }, false)).rejects.toThrow(/exited with status 3.*\n.*nope/);
  });

  it("triggers and connection replace, other changes update", async () => {
    const cmd = new EngineProvider(new LocalCommand(os.tmpdir(), () => undefined));
    expect((await cmd.diff(t("c"), "i", { create: "a", triggers: [1] }, {}, { create: "a", triggers: [2] }, [])).replaces).toEqual(["triggers"]);
    expect(await cmd.diff(t("c"), "i", { create: "a" }, {}, { create: "b" }, [])).toEqual({ changes: "some", replaces: [], deleteBeforeReplace: false });
  });

  it("remote: refuses credentials in the stack and hosts without a pinned key, before connecting", async () => {
    const hosts = PinnedHosts.fromConfig({ "rplan:nodes": JSON.parse('[{"name":"n1","ssh":{"host":"10.0.0.1","port":22,"user":"root","hostKeys":["ssh-ed25519 AAAA"]}}]') }, "rplan");
    const remote = new EngineProvider(new RemoteCommand(hosts, () => undefined));
    const checked = await remote.check(t("command:remote:Command"), {}, { connection: { host: "10.0.0.1", password: "pw" }, create: "true" });
    expect(checked.failures.map((f) => f.property)).toEqual(["connection.password"]);
    expect(isSecret(checked.inputs.connection)).toBe(true);
    // An unpinned host fails Check, i.e. already in preview; an unknown one (preview) is checked at up.
    const unpinned = await remote.check(t("command:remote:Command"), {}, { connection: { host: "10.9.9.9" }, create: "true" });
    expect(unpinned.failures).toEqual([{ property: "connection.host", reason: expect.stringMatching(/no pinned host key for 10\.9\.9\.9:22/) }]);
    expect((await remote.check(t("command:remote:Command"), {}, { connection: { host: UNKNOWN }, create: "true" })).failures).toEqual([]);
    await expect(remote.create(t("command:remote:Command", "x"), { connection: { host: "10.9.9.9", port: 22, user: "root" }, create: "true" }, false)).rejects.toThrow(
      /no pinned host key for 10\.9\.9\.9:22 .*never trusts a host key on first use/,
    );
  });
});
