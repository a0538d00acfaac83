/**
 * The mesh probe script runs here for real (bash), against a stand-in tinc 1.0 daemon (answers the
 * ID line of known nodes, stays silent for unknown ones — what tincd 1.0.36 does) and stand-ins for
 * ping, ss and systemctl. Then the judges read its output.
 */
import { execFile } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { acceptsRevoked, departedNodes, describeFinding, judgeConnectivity, judgeRevocation, meshProbeArgv, MeshProbeSpec, parseProbeOutput, hostOf } from "../../planning/mesh";

interface FakeHost {
  dir: string;
  port: number;
  known: Set<string>;
  close: () => Promise<void>;
}

/** A stand-in tincd: answers `0 <known> 17` with its own ID line; unknown names get silence. */
async function fakeTincd(known: string[], delayMs = 0): Promise<FakeHost> {
  const k = new Set(known);
  const sockets = new Set<net.Socket>();
  const server = net.createServer((sock) => {
    sockets.add(sock);
    sock.on("close", () => sockets.delete(sock));
    let buf = "";
    sock.on("data", (d) => {
      buf += d.toString();
      const m = /^0 (\S+) 17\n/.exec(buf);
      if (m && k.has(m[1])) setTimeout(() => sock.write("0 self 17\n1 94 64 0 0 ABCDEF\n"), delayMs);
    });
    sock.on("error", () => {});
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rplan-probe-"));
  return {
    dir,
    port: (server.address() as net.AddressInfo).port,
    known: k,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

function shims(dir: string, opts: { active: boolean; reachable: string[]; ss: string[] }): string {
  const bin = path.join(dir, "bin");
  fs.mkdirSync(bin, { recursive: true });
  const w = (name: string, body: string) => fs.writeFileSync(path.join(bin, name), "#!/bin/bash\n" + body + "\n", { mode: 0o755 });
  w("systemctl", `exit ${opts.active ? 0 : 3}`);
  w("ping", `addr="\${@: -1}"; case " ${opts.reachable.join(" ")} " in *" $addr "*) echo "rtt min/avg/max/mdev = 0.400/0.512/0.600/0.000 ms"; exit 0;; esac; echo "From 198.18.0.1 icmp_seq=1 Destination Net Unknown" ; exit 1`);
  w("ss", opts.ss.map((l) => `printf '%b\\n' ${JSON.stringify(l)}`).join("\n") || "true");
  return bin;
}

function runProbe(spec: MeshProbeSpec, from: string, bin: string): Promise<string> {
  const [cmd, ...args] = meshProbeArgv(spec, from);
  return new Promise((resolve, reject) =>
    execFile(cmd, args, { env: { ...process.env, PATH: `${bin}:${process.env.PATH}` }, timeout: 20000 }, (err, stdout) => (err ? reject(err) : resolve(stdout))),
  );
}

const members = [
  { node: "n1", tincName: "n1", vpnAddress: "198.18.0.11", publicAddress: "198.51.100.11" },
  { node: "n2", tincName: "n2", vpnAddress: "198.18.0.12", publicAddress: "198.51.100.12" },
  { node: "nl-3", tincName: "nl_3", vpnAddress: "198.18.1.13", publicAddress: "198.51.100.13" },
];
const revoked = [{ node: "n4", tincName: "n4", vpnAddress: "198.18.2.14", publicAddress: "198.51.100.14" }];

function writeConf(host: FakeHost, hostFiles: string[], connectTo: string[]): void {
  fs.mkdirSync(path.join(host.dir, "hosts"), { recursive: true });
  for (const h of hostFiles) fs.writeFileSync(path.join(host.dir, "hosts", h), "Subnet = 198.18.0.1/32\n");
  fs.writeFileSync(path.join(host.dir, "tinc.conf"), "Name = n1\n" + connectTo.map((c) => `ConnectTo = ${c}\n`).join(""));
}

describe("mesh probe script + judges", () => {
  let host: FakeHost;
  afterEach(async () => host?.close());

  test("a healthy survivor: full matrix, revoked node refused on every count", async () => {
    host = await fakeTincd(["n2", "nl_3"]);
    writeConf(host, ["n1", "n2", "nl_3"], ["n2", "nl_3"]);
    const spec: MeshProbeSpec = { confDir: host.dir, port: host.port, systemdUnit: "tinc@rplan", members, revoked };
    const bin = shims(host.dir, { active: true, reachable: ["198.18.0.12", "198.18.1.13"], ss: [
      "0      0      198.51.100.11:655 198.51.100.12:40000",
      "\t cubic wscale:7,7 rto:204 bytes_sent:3413 bytes_acked:3414 bytes_received:3723 segs_out:36",
      "0      0      198.51.100.11:41000 198.51.100.13:655",
      "\t cubic rto:204 bytes_sent:18 bytes_received:10",
      // the revoked node's reconnect: tinc refused its ID and never wrote a byte (socket left open)
      "0      0      198.51.100.11:655 198.51.100.14:51000",
      "\t cubic rto:204 bytes_received:10 segs_out:2",
    ] });
    const f = parseProbeOutput(spec, "n1", await runProbe(spec, "n1", bin));
    expect(f.daemonActive).toBe(true);
    expect(f.hostFiles).toEqual(["n1", "n2", "nl_3"]);
    expect(f.ping).toEqual({ n2: 0.512, "nl-3": 0.512 });
    expect(f.revoked.n4).toEqual({ connectTo: false, vpnReachable: false, identity: "refused" });
    expect(f.connections).toEqual([["198.51.100.11:655", "198.51.100.12:40000", 3413], ["198.51.100.11:41000", "198.51.100.13:655", 18], ["198.51.100.11:655", "198.51.100.14:51000", 0]]);
    expect(judgeConnectivity(spec, "n1", f)).toEqual([]);
    expect(judgeRevocation(spec, "n1", f, revoked[0])).toEqual([]);
  });

  test("a survivor that still trusts the revoked node fails on every count, loudly and by name", async () => {
    host = await fakeTincd(["n2", "nl_3", "n4"]);
    writeConf(host, ["n1", "n2", "nl_3", "n4"], ["n2", "nl_3", "n4"]);
    const spec: MeshProbeSpec = { confDir: host.dir, port: host.port, systemdUnit: "tinc@rplan", members, revoked };
    const bin = shims(host.dir, { active: true, reachable: ["198.18.0.12", "198.18.1.13", "198.18.2.14"], ss: ["0 0 198.51.100.11:655 198.51.100.14:50000", "\t cubic bytes_sent:2900 bytes_received:3000", "0 0 198.51.100.11:655 198.51.100.14:50001"] });
    const f = parseProbeOutput(spec, "n1", await runProbe(spec, "n1", bin));
    const findings = judgeRevocation(spec, "n1", f, revoked[0]);
    expect(findings.map(describeFinding)).toEqual([
      "[n1] revoked node n4: hosts/n4 still exists (its key is still trusted)",
      "[n1] revoked node n4: tinc.conf still has ConnectTo = n4",
      "[n1] revoked node n4: tinc connection still established with 198.51.100.14:50000 (2900 bytes sent to it), 198.51.100.14:50001 (bytes sent unknown)",
      "[n1] revoked node n4: still reachable at its VPN address 198.18.2.14",
      "[n1] revoked node n4: tincd STILL ACCEPTS its identity n4",
    ]);
    expect(findings.map((x) => [x.node, x.revoked, x.kind])).toEqual([
      ["n1", "n4", "revoked-hostfile"],
      ["n1", "n4", "revoked-connectto"],
      ["n1", "n4", "revoked-connection"],
      ["n1", "n4", "revoked-reachable"],
      ["n1", "n4", "revoked-identity-accepted"],
    ]);
    // what still lets the node in, decided on kinds, not on the wording
    expect(findings.filter(acceptsRevoked).map((x) => x.kind)).toEqual(["revoked-hostfile", "revoked-connection", "revoked-identity-accepted"]);
  });

  test("a slow daemon is not mistaken for a refusing one: the control identity is answered first", async () => {
    host = await fakeTincd(["n2", "nl_3", "n4"], 150);
    writeConf(host, ["n1", "n2", "nl_3"], []);
    const spec: MeshProbeSpec = { confDir: host.dir, port: host.port, systemdUnit: "tinc@rplan", members, revoked };
    const f = parseProbeOutput(spec, "n1", await runProbe(spec, "n1", shims(host.dir, { active: true, reachable: [], ss: [] })));
    expect(f.revoked.n4.identity).toBe("accepted");
  });

  test("a dead daemon, missing and stray hosts/ files, unreachable peers", async () => {
    host = await fakeTincd([]); // its directory only: nothing listens on port 1
    writeConf(host, ["n1", "nl_3", "old_node"], []);
    const spec: MeshProbeSpec = { confDir: host.dir, port: 1, systemdUnit: "tinc@rplan", members, revoked };
    const f = parseProbeOutput(spec, "n1", await runProbe(spec, "n1", shims(host.dir, { active: false, reachable: ["198.18.1.13"], ss: [] })));
    const connectivity = judgeConnectivity(spec, "n1", f);
    expect(connectivity.map(describeFinding)).toEqual([
      "[n1] tincd (tinc@rplan) is not running",
      "[n1] hosts/n2 is missing",
      "[n1] unexpected hosts/old_node: a key file no member owns would let its holder in",
      "[n1] cannot reach n2 (198.18.0.12) over the VPN",
    ]);
    expect(connectivity.map((x) => x.kind)).toEqual(["daemon-down", "hostfile-missing", "hostfile-unexpected", "peer-unreachable"]);
    const revocation = judgeRevocation(spec, "n1", f, revoked[0]);
    expect(revocation).toEqual([{ node: "n1", revoked: "n4", kind: "revoked-no-listener", message: "revoked node n4: tincd is not listening on port 1, cannot prove refusal" }]);
    expect(revocation.filter(acceptsRevoked)).toEqual([]);
  });
});

describe("probe helpers", () => {
  test("ss endpoints", () => {
    expect(hostOf("198.51.100.14:655")).toBe("198.51.100.14");
    expect(hostOf("[2001:db8::1]:655")).toBe("2001:db8::1");
    expect(hostOf("[::ffff:198.51.100.14]:655")).toBe("198.51.100.14");
  });

  test("the probe pings every other member and uses another member as the control identity", () => {
    const spec: MeshProbeSpec = { confDir: "/etc/tinc/rplan", port: 655, systemdUnit: "tinc@rplan", members, revoked };
    const argv = meshProbeArgv(spec, "n2");
    expect(argv.slice(4)).toEqual(["/etc/tinc/rplan", "655", "tinc@rplan", "n1", "2", "n1", "198.18.0.11", "nl-3", "198.18.1.13", "1", "n4", "n4", "198.18.2.14"]);
    expect(meshProbeArgv({ ...spec, members: [members[0]] }, "n1")[7]).toBe("-");
  });

  test("departed nodes: revoked ones plus members that vanished from the config", () => {
    const olds: MeshProbeSpec = { confDir: "", port: 655, systemdUnit: "", members, revoked: [] };
    const news: MeshProbeSpec = { ...olds, members: [members[0]], revoked };
    expect(departedNodes(olds, news).map((r) => r.node)).toEqual(["n2", "n4", "nl-3"]);
    expect(departedNodes(undefined, news).map((r) => r.node)).toEqual(["n4"]);
  });
});
