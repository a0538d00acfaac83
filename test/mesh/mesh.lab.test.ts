/**
 * VpnMesh end to end on real hosts (the lab, or the private harness: see ./targets.ts), driving the
 * providers' implementations in the engine's order (./driver.ts):
 * mesh up with the full connectivity matrix, keys born in the encrypted mount, idempotence,
 * compression on the wire, rotation (old key refused, brief split), revocation with the revoked
 * node still running and reconnecting (never contacted by the update; refused by every survivor
 * within seconds), a survivor that still accepts it makes the check fail loudly, and re-admission
 * only with a new key.
 */
import * as fs from "fs";
import type { ClusterConfig } from "../../planning/config";
import * as ssh from "../../transports/ssh";
import { closeAllSsh, SshConnection } from "../../transports/ssh";
import { checkMesh, formatMatrix } from "../../ops/mesh-check";
import * as meshCheck from "../../providers/impl/mesh-check";
import * as hostFiles from "../../providers/impl/host-files";
import { driveMesh, DriveResult, emptyState, MeshState } from "./driver";
import { meshTarget } from "./targets";

const target = meshTarget();
const maybe = target ? describe : describe.skip;
if (!target) console.warn("mesh lab tests SKIPPED: not root and RPLAN_MESH_TARGET unset (lab|harness)");
const LONG = 300_000;
const results: Record<string, unknown> = {};

const ops = (r: DriveResult) => Object.fromEntries(r.steps.map((s) => [s.resource, s.op]));
const sleep = (ms: number) => new Promise((res) => setTimeout(res, ms));

/** Ping `address` every 20 ms for `seconds` from `conn`; the longest gap between answers, in ms. */
async function splitMeter(conn: SshConnection, address: string, seconds: number): Promise<{ maxGapMs: number; answered: number }> {
  const r = await conn.run(["timeout", String(seconds), "ping", "-D", "-n", "-i", "0.02", "-W", "1", address], { allowFailure: true });
  const times = r.stdout.split("\n").filter((l) => l.includes("bytes from")).map((l) => Number(/^\[(\d+\.\d+)\]/.exec(l)?.[1]) * 1000);
  let maxGapMs = 0;
  for (let i = 1; i < times.length; i++) maxGapMs = Math.max(maxGapMs, times[i] - times[i - 1]);
  return { maxGapMs: Math.round(maxGapMs), answered: times.length };
}

/**
 * An attacker's tincd on `conn`'s host (port 656, no tun device) claiming to be `name` with the given
 * private key, connecting to `peer`. True when the peer completed the authentication with it.
 */
async function impostorAccepted(conn: SshConnection, name: string, privateKey: string, peer: { tincName: string }, seconds = 6): Promise<boolean> {
  const dir = "/root/rplan-impostor";
  await conn.run(["sh", "-c", 'rm -rf "$1"; mkdir -p "$1/hosts"; cp "/etc/tinc/rplan/hosts/$2" "$1/hosts/$2"', "sh", dir, peer.tincName]);
  await conn.writeFile(`${dir}/tinc.conf`, `Name = ${name}\nConnectTo = ${peer.tincName}\nDeviceType = dummy\nPort = 656\nAddressFamily = ipv4\n`);
  await conn.writeFile(`${dir}/hosts/${name}`, "Subnet = 198.18.255.254/32\n");
  await conn.writeFile(`${dir}/rsa_key.priv`, privateKey, { mode: "0600" });
  const r = await conn.run(["sh", "-c", 'timeout "$2" tincd -c "$1" -D -d3 --logfile="$1/log" --pidfile="$1/pid" >/dev/null 2>&1; cat "$1/log"; rm -rf "$1"', "sh", dir, String(seconds)], {
    allowFailure: true,
  });
  return new RegExp(`Connection with ${peer.tincName} \\(.*\\) activated`).test(r.stdout);
}

