/**
 * The VPN mesh end to end on the lab, through the real program (index.ts) run by the stack runner
 * as admins run it (`npm run stack -- preview|up`), one state file, one `up` per state:
 * mesh up from nothing (keys born in the encrypted mount, full connectivity matrix), a second run
 * that changes and reloads nothing, compression on the wire, rotating lab2's key (exactly its key
 * and its hosts/ file on every member change; the stolen old key is refused), revoking lab3 while
 * it keeps running and reconnecting (never contacted; every survivor refuses it), a survivor that
 * still accepts it failing the check loudly by name, and re-admission only with a new key.
 * The zone rides along (no extra revocation): a no-op run keeps its serial; the revocation withdraws
 * lab3 from the zone every survivor serves (asked with kdig from each survivor), the DnsCheck proves
 * it from every survivor, and a survivor that still serves lab3 fails it loudly by name.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parseDocument } from "yaml";
import { ensureLab, labSshTarget, labStackConfigPath } from "../../lab";
import { SSH_KEY as LAB_SSH_KEY } from "../../lab/state";
import { checkMesh, checkSpecFromConfig, CheckSpec, formatMatrix } from "../../ops/mesh-check";
import { logSinceCommand } from "../../planning/logs";
import { acceptsRevoked } from "../../planning/mesh";
import * as meshCheck from "../../providers/impl/mesh-check";
import * as dnsCheck from "../../providers/impl/dns-check";
import { checkDns } from "../../ops/dns-check";
import { dkimResults, kdigAll, serialOf, txt, zoneQueries } from "../support/dns";
import type { HostFilesOutputs } from "../../providers/impl/host-files";
import { runStack, RunResult, RunStep } from "../../runner";
import { readClusterConfig } from "../../stack-file/config";
import { closeAllSsh, sshConnection, SshConnection } from "../../transports/ssh";
import { acceptedLogins, controlLogin } from "../support/lab-logins";
import { LAB_STACK_FILES } from "../../lab/stack-files";

const maybe = process.getuid?.() === 0 ? describe : describe.skip;
if (process.getuid?.() !== 0) console.warn("mesh lab tests SKIPPED: the lab needs root");
const LONG = 600_000;
const NODES = ["lab1", "lab2", "lab3"];
const DOMAIN = "lab.rplan.test";
const ADDRESS: Record<string, string> = { lab1: "198.51.100.11", lab2: "198.51.100.12", lab3: "198.51.100.13" };
const sleep = (ms: number) => new Promise((res) => setTimeout(res, ms));

/** Ping `address` every 20 ms from `conn` until `stop()`; the longest gap between answers, in ms. */
async function splitMeter(conn: SshConnection, address: string): Promise<{ stop: () => Promise<{ maxGapMs: number; answered: number }> }> {
  const pidFile = "/run/rplan-split-meter.pid";
  const running = conn.run(["sh", "-c", 'echo $$ > "$1"; exec ping -D -n -i 0.02 -W 1 -w 600 "$2"', "sh", pidFile, address], { allowFailure: true });
  await sleep(300);
  return {
    async stop() {
      await conn.run(["sh", "-c", 'kill -INT "$(cat "$1")"; rm -f "$1"', "sh", pidFile], { allowFailure: true });
      const r = await running;
      const times = r.stdout.split("\n").filter((l) => l.includes("bytes from")).map((l) => Number(/^\[(\d+\.\d+)\]/.exec(l)?.[1]) * 1000);
      let maxGapMs = 0;
      for (let i = 1; i < times.length; i++) maxGapMs = Math.max(maxGapMs, times[i] - times[i - 1]);
      return { maxGapMs: Math.round(maxGapMs), answered: times.length };
    },
  };
}

/**
 * A test message signed on `conn`'s node with that node's DKIM key by opendkim's own test tool (the
 * key never leaves the node). The tool signs with rsa-sha1; what matters here is the selector.
 */
async function signedOn(conn: SshConnection, node: string): Promise<Buffer> {
  const message = `From: postmaster@${DOMAIN}\nTo: someone@example.net\nSubject: signed by ${node}\nDate: ${new Date().toUTCString()}\nMessage-ID: <${Date.now()}@${node}.${DOMAIN}>\n\nsigned with ${node}'s key\n`;
  const r = await conn.run(["sh", "-c", 'printf "%s" "$1" | opendkim-testmsg -d "$2" -s "$3" -k /srv/crypt/keys/opendkim/dkim.private | base64 -w0', "sh", message, DOMAIN, node]);
  return Buffer.from(r.stdout.trim(), "base64");
}


