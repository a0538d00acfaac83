/**
 * Host-key checks without a lab: throwaway SSH servers on 127.0.0.1 (ssh2's Server class, each with
 * a fresh host key; test/support/fake-sshd.ts) stand in for nodes. The transport's pinning is
 * checked against a real SSH handshake; `npm run status` and `npm run unlock` run as admins run
 * them, against a stack config file naming those servers. (The lab test proves the same against
 * real sshd: test/host-keys.lab.test.ts.)
 */
import { execFile } from "child_process";
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { validateClusterConfig } from "../planning/config";
import { formatHostStatus, hostStatus, hostStatusOk } from "../ops/host-status";
import { unlockEncryptedMount } from "../ops/unlock";
import { closeAllSsh, fingerprint, HostKeyMismatch, hostKeyMatches, parseHostKey, sshConnection } from "../transports/ssh";
import { rawConfig, rawNode } from "./support/config-fixture";
import { adminKeyFile, closedPort, FakeSshd, newKeyPair, startFakeSshd, tempDir } from "./support/fake-sshd";

const PROJECT = path.resolve(__dirname, "..");
/** What the mount probe prints for an unlocked LUKS mount (planning/encrypted-mount.ts). */
const UNLOCKED = (cmd: string) => (cmd.includes("findmnt") ? { stdout: "mount ext4 /dev/mapper/crypt\ncrypt LUKS2\n" } : {});
const LOCKED = () => ({});