maybe(`VpnMesh on the ${target?.name ?? "lab"}`, () => {
  let nodes: string[];
  let N: number;
  let overrides: Record<string, { state?: "active" | "draining" | "revoked"; vpnKeyGeneration?: number }> = {};
  let state: MeshState = emptyState();
  let cluster: ClusterConfig;
  const conn = (node: string) => target!.conn(cluster, node);
  async function drive(): Promise<DriveResult> {
    cluster = target!.config(N, overrides);
    const r = await driveMesh(cluster, state, { checkTimeoutMs: 20_000 });
    if (r.error) throw r.error;
    state = r.state;
    return r;
  }

  beforeAll(async () => {
    nodes = await target!.prepare(5);
    N = Math.min(5, nodes.length);
    nodes = nodes.slice(0, N);
    cluster = target!.config(N);
    // Start from no mesh at all: what a fresh stack meets.
    await Promise.all(
      nodes.map(async (n) =>
        (await conn(n)).run(["sh", "-c", "systemctl stop tinc@rplan 2>/dev/null; rm -rf /etc/tinc/rplan /srv/crypt/keys/tinc; true"]),
      ),
    );
  }, LONG);

  afterAll(async () => {
    fs.writeFileSync(`/tmp/rplan-mesh-lab-${target!.name}.json`, JSON.stringify(results, null, 2));
    await closeAllSsh();
  });

  test("mesh up: keys born in the encrypted mount, full connectivity matrix", async () => {
    const r = await drive();
    const keyDone = Math.max(...r.steps.filter((s) => s.resource.endsWith("-key")).map((s) => s.endMs));
    const checkStep = r.steps.find((s) => s.resource === "check")!;
    results.meshUp = { nodes: N, totalMs: checkStep.endMs, keysMs: keyDone, filesToVerifiedMs: checkStep.endMs - keyDone };
    console.log(`mesh up (${N} nodes): ${JSON.stringify(results.meshUp)}\n${formatMatrix(nodes, state.check!.matrix)}`);
    for (const from of nodes) for (const to of nodes) if (from !== to) expect(state.check!.matrix[from][to]).toEqual(expect.any(Number));
    for (const n of nodes) {
      const c = await conn(n);
      const ls = await c.run(["sh", "-c", "stat -c '%a %U' /srv/crypt/keys/tinc/rsa_key.priv; findmnt -n -o FSTYPE --target /srv/crypt/keys/tinc/rsa_key.priv; ls /etc/tinc/rplan; openssl rsa -in /srv/crypt/keys/tinc/rsa_key.priv -RSAPublicKey_out 2>/dev/null"]);
      const [mode, fstype] = ls.stdout.split("\n");
      expect(mode).toBe("600 root");
      expect(fstype).toMatch(/gocryptfs/);
      expect(ls.stdout).not.toMatch(/rsa_key\.priv/);
      expect(ls.stdout).toContain(state.keys[n].publicKey);
    }
  }, LONG);

  test("a second run changes nothing and reloads nothing", async () => {
    const r = await drive();
    expect(new Set(Object.values(ops(r)))).toEqual(new Set(["same"]));
  }, LONG);

  test("compression: a compressible payload costs a small fraction of its size on the wire", async () => {
    const [a, b] = nodes;
    const bVpn = cluster.nodes.find((n) => n.name === b)!.vpnAddress;
    const ca = await conn(a);
    const cb = await conn(b);
    const listening = cb.run(["sh", "-c", "timeout 30 nc -l -p 5001 | wc -c"]);
    await sleep(500);
    const payload = 20_000_000;
    const r = await ca.run([
      "sh",
      "-c",
      'tx() { awk "/eth0:/{sub(/.*eth0:/,\\"\\"); print \\$9}" /proc/net/dev; }; b=$(tx); head -c "$1" /dev/zero | nc -N -q1 "$2" 5001; e=$(tx); echo $((e-b))',
      "sh",
      String(payload),
      bVpn,
    ]);
    const received = Number((await listening).stdout.trim());
    const wire = Number(r.stdout.trim());
    results.compression = { payload, received, wireBytes: wire, ratio: +(wire / payload).toFixed(3) };
    console.log(`compression: ${JSON.stringify(results.compression)}`);
    expect(received).toBe(payload);
    expect(wire / payload).toBeLessThan(0.25);
  }, LONG);

  test("rotation: the key is replaced, its hosts/ file changes on every member and nothing else; the old key is refused", async () => {
    const rotated = nodes[1];
    const peer = nodes[0];
    const cr = await conn(rotated);
    const oldKey = (await cr.run(["cat", "/srv/crypt/keys/tinc/rsa_key.priv"])).stdout; // the test plays the thief
    const peerTinc = { tincName: peer.replace(/-/g, "_") };
    const rotatedTinc = rotated.replace(/-/g, "_");
    // Control: with the (still valid) key the impostor does get in — so a refusal later means something.
    expect(await impostorAccepted(cr, rotatedTinc, oldKey, peerTinc)).toBe(true);
    // That accepted impostor bore the real node's name and key: the real tincd met contradicting
    // edges about itself, and tinc 1.0 then backs off ("Possible node with same Name as us!",
    // sleeping longer each time). Once, in CI, the pair had not reconnected 30 s later. Restart it
    // and wake the peer (SIGALRM: connect now) so the baseline below does not wait on that backoff.
    await cr.run(["systemctl", "restart", "tinc@rplan"], { label: "restart tinc after the impostor control" });
    await (await conn(peer)).run(["systemctl", "kill", "--signal=ALRM", "tinc@rplan"], { label: "wake tinc after the impostor control" });
    const healed = await checkMesh(state.check!, { timeoutMs: 30_000 });
    expect(healed.findings).toEqual([]);

    overrides = { ...overrides, [rotated]: { ...overrides[rotated], vpnKeyGeneration: 2 } };
    const meter = splitMeter(await conn(peer), cluster.nodes.find((n) => n.name === rotated)!.vpnAddress, 12);
    const bystanders = N >= 4 ? splitMeter(await conn(nodes[2]), cluster.nodes.find((n) => n.name === nodes[3])!.vpnAddress, 12) : undefined;
    await sleep(300);
    const oldFingerprint = state.keys[rotated].fingerprint;
    const r = await drive();
    const o = ops(r);
    expect(o[`${rotated}-key`]).toBe("replace");
    for (const n of nodes) {
      expect(o[`${n}-tinc-hosts`]).toBe("update");
      expect(r.steps.find((s) => s.resource === `${n}-tinc-hosts`)!.lastApply!.written).toEqual([`/etc/tinc/rplan/hosts/${rotatedTinc}`]);
      if (n !== rotated) expect(o[`${n}-key`]).toBe("same");
      expect(o[`${n}-tinc-self`]).toBe(n === rotated ? "update" : "same");
    }
    expect(state.keys[rotated].fingerprint).not.toBe(oldFingerprint);
    const split = await meter;
    const bystander = await bystanders;
    const keyStep = r.steps.find((s) => s.resource === `${rotated}-key`)!;
    const selfStep = r.steps.find((s) => s.resource === `${rotated}-tinc-self`)!;
    results.rotation = {
      totalMs: r.steps.find((s) => s.resource === "check")!.endMs,
      keyGenerationMs: keyStep.endMs - keyStep.startMs,
      distributeAndRestartMs: selfStep.endMs - keyStep.endMs,
      splitMaxGapMs: split.maxGapMs,
      bystanderMaxGapMs: bystander?.maxGapMs,
    };
    console.log(`rotation: ${JSON.stringify(results.rotation)}`);
    // How long the split lasts is the benchmark's to measure (npm run bench mesh); here: it heals.
    expect(split.answered).toBeGreaterThan(0);

    // The stolen old key no longer gets in.
    expect(await impostorAccepted(cr, rotatedTinc, oldKey, peerTinc)).toBe(false);
    expect((await cr.run(["sh", "-c", "grep -rl 'BEGIN RSA PRIVATE KEY' /srv/crypt/keys/tinc /etc/tinc 2>/dev/null || true"])).stdout.trim()).toBe("/srv/crypt/keys/tinc/rsa_key.priv");
    expect((await checkMesh(state.check!, { timeoutMs: 30_000 })).findings).toEqual([]);
  }, LONG);

  test("revocation: never contacts the revoked node; every survivor refuses it within seconds while it keeps trying", async () => {
    const revoked = nodes[N - 1];
    const survivors = nodes.filter((n) => n !== revoked);
    const rc = await conn(revoked);
    const beforeSec = Math.floor(Date.now() / 1000);
    const contacted: string[] = [];
    const real = ssh.sshConnection;
    const spy = jest.spyOn(ssh, "sshConnection").mockImplementation((t: ssh.SshTarget) => {
      contacted.push(t.node);
      return real(t);
    });
    overrides = { ...overrides, [revoked]: { state: "revoked" } };
    let r: DriveResult;
    try {
      r = await drive();
    } finally {
      spy.mockRestore();
    }
    expect(contacted).not.toContain(revoked);
    expect(new Set(contacted)).toEqual(new Set(survivors));
    const o = ops(r);
    for (const s of survivors) {
      expect(o[`${s}-tinc-hosts`]).toBe("update");
      expect(r.steps.find((x) => x.resource === `${s}-tinc-hosts`)!.lastApply!.removed).toEqual([`/etc/tinc/rplan/hosts/${revoked.replace(/-/g, "_")}`]);
      expect(o[`${s}-tinc-self`]).toBe("same");
    }
    const start = Math.min(...r.steps.filter((s) => s.op === "update" && s.resource.endsWith("-tinc-hosts")).map((s) => s.startMs));
    const checkStart = r.steps.find((s) => s.resource === "check")!.startMs;
    const perSurvivor = Object.fromEntries(Object.entries(state.check!.refusedBy[revoked]).map(([s, ms]) => [s, ms === null ? null : checkStart + ms - start]));
    results.revocation = { perSurvivorMs: perSurvivor, hostsUpdatesMs: Object.fromEntries(r.steps.filter((s) => s.resource.endsWith("-tinc-hosts")).map((s) => [s.resource, s.endMs - s.startMs])) };
    console.log(`revocation (from the start of the survivors' updates until each refuses it, verified): ${JSON.stringify(results.revocation)}`);
    // each survivor proved the refusal (how fast is the benchmark's)
    for (const s of survivors) expect(state.check!.refusedBy[revoked][s]).toEqual(expect.any(Number));

    // The revoked node is still running and trying; it reaches nobody, and survivors refuse it.
    await sleep(12_000);
    expect((await rc.run(["systemctl", "is-active", "--quiet", "tinc@rplan"], { allowFailure: true })).code).toBe(0);
    for (const s of survivors) {
      const vpn = cluster.nodes.find((n) => n.name === s)!.vpnAddress;
      expect((await rc.run(["ping", "-c", "1", "-W", "1", vpn], { allowFailure: true })).code).not.toBe(0);
    }
    const publicAddress = cluster.nodes.find((n) => n.name === revoked)!.publicAddress;
    const refused = new RegExp(`Peer ${publicAddress.replace(/\./g, "\\.")} port \\d+ had unknown identity \\(${revoked.replace(/-/g, "_")}\\)`);
    const refusals = await Promise.all(survivors.map(async (s) => (refused.test(await target!.tincLog(await conn(s), beforeSec)) ? s : undefined)));
    expect(refusals.filter(Boolean).length).toBeGreaterThan(0);
    const report = await checkMesh(state.check!, { timeoutMs: 0 });
    expect(report.findings).toEqual([]);
  }, LONG);

  test("a survivor that still accepts the revoked node makes the check fail loudly, naming it", async () => {
    const revoked = nodes[N - 1];
    const traitor = nodes[0];
    const tname = revoked.replace(/-/g, "_");
    const tc = await conn(traitor);
    // Sabotage: put the revoked node's hosts/ file back (any copy will do) and reload.
    await tc.run(["sh", "-c", `cp /etc/tinc/rplan/hosts/$(ls /etc/tinc/rplan/hosts | head -n1) /etc/tinc/rplan/hosts/${tname} && systemctl try-reload-or-restart tinc@rplan`]);
    await expect(meshCheck.create({ ...state.check!, timeoutMs: 2000 })).rejects.toThrow(new RegExp(`\\[${traitor}\\] revoked node ${revoked}[\\s\\S]*A REVOKED NODE IS STILL ACCEPTED by: ${traitor}`));
    // Refresh sees the stray file; the next update removes it (hosts/ is owned outright).
    const refreshed = (await hostFiles.read("id", state.hosts[traitor])).props as hostFiles.HostFilesOutputs;
    expect(refreshed.files.map((f) => f.path)).toContain(`/etc/tinc/rplan/hosts/${tname}`);
    state = { ...state, hosts: { ...state.hosts, [traitor]: refreshed } };
    const r = await drive();
    expect(r.steps.find((s) => s.resource === `${traitor}-tinc-hosts`)!.lastApply!.removed).toEqual([`/etc/tinc/rplan/hosts/${tname}`]);
    expect((await checkMesh(state.check!, { timeoutMs: 10_000 })).findings).toEqual([]);
  }, LONG);

  test("re-admission only with a new key: the pre-revocation key stays refused", async () => {
    const back = nodes[N - 1];
    const bc = await conn(back);
    const stolen = (await bc.run(["cat", "/srv/crypt/keys/tinc/rsa_key.priv"])).stdout;
    const oldFingerprint = (await bc.run(["sh", "-c", "sed -n 's/^fingerprint=//p' /etc/tinc/rplan/rplan-identity"])).stdout.trim();
    overrides = { ...overrides, [back]: { state: "active" } };
    const r = await drive();
    expect(ops(r)[`${back}-key`]).toBe("create");
    expect(state.keys[back].fingerprint).not.toBe(oldFingerprint);
    for (const from of nodes) for (const to of nodes) if (from !== to) expect(state.check!.matrix[from][to]).toEqual(expect.any(Number));
    expect(await impostorAccepted(bc, back.replace(/-/g, "_"), stolen, { tincName: nodes[0].replace(/-/g, "_") })).toBe(false);
  }, LONG);
});