/**
 * An attacker's tincd on `conn`'s host (port 656, no tun device) claiming to be `name` with the given
 * private key, connecting to `peer`. True when the peer completed the authentication with it.
 */
async function impostorAccepted(conn: SshConnection, name: string, privateKey: string, peer: string, seconds = 6): Promise<boolean> {
  const dir = "/root/rplan-impostor";
  await conn.run(["sh", "-c", 'rm -rf "$1"; mkdir -p "$1/hosts"; cp "/etc/tinc/rplan/hosts/$2" "$1/hosts/$2"', "sh", dir, peer]);
  await conn.writeFile(`${dir}/tinc.conf`, `Name = ${name}\nConnectTo = ${peer}\nDeviceType = dummy\nPort = 656\nAddressFamily = ipv4\n`);
  await conn.writeFile(`${dir}/hosts/${name}`, "Subnet = 198.18.255.254/32\n");
  await conn.writeFile(`${dir}/rsa_key.priv`, privateKey, { mode: "0600" });
  const r = await conn.run(["sh", "-c", 'timeout "$2" tincd -c "$1" -D -d3 --logfile="$1/log" --pidfile="$1/pid" >/dev/null 2>&1; cat "$1/log"; rm -rf "$1"', "sh", dir, String(seconds)], {
    allowFailure: true,
  });
  return new RegExp(`Connection with ${peer} \\(.*\\) activated`).test(r.stdout);
}

/** tincd's lines and systemd's about its unit, since `sinceSec` (epoch seconds), from the node's one log. */
async function tincLog(conn: SshConnection, sinceSec: number): Promise<string> {
  return (await conn.run(["sh", "-c", `${logSinceCommand(`@${sinceSec}`)} | grep -E ' ((tincd|tinc\\.rplan)\\[[0-9]+\\]: |systemd\\[1\\]: .*tinc@rplan)' || true`], { allowFailure: true })).stdout;
}

/** The tinc daemon's main PID and how many reloads or (re)starts its log shows since `sinceSec`. */
async function tincdActivity(conn: SshConnection, sinceSec: number): Promise<{ pid: string; reloads: number }> {
  const pid = (await conn.run(["systemctl", "show", "tinc@rplan", "-p", "MainPID", "--value"])).stdout.trim();
  const log = await tincLog(conn, sinceSec);
  return { pid, reloads: log.split("\n").filter((l) => /Reloading|Got .* signal|Starting|Stopping/.test(l)).length };
}