describe("host keys and node status against throwaway SSH servers", () => {
  const dir = tempDir("rplan-host-status-");
  const key = adminKeyFile(dir);
  const servers: FakeSshd[] = [];
  let ok: FakeSshd, locked: FakeSshd, swapped: FakeSshd, revoked: FakeSshd;
  let deadPort: number;
  const otherKey = newKeyPair().public;

  beforeAll(async () => {
    process.env.RPLAN_SSH_KEY = key;
    ok = await startFakeSshd({ exec: UNLOCKED });
    locked = await startFakeSshd({ exec: LOCKED });
    swapped = await startFakeSshd({ exec: UNLOCKED });
    revoked = await startFakeSshd({ exec: UNLOCKED });
    servers.push(ok, locked, swapped, revoked);
    deadPort = await closedPort();
  });
  afterAll(async () => {
    await closeAllSsh();
    for (const s of servers) await s.close();
    delete process.env.RPLAN_SSH_KEY;
    fs.rmSync(dir, { recursive: true, force: true });
  });
  afterEach(() => closeAllSsh());

  /** A raw stack config whose nodes are the fake servers (n3 pins a key its server does not have). */
  function raw(nodes: { name: string; port: number; hostKey: string; country: string; state?: string }[]) {
    const r = rawConfig();
    r.nodes = nodes.map((n, i) => ({ ...rawNode(i + 1, n.country), name: n.name, ssh: { host: "127.0.0.1", port: n.port, user: "root", hostKeys: [n.hostKey] }, ...(n.state ? { state: n.state } : {}) }));
    return r;
  }
  const fourNodes = () =>
    raw([
      { name: "n1", port: ok.port, hostKey: ok.hostKey, country: "NL" },
      { name: "n2", port: locked.port, hostKey: locked.hostKey, country: "DE" },
      { name: "n3", port: swapped.port, hostKey: otherKey, country: "SE" },
      { name: "n4", port: revoked.port, hostKey: revoked.hostKey, country: "IS", state: "revoked" },
    ]);

  test("the verifier accepts exactly the pinned key blob", () => {
    const pinned = [ok.hostKey];
    expect(hostKeyMatches(pinned, parseHostKey(ok.hostKey).blob)).toBe(true);
    expect(hostKeyMatches(pinned, parseHostKey(otherKey).blob)).toBe(false);
    expect(hostKeyMatches([otherKey, ok.hostKey], parseHostKey(ok.hostKey).blob)).toBe(true);
  });

  test("a server presenting its pinned key is connected to and runs commands", async () => {
    const conn = await sshConnection({ node: "n1", host: "127.0.0.1", port: ok.port, hostKeys: [ok.hostKey] });
    expect((await conn.exec("findmnt")).stdout).toContain("LUKS2");
    expect(ok.logins()).toBeGreaterThan(0);
  });

  test("a server presenting another key is refused before any login, naming the node and both fingerprints", async () => {
    const loginsBefore = swapped.logins();
    const connectionsBefore = swapped.connections();
    const err = await sshConnection({ node: "n3", host: "127.0.0.1", port: swapped.port, hostKeys: [otherKey] }).catch((e) => e);
    expect(err).toBeInstanceOf(HostKeyMismatch);
    expect(err.node).toBe("n3");
    expect(err.message).toContain(`[n3] host key mismatch at 127.0.0.1:${swapped.port}`);
    expect(err.message).toContain(`presented ${fingerprint(parseHostKey(swapped.hostKey).blob)}`);
    expect(err.message).toContain(fingerprint(parseHostKey(otherKey).blob));
    // the server was reached (positive control) but nobody logged in and no command ran
    expect(swapped.connections()).toBe(connectionsBefore + 1);
    expect(swapped.logins()).toBe(loginsBefore);
  });

  test("hostStatus: OK, LOCKED, MISMATCH, unreachable, and a revoked node never contacted", async () => {
    const r = fourNodes();
    r.nodes.push({ ...rawNode(5, "FR"), name: "n5", ssh: { host: "127.0.0.1", port: deadPort, user: "root", hostKeys: [otherKey] } });
    const cluster = validateClusterConfig(r);
    const before = revoked.connections();
    const rows = await hostStatus(cluster);
    expect(rows.map((x) => [x.node, x.hostKey, x.mount])).toEqual([
      ["n1", "OK", "unlocked"],
      ["n2", "OK", "LOCKED"],
      ["n3", "MISMATCH", "-"],
      ["n4", "not contacted", "-"],
      ["n5", "unreachable", "-"],
    ]);
    expect(revoked.connections()).toBe(before);
    expect(hostStatusOk(rows)).toBe(false);
    const text = formatHostStatus(cluster, rows);
    expect(text).toMatch(/^node +address +host key +mount +state$/m);
    expect(text).toMatch(new RegExp(`^n3 +127\\.0\\.0\\.1:${swapped.port} +MISMATCH +- +active$`, "m"));
    expect(text).toContain("REFUSED: host key mismatch on n3");
    expect(text).toContain("encrypted mount /srv/crypt on node n2 is locked");
    expect(text).toMatch(/NOT OK$/);
  });

  function cli(script: string, args: string[], configFile: string, stdin = ""): Promise<{ code: number; out: string }> {
    return new Promise((resolve) => {
      const child = execFile(process.execPath, ["-r", "ts-node/register", script, ...args, "--stack", "unit", "--config", configFile], { cwd: PROJECT, env: { ...process.env, RPLAN_SSH_KEY: key, TS_NODE_TRANSPILE_ONLY: "1" } }, (e, stdout, stderr) =>
        resolve({ code: e ? ((e as any).code ?? 1) : 0, out: stdout + stderr }),
      );
      child.stdin?.end(stdin);
    });
  }
  const writeConfig = (name: string, r: Record<string, any>) => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, YAML.stringify({ config: Object.fromEntries(Object.entries(r).map(([k, v]) => [`rplan:${k}`, v])) }));
    return file;
  };

  test("`npm run status` prints the table and exits 1 naming the node whose host key does not match; 0 when all is well", async () => {
    const bad = await cli("cli/status.ts", [], writeConfig("bad.yaml", fourNodes()));
    expect(bad.code).toBe(1);
    expect(bad.out).toMatch(/^n1 +127\.0\.0\.1:\d+ +OK +unlocked +active$/m);
    expect(bad.out).toMatch(/^n3 +127\.0\.0\.1:\d+ +MISMATCH/m);
    expect(bad.out).toMatch(/^n4 +127\.0\.0\.1:\d+ +not contacted +- +revoked$/m);
    expect(bad.out).toContain("[n3] host key mismatch");
    const good = raw([
      { name: "n1", port: ok.port, hostKey: ok.hostKey, country: "NL" },
      { name: "n2", port: swapped.port, hostKey: swapped.hostKey, country: "DE" },
      { name: "n3", port: revoked.port, hostKey: revoked.hostKey, country: "SE" },
    ]);
    const fine = await cli("cli/status.ts", [], writeConfig("good.yaml", good));
    expect(fine.out).toMatch(/OK$/m);
    expect(fine.code).toBe(0);
  }, 60_000);

  test("`npm run status` with a bad argument contacts no host", async () => {
    const before = servers.map((s) => s.connections());
    const r = await cli("cli/status.ts", ["now"], writeConfig("args.yaml", fourNodes()));
    expect(r).toMatchObject({ code: 2, out: expect.stringContaining("status: unknown arguments: now") });
    expect(servers.map((s) => s.connections())).toEqual(before);
  }, 60_000);

  test("unlocking an unlocked mount says so and runs nothing but the probe", async () => {
    const before = ok.commands.length;
    const cluster = validateClusterConfig(fourNodes());
    const n1 = cluster.nodes[0];
    expect(await unlockEncryptedMount({ node: "n1", ...n1.ssh }, n1.encryptedMount, "unused")).toBe("already unlocked");
    expect(ok.commands.slice(before)).toEqual([expect.stringContaining("findmnt")]);
    // `npm run unlock` says so without asking for a passphrase (stdin is empty: asking would fail)
    const r = await cli("cli/unlock.ts", ["n1"], writeConfig("unlock.yaml", fourNodes()));
    expect(r).toMatchObject({ code: 0, out: expect.stringContaining("n1: /srv/crypt was already unlocked; nothing was done") });
    // and on a locked mount it does ask (here: nothing on stdin, so it stops before running anything else)
    const lockedBefore = locked.commands.length;
    const l = await cli("cli/unlock.ts", ["n2"], writeConfig("unlock2.yaml", fourNodes()));
    expect(l).toMatchObject({ code: 1, out: expect.stringContaining("unlock: nothing on stdin") });
    expect(locked.commands.slice(lockedBefore)).toEqual([expect.stringContaining("findmnt")]);
  }, 60_000);
});