maybe("VpnMesh on the lab, through the real program", () => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "rplan-mesh-lab-"));
  const stateFile = path.join(work, "state.json");
  const env = { RPLAN_SSH_KEY: LAB_SSH_KEY };
  const results: Record<string, unknown> = {};
  const conns: Record<string, SshConnection> = {};
  const conn = async (node: string) => (conns[node] ??= await sshConnection(labSshTarget(node)));
  const run = (op: "preview" | "up" | "refresh", configFile: string): Promise<RunResult> => runStack({ op, stack: "lab", stackFiles: LAB_STACK_FILES, stateFile, configFile, env });
  const changes = (r: { steps: RunStep[] }) => r.steps.filter((s) => s.op !== "same").map((s) => `${s.op} ${s.name}`).sort();
  const meshChanges = (r: { steps: RunStep[] }) => changes(r).filter((c) => / mesh-/.test(c));
  const step = (r: RunResult, name: string) => r.steps.find((s) => s.name === name)!;
  /** A copy of the lab's stack config with its first three nodes, `edit` applied to them. */
  const variant = (file: string, edit: (nodes: any) => void = () => {}): string => {
    const doc = parseDocument(fs.readFileSync(labStackConfigPath(), "utf8"));
    const nodes = doc.getIn(["config", "rplan:nodes"]) as any;
    while (nodes.items.length > NODES.length) nodes.items.pop();
    expect(nodes.items.map((n: any) => n.get("name"))).toEqual(NODES);
    edit(nodes);
    const out = path.join(work, file);
    fs.writeFileSync(out, doc.toString());
    return out;
  };
  /** A resource's outputs in the runner's state (written whole at the end of every run). */
  const outputsOf = <T>(name: string): T => {
    const state = JSON.parse(fs.readFileSync(stateFile, "utf8")) as { resources: { name: string; delete?: boolean; outputs: T }[] };
    const r = state.resources.find((x) => x.name === name && !x.delete);
    if (!r) throw new Error(`${name} is not in the state`);
    return r.outputs;
  };
  const specOf = (configFile: string): CheckSpec => checkSpecFromConfig(readClusterConfig({ stack: "lab", configFile }));
  let base: string;
  let rotated: string;
  let revoked: string;
  let fingerprintsAtUp: Record<string, string> = {};
  let serialAtUp = 0;
  /** What every server in `servers` answers to `from` (kdig on `from`). */
  const zoneSeen = async (from: string, servers: string[]) => kdigAll(await conn(from), servers.map((s) => ADDRESS[s]), zoneQueries(DOMAIN, NODES));

  beforeAll(async () => {
    // At least three nodes: a bigger lab left by other work is used as it is (its extra nodes are
    // simply not in this stack), never torn down.
    await ensureLab({ nodes: NODES.length });
    process.env.RPLAN_SSH_KEY = LAB_SSH_KEY; // for the probes and the check run in this process
    base = variant("base.yaml");
    rotated = variant("rotated.yaml", (nodes) => nodes.items[1].set("vpnKeyGeneration", 2));
    revoked = variant("revoked.yaml", (nodes) => {
      nodes.items[1].set("vpnKeyGeneration", 2);
      nodes.items[2].set("state", "revoked");
    });
    // Start from no mesh at all: what a fresh stack meets.
    await Promise.all(NODES.map(async (n) => (await conn(n)).run(["sh", "-c", "systemctl stop tinc@rplan 2>/dev/null; rm -rf /etc/tinc/rplan /srv/crypt/keys/tinc; true"])));
  }, LONG);

  afterAll(async () => {
    fs.writeFileSync("/tmp/rplan-mesh-lab.json", JSON.stringify(results, null, 2));
    await closeAllSsh();
  });

  test("mesh up: keys born in the encrypted mount, full connectivity matrix", async () => {
    const r = await run("up", base);
    for (const n of NODES) expect(step(r, `mesh-${n}-key`).op).toBe("create");
    const keys = NODES.map((n) => step(r, `mesh-${n}-key`));
    const check = step(r, "mesh-check");
    const keysDone = Math.max(...keys.map((s) => s.endedAt!));
    results.meshUp = { nodes: NODES.length, upMs: r.timings.totalMs, meshMs: check.endedAt! - Math.min(...keys.map((s) => s.startedAt!)), filesToVerifiedMs: check.endedAt! - keysDone };
    const matrix = r.outputs.vpnMatrix as Record<string, Record<string, number | null>>;
    console.log(`mesh up (${NODES.length} nodes): ${JSON.stringify(results.meshUp)}\n${formatMatrix(NODES, matrix)}`);
    for (const from of NODES) for (const to of NODES) if (from !== to) expect(matrix[from][to]).toEqual(expect.any(Number));
    const publicKeys = r.outputs.vpnPublicKeys as Record<string, string>;
    fingerprintsAtUp = r.outputs.vpnFingerprints as Record<string, string>;
    serialAtUp = r.outputs.dnsSerial as number;
    expect(Object.keys(fingerprintsAtUp).sort()).toEqual(NODES);
    for (const n of NODES) {
      const ls = await (await conn(n)).run(["sh", "-c", "stat -c '%a %U' /srv/crypt/keys/tinc/rsa_key.priv; findmnt -n -o FSTYPE --target /srv/crypt/keys/tinc/rsa_key.priv; ls /etc/tinc/rplan; openssl rsa -in /srv/crypt/keys/tinc/rsa_key.priv -RSAPublicKey_out 2>/dev/null"]);
      const [mode, fstype] = ls.stdout.split("\n");
      expect(mode).toBe("600 root");
      expect(fstype).toMatch(/gocryptfs/);
      expect(ls.stdout).not.toMatch(/rsa_key\.priv/);
      expect(ls.stdout).toContain(publicKeys[n].trim());
    }
  }, LONG);

  test("a second run changes nothing and reloads nothing", async () => {
    const since = Math.floor(Date.now() / 1000);
    const before = await Promise.all(NODES.map(async (n) => (await tincdActivity(await conn(n), since)).pid));
    const r = await run("up", base);
    expect(changes(r)).toEqual([]);
    expect(r.changed).toBe(false);
    await sleep(1000);
    const after = await Promise.all(NODES.map(async (n) => tincdActivity(await conn(n), since)));
    expect(after.map((a) => a.pid)).toEqual(before);
    expect(after.map((a) => a.reloads)).toEqual(NODES.map(() => 0));
    // nor the zone: same serial in the state and on every server
    expect(r.outputs.dnsSerial).toBe(serialAtUp);
    const seen = await zoneSeen("lab1", NODES);
    for (const s of NODES) expect(serialOf(seen[ADDRESS[s]][`${DOMAIN} SOA`])).toBe(serialAtUp);
  }, LONG);

  test("compression: a compressible payload costs a small fraction of its size on the wire, and tincd no page faults per packet", async () => {
    const ca = await conn("lab1");
    const cb = await conn("lab2");
    const listening = cb.run(["sh", "-c", "timeout 30 nc -l -p 5001 | wc -c"]);
    await sleep(500);
    const payload = 20_000_000;
    const r = await ca.run([
      "sh",
      "-c",
      // Also tincd's minor page faults and the VPN's packets (both ways): zlib's per-packet state
      // is reused from the heap (planning/mesh/render.ts TINC_MALLOC_TRIM_THRESHOLD); without the
      // drop-in the lab counted 13 faults a packet.
      'tx() { awk "/eth0:/{sub(/.*eth0:/,\\"\\"); print \\$9}" /proc/net/dev; }; flt() { awk "{print \\$10}" /proc/$(pgrep -x tincd)/stat; }; pk() { awk "/rplan:/{sub(/.*rplan:/,\\"\\"); print \\$2+\\$10}" /proc/net/dev; }; ' +
        'b=$(tx); f=$(flt); p=$(pk); head -c "$1" /dev/zero | nc -N -q1 "$2" 5001; e=$(tx); echo $((e-b)) $(($(flt)-f)) $(($(pk)-p))',
      "sh",
      String(payload),
      "198.18.0.12",
    ]);
    const received = Number((await listening).stdout.trim());
    const [wire, faults, packets] = r.stdout.trim().split(" ").map(Number);
    results.compression = { payload, received, wireBytes: wire, ratio: +(wire / payload).toFixed(3), tincdFaults: faults, vpnPackets: packets };
    console.log(`compression: ${JSON.stringify(results.compression)}`);
    expect(received).toBe(payload);
    expect(wire / payload).toBeLessThan(0.25);
    expect(packets).toBeGreaterThan(10_000);
    expect(faults / packets).toBeLessThan(0.1);
  }, LONG);

  test("rotating lab2's key: exactly its key and its hosts/ file on every member change; the old key is refused", async () => {
    const c2 = await conn("lab2");
    const oldKey = (await c2.run(["cat", "/srv/crypt/keys/tinc/rsa_key.priv"])).stdout; // the test plays the thief
    // Control: with the (still valid) key the impostor does get in — so a refusal later means something.
    expect(await impostorAccepted(c2, "lab2", oldKey, "lab1")).toBe(true);
    // That accepted impostor bore the real node's name and key: the real tincd met contradicting
    // edges about itself, and tinc 1.0 then backs off ("Possible node with same Name as us!",
    // sleeping longer each time). Once, in CI, the pair had not reconnected 30 s later. Restart it
    // and wake the peer (SIGALRM: connect now) so the baseline below does not wait on that backoff.
    await c2.run(["systemctl", "restart", "tinc@rplan"], { label: "restart tinc after the impostor control" });
    await (await conn("lab1")).run(["systemctl", "kill", "--signal=ALRM", "tinc@rplan"], { label: "wake tinc after the impostor control" });
    expect((await checkMesh(specOf(base), { timeoutMs: 30_000 })).findings).toEqual([]);

    const expected = ["replace mesh-lab2-key", "update mesh-check", "update mesh-lab1-tinc-hosts", "update mesh-lab2-tinc-hosts", "update mesh-lab2-tinc-self", "update mesh-lab3-tinc-hosts"];
    const since = Math.floor(Date.now() / 1000);
    const oldFingerprints = fingerprintsAtUp;
    const meter = await splitMeter(await conn("lab1"), "198.18.0.12");
    const up = await run("up", rotated);
    const split = await meter.stop();
    expect(changes(up.preview!)).toEqual(expected); // its own preview, checked before anything was applied
    expect(changes(up)).toEqual(expected);
    for (const n of NODES) expect(outputsOf<HostFilesOutputs>(`mesh-${n}-tinc-hosts`).lastApply!.written).toEqual(["/etc/tinc/rplan/hosts/lab2"]);
    const fingerprints = up.outputs.vpnFingerprints as Record<string, string>;
    expect(fingerprints.lab2).not.toBe(oldFingerprints.lab2);
    expect(fingerprints.lab1).toBe(oldFingerprints.lab1);
    const key = step(up, "mesh-lab2-key");
    const self = step(up, "mesh-lab2-tinc-self");
    const check = step(up, "mesh-check");
    results.rotation = { upMs: up.timings.totalMs, meshMs: check.endedAt! - key.startedAt!, keyGenerationMs: key.endedAt! - key.startedAt!, distributeAndRestartMs: self.endedAt! - key.endedAt!, splitMaxGapMs: split.maxGapMs };
    console.log(`rotation: ${JSON.stringify(results.rotation)}`);
    // How long the split lasts is the benchmark's to measure (npm run bench mesh); here: it heals.
    expect(split.answered).toBeGreaterThan(0);
    // Every member reloaded for the new hosts/ file: the reload detector of the no-op run sees reloads.
    for (const n of NODES) expect((await tincdActivity(await conn(n), since)).reloads).toBeGreaterThan(0);

    // The stolen old key no longer gets in; the new one is the only private key on the node.
    expect(await impostorAccepted(c2, "lab2", oldKey, "lab1")).toBe(false);
    expect((await c2.run(["sh", "-c", "grep -rl 'BEGIN RSA PRIVATE KEY' /srv/crypt/keys/tinc /etc/tinc 2>/dev/null || true"])).stdout.trim()).toBe("/srv/crypt/keys/tinc/rsa_key.priv");
    expect((await checkMesh(specOf(rotated), { timeoutMs: 30_000 })).findings).toEqual([]);
  }, LONG);

  test("revoking lab3: never contacted; every survivor refuses it while it keeps trying", async () => {
    const preview = await run("preview", revoked);
    // the mesh: removal on every survivor, lab3's own mesh resources deleted, the check re-run
    expect(meshChanges(preview)).toEqual(["delete mesh-lab3-key", "delete mesh-lab3-tinc-hosts", "delete mesh-lab3-tinc-self", "update mesh-check", "update mesh-lab1-tinc-hosts", "update mesh-lab2-tinc-hosts"]);
    // everything of lab3's own is deleted, nothing of it changed otherwise; every replication secret
    // lab3 could have learnt is rotated in the same up
    const ownedByLab3 = changes(preview).filter((c) => /^\w+ (mesh-|ldap-)?lab3(-|$)/.test(c));
    expect(ownedByLab3.length).toBeGreaterThan(3);
    for (const c of ownedByLab3) expect(c).toMatch(/^delete /);
    expect(changes(preview)).toEqual(expect.arrayContaining(["delete lab3", "delete lab3-host", "replace ldap-lab1-secret", "replace ldap-lab2-secret", "update ldap-entries"]));
    // the zone: withdrawn from every survivor's file in the same up, lab3's own DNS resources deleted, the check re-run
    expect(changes(preview).filter((c) => / dns-/.test(c))).toEqual(["delete dns-lab3-knot-conf", "delete dns-lab3-zone", "update dns-check", "update dns-lab1-zone", "update dns-lab2-zone", "update dns-zone"]);

    // lab3 keeps running and keeps trying: count its sshd logins to prove the update never contacted it
    const c3 = await conn("lab3");
    const stolen = (await c3.run(["cat", "/srv/crypt/keys/tinc/rsa_key.priv"])).stdout; // for the re-admission below
    fs.writeFileSync(path.join(work, "lab3-stolen.key"), stolen, { mode: 0o600 });
    // A message signed on lab3 with its DKIM key (the key stays on lab3): it verifies before the revocation.
    const signed = await signedOn(c3, "lab3");
    expect((await dkimResults(signed, ADDRESS.lab1)).map((r) => [r.status.result, r.selector])).toEqual([["pass", "lab3"]]);
    // logins from before lab3's log anonymity are recorded nowhere: a control login proves the count works
    await controlLogin(c3, await acceptedLogins(c3));
    const loginsBefore = await acceptedLogins(c3);
    expect(loginsBefore).toBeGreaterThan(0);
    const beforeSec = Math.floor(Date.now() / 1000);
    const up = await run("up", revoked);
    expect(changes(up)).toEqual(changes(preview));
    const loginsAfter = await acceptedLogins(c3);
    expect(loginsAfter).toBe(loginsBefore);
    await controlLogin(c3, loginsAfter); // positive control: a login to lab3 does raise the count

    for (const s of ["lab1", "lab2"]) {
      expect(outputsOf<HostFilesOutputs>(`mesh-${s}-tinc-hosts`).lastApply!.removed).toEqual(["/etc/tinc/rplan/hosts/lab3"]);
      expect(step(up, `mesh-${s}-tinc-self`).op).toBe("same");
    }
    const refusedBy = outputsOf<meshCheck.MeshCheckOutputs>("mesh-check").refusedBy.lab3;
    // each survivor proved the refusal (how fast is the benchmark's)
    expect(Object.keys(refusedBy).sort()).toEqual(["lab1", "lab2"]);
    for (const s of ["lab1", "lab2"]) expect(refusedBy[s]).toEqual(expect.any(Number));
    const start = Math.min(...["lab1", "lab2"].map((s) => step(up, `mesh-${s}-tinc-hosts`).startedAt!));
    const checkStart = step(up, "mesh-check").startedAt!;
    results.revocation = {
      upMs: up.timings.totalMs,
      perSurvivorMs: Object.fromEntries(Object.entries(refusedBy).map(([s, ms]) => [s, { reloaded: step(up, `mesh-${s}-tinc-hosts`).endedAt! - start, verified: ms === null ? null : checkStart + ms - start }])),
    };
    // The zone: the DnsCheck proved from each survivor that lab3 is gone; kdig from each survivor agrees.
    const goneAfterMs = outputsOf<dnsCheck.DnsCheckOutputs>("dns-check").goneAfterMs.lab3;
    expect(Object.keys(goneAfterMs).sort()).toEqual(["lab1", "lab2"]);
    for (const s of ["lab1", "lab2"]) expect(goneAfterMs[s]).toEqual(expect.any(Number));
    const dnsStart = step(up, "dns-check").startedAt!;
    (results.revocation as Record<string, unknown>).dnsWithdrawnMs = Object.fromEntries(Object.entries(goneAfterMs).map(([s, ms]) => [s, dnsStart + ms! - start]));
    const serial = up.outputs.dnsSerial as number;
    expect(serial).toBe(serialAtUp + 1);
    for (const from of ["lab1", "lab2"]) {
      const seen = await zoneSeen(from, ["lab1", "lab2"]);
      for (const server of ["lab1", "lab2"]) {
        const a = seen[ADDRESS[server]];
        const where = `${from} → ${server}`;
        expect(`${where}: ${serialOf(a[`${DOMAIN} SOA`])}`).toBe(`${where}: ${serial}`);
        expect(`${where}: ${a[`lab3.${DOMAIN} A`].status} ${a[`lab3.${DOMAIN} A`].records}`).toBe(`${where}: NXDOMAIN `);
        expect(a[`${DOMAIN} NS`].records).toEqual([`lab1.${DOMAIN}.`, `lab2.${DOMAIN}.`]);
        expect(a[`${DOMAIN} MX`].records).toEqual([`10 lab1.${DOMAIN}.`, `10 lab2.${DOMAIN}.`]);
        for (const name of ["", "mail.", "imap.", "smtp.", "www."]) expect(a[`${name}${DOMAIN} A`].records).toEqual([ADDRESS.lab1, ADDRESS.lab2]);
        expect(a[`${DOMAIN} TXT`].records.map(txt)).toEqual([`v=spf1 ip4:${ADDRESS.lab1} ip4:${ADDRESS.lab2} -all`]);
      }
    }
    // lab3's selector left the zone with it: the message signed with its key verifies nowhere any more.
    for (const server of ["lab1", "lab2"]) {
      const r = await dkimResults(signed, ADDRESS[server]);
      expect({ server, result: r.map((x) => [x.status.result, x.status.comment]) }).toEqual({ server, result: [["neutral", "no key"]] });
    }
    console.log(`revocation (from the start of the survivors' updates): ${JSON.stringify(results.revocation)}`);
    expect(Object.keys(up.outputs.vpnMatrix as object).sort()).toEqual(["lab1", "lab2"]);

    // The revoked node is still running and trying; it reaches nobody, and survivors refuse it.
    await sleep(12_000);
    expect((await c3.run(["systemctl", "is-active", "--quiet", "tinc@rplan"], { allowFailure: true })).code).toBe(0);
    for (const [s, vpn] of [["lab1", "198.18.0.11"], ["lab2", "198.18.0.12"]]) {
      expect((await c3.run(["ping", "-c", "1", "-W", "1", vpn], { allowFailure: true })).code).not.toBe(0);
      expect((await (await conn(s)).run(["ping", "-c", "2", "-W", "1", "198.18.1.13"], { allowFailure: true })).code).not.toBe(0);
    }
    // the log keeps no address (docs/anonymity.md): mmanon wrote lab3's as 0.0.0.0
    const refused = /Peer 0\.0\.0\.0 port \d+ had unknown identity \(lab3\)/;
    const refusals = await Promise.all(["lab1", "lab2"].map(async (s) => (refused.test(await tincLog(await conn(s), beforeSec)) ? s : undefined)));
    expect(refusals.filter(Boolean).length).toBeGreaterThan(0);
    expect((await checkMesh(specOf(revoked), { timeoutMs: 0 })).findings).toEqual([]);
  }, LONG);

  test("a survivor that still accepts the revoked node makes the check fail loudly, naming it", async () => {
    const c1 = await conn("lab1");
    // Sabotage: put the revoked node's hosts/ file back (any copy will do) and reload; and lab3's
    // name and MX back into lab1's zone (same serial), loaded by its knot.
    await c1.run(["sh", "-c", "cp /etc/tinc/rplan/hosts/lab2 /etc/tinc/rplan/hosts/lab3 && systemctl try-reload-or-restart tinc@rplan"]);
    const zoneFile = `/var/lib/knot/${DOMAIN}.zone`;
    await c1.run(["sh", "-c", 'printf "lab3 IN A 198.51.100.13\\n@ IN MX 10 lab3.%s.\\n" "$2" >> "$1" && knotc -b zone-reload "$2"', "sh", zoneFile, DOMAIN]);
    const { goneAfterMs: _g, checkedMs: _d, ...dnsInputs } = outputsOf<dnsCheck.DnsCheckOutputs>("dns-check");
    const dnsErr = (await dnsCheck.create({ ...dnsInputs, timeoutMs: 2000 }).catch((e: Error) => e)) as Error;
    expect(dnsErr).toBeInstanceOf(Error);
    expect(dnsErr.message).toMatch(/^DNS check FAILED/);
    expect(dnsErr.message).toContain(`  - [lab2 → ${ADDRESS.lab1}] lab3.${DOMAIN} A: NOERROR ${ADDRESS.lab3} (a withdrawn node must be NXDOMAIN)`);
    expect(dnsErr.message).toMatch(new RegExp(`^A REVOKED NODE IS STILL IN THE ZONE: ${ADDRESS.lab1} \\(asked from lab1\\) serves lab3; ${ADDRESS.lab1} \\(asked from lab2\\) serves lab3$`, "m"));
    expect(dnsErr.message).not.toContain(`→ ${ADDRESS.lab2}]`);
    // The program's MeshCheck, with the inputs it last ran with, fails naming lab1 and only lab1.
    const { matrix: _m, refusedBy: _r, checkedMs: _c, ...inputs } = outputsOf<meshCheck.MeshCheckOutputs>("mesh-check");
    const err = (await meshCheck.create({ ...inputs, timeoutMs: 2000 }).catch((e: Error) => e)) as Error;
    expect(err).toBeInstanceOf(Error);
    expect(err.message).toMatch(/^VPN mesh check FAILED/);
    expect(err.message).toContain("  - [lab1] revoked node lab3: hosts/lab3 still exists (its key is still trusted)");
    expect(err.message).toMatch(/^A REVOKED NODE IS STILL ACCEPTED by: lab1$/m);
    const report = await checkMesh(specOf(revoked), { timeoutMs: 0 });
    expect([...new Set(report.findings.filter(acceptsRevoked).map((f) => f.node))]).toEqual(["lab1"]);
    expect(report.findings).toContainEqual(expect.objectContaining({ node: "lab1", kind: "revoked-hostfile", revoked: "lab3" }));

    // A refresh sees the stray file, and both checks re-run and report the drift naming the node and
    // the kind (the checks' read); the next up removes it (hosts/ is owned outright).
    const refreshed = await run("refresh", revoked);
    expect(outputsOf<HostFilesOutputs>("mesh-lab1-tinc-hosts").files.map((f) => f.path)).toContain("/etc/tinc/rplan/hosts/lab3");
    // (lab3, still running, may have connected again meanwhile: that is named too, always on lab1)
    const meshDrift = outputsOf<meshCheck.MeshCheckOutputs>("mesh-check").drift ?? [];
    expect(meshDrift).toContain("[lab1] revoked node lab3: hosts/lab3 still exists (its key is still trusted) (a REVOKED node is accepted)");
    expect(meshDrift.filter((d) => !/^\[lab1\] revoked node lab3: .* \(a REVOKED node is accepted\)$/.test(d))).toEqual([]);
    const dnsDrift = outputsOf<dnsCheck.DnsCheckOutputs>("dns-check").drift ?? [];
    expect(dnsDrift).toContain(`[lab2 → ${ADDRESS.lab1}] lab3.${DOMAIN} A: NOERROR ${ADDRESS.lab3} (a withdrawn node must be NXDOMAIN) (serves the withdrawn lab3)`);
    expect(dnsDrift.filter((d) => !d.includes(`→ ${ADDRESS.lab1}]`))).toEqual([]);
    for (const name of ["mesh-check", "dns-check"]) {
      const st = step(refreshed, name);
      expect({ name, op: st.op, drift: st.diffs.some((d) => /\bdrift$/.test(d)) }).toEqual({ name, op: "read", drift: true });
    }
    expect(refreshed.printed).toMatch(/~ \d+ drifted/);
    const up = await run("up", revoked);
    expect(step(up, "mesh-lab1-tinc-hosts").op).toBe("update");
    expect(outputsOf<HostFilesOutputs>("mesh-lab1-tinc-hosts").lastApply!.removed).toEqual(["/etc/tinc/rplan/hosts/lab3"]);
    expect((await checkMesh(specOf(revoked), { timeoutMs: 10_000 })).findings).toEqual([]);
    // the refresh saw lab1's zone file drift too; the up wrote it back and reloaded knot
    expect(step(up, "dns-lab1-zone").op).toBe("update");
    expect((await checkDns(dnsInputs, { timeoutMs: 10_000 })).findings).toEqual([]);
  }, LONG);

  test("re-admission only with a new key: the pre-revocation key stays refused", async () => {
    const c3 = await conn("lab3");
    const stolen = fs.readFileSync(path.join(work, "lab3-stolen.key"), "utf8");
    const oldFingerprint = (await c3.run(["sh", "-c", "sed -n 's/^fingerprint=//p' /etc/tinc/rplan/rplan-identity"])).stdout.trim();
    expect(oldFingerprint).not.toBe("");
    const r = await run("up", rotated);
    expect(step(r, "mesh-lab3-key").op).toBe("create");
    const fingerprints = r.outputs.vpnFingerprints as Record<string, string>;
    expect(fingerprints.lab3).not.toBe(oldFingerprint);
    const matrix = r.outputs.vpnMatrix as Record<string, Record<string, number | null>>;
    for (const from of NODES) for (const to of NODES) if (from !== to) expect(matrix[from][to]).toEqual(expect.any(Number));
    expect(await impostorAccepted(c3, "lab3", stolen, "lab1")).toBe(false);
    // back in the zone, and serving it again with the others (lab3's knot had kept its old zone)
    expect(step(r, "dns-lab3-zone").op).toBe("create");
    const seen = await zoneSeen("lab3", NODES);
    for (const s of NODES) {
      expect(serialOf(seen[ADDRESS[s]][`${DOMAIN} SOA`])).toBe(r.outputs.dnsSerial);
      expect(seen[ADDRESS[s]][`${DOMAIN} MX`].records).toEqual(NODES.map((n) => `10 ${n}.${DOMAIN}.`));
    }
  }, LONG);
});
