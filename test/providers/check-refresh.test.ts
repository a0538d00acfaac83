/**
 * `pulumi refresh` re-verifies: MeshCheck and DnsCheck run their check again in `read` (once, no
 * waiting) and report what drifted, naming node and kind; a check that drifted runs again at the next
 * `up`; a clean refresh changes nothing. The checks themselves are the ops' (real runs on the lab).
 */
import * as dnsCheck from "../../providers/impl/dns-check";
import * as meshCheck from "../../providers/impl/mesh-check";
import * as dnsOps from "../../ops/dns-check";
import * as meshOps from "../../ops/mesh-check";
import type { CheckReport } from "../../ops/mesh-check";
import { fakeHostKey } from "../support/config-fixture";

const ssh = { host: "198.51.100.11", port: 22, user: "root", hostKeys: [fakeHostKey("n1")] };
afterEach(() => jest.restoreAllMocks());

describe("MeshCheck read", () => {
  const m = (node: string) => ({ node, tincName: node, vpnAddress: "198.18.0.1", publicAddress: "198.51.100.1", ssh, fingerprint: "SHA256:a" });
  const revoked = [{ node: "n3", tincName: "n3", vpnAddress: "198.18.0.3", publicAddress: "198.51.100.3" }];
  const inputs: meshCheck.MeshCheckInputs = { confDir: "/etc/tinc/rplan", port: 655, systemdUnit: "tinc@rplan", members: [m("n1"), m("n2")], revoked, timeoutMs: 20000 };
  const stored: meshCheck.MeshCheckOutputs = { ...inputs, matrix: { n1: { n2: 1 }, n2: { n1: 1 } }, refusedBy: { n3: { n1: 5, n2: 7 } }, checkedMs: 900 };
  const report = (findings: CheckReport["findings"]): CheckReport => ({ ok: findings.length === 0, members: [], matrix: { n1: { n2: 2 }, n2: { n1: 2 } }, findings, elapsedMs: 300 });

  test("a member that accepts the revoked node again is drift naming it; the next up checks again", async () => {
    const spy = jest.spyOn(meshOps, "checkMesh").mockResolvedValue(report([{ node: "n1", kind: "revoked-hostfile", revoked: "n3", message: "revoked node n3: hosts/n3 still exists (its key is still trusted)" }]));
    const read = await meshCheck.read("mesh-check", stored);
    expect(spy).toHaveBeenCalledWith(expect.objectContaining({ members: inputs.members }), { timeoutMs: 0, revoked });
    const props = read.props as meshCheck.MeshCheckOutputs;
    expect(props.drift).toEqual(["[n1] revoked node n3: hosts/n3 still exists (its key is still trusted) (a REVOKED node is accepted)"]);
    expect({ ...props, drift: undefined }).toEqual({ ...stored, drift: undefined });
    expect((await meshCheck.diff("mesh-check", props, inputs)).changes).toBe(true);
  });

  test("a clean refresh changes nothing (and clears an earlier drift)", async () => {
    jest.spyOn(meshOps, "checkMesh").mockResolvedValue(report([]));
    expect((await meshCheck.read("mesh-check", stored)).props).toEqual(stored);
    const cleared = (await meshCheck.read("mesh-check", { ...stored, drift: ["[n1] old"] })).props as meshCheck.MeshCheckOutputs;
    expect(cleared).toEqual(stored);
    expect((await meshCheck.diff("mesh-check", cleared, inputs)).changes).toBe(false);
  });
});

describe("DnsCheck read", () => {
  const zone = { domain: "lab.rplan.test", nodes: [{ name: "n1", state: "active" as const, publicAddress: "198.51.100.11" }, { name: "n3", state: "revoked" as const, publicAddress: "198.51.100.13" }] };
  const inputs: dnsCheck.DnsCheckInputs = { zone, serial: 7, probes: [{ node: "n1", ssh }], servers: ["198.51.100.11"], timeoutMs: 20000 };
  const stored: dnsCheck.DnsCheckOutputs = { ...inputs, goneAfterMs: { n3: { n1: 40 } }, checkedMs: 200 };
  const report = (findings: dnsOps.DnsCheckReport["findings"]): dnsOps.DnsCheckReport => ({ ok: findings.length === 0, findings, goneAfterMs: {}, elapsedMs: 100 });

  test("a server serving the withdrawn node again is drift naming prober, server and node; the next up checks again", async () => {
    const spy = jest.spyOn(dnsOps, "checkDns").mockResolvedValue(report([{ from: "n1", server: "198.51.100.11", message: "n3.lab.rplan.test A: NOERROR 198.51.100.13 (a withdrawn node must be NXDOMAIN)", revoked: "n3" }]));
    const props = (await dnsCheck.read("dns-check", stored)).props as dnsCheck.DnsCheckOutputs;
    expect(spy).toHaveBeenCalledWith(expect.objectContaining({ zone, serial: 7, gone: [] }), { timeoutMs: 0 });
    expect(props.drift).toEqual(["[n1 → 198.51.100.11] n3.lab.rplan.test A: NOERROR 198.51.100.13 (a withdrawn node must be NXDOMAIN) (serves the withdrawn n3)"]);
    expect((await dnsCheck.diff("dns-check", props, inputs)).changes).toBe(true);
  });

  test("a clean refresh changes nothing (and clears an earlier drift)", async () => {
    jest.spyOn(dnsOps, "checkDns").mockResolvedValue(report([]));
    expect((await dnsCheck.read("dns-check", stored)).props).toEqual(stored);
    const cleared = (await dnsCheck.read("dns-check", { ...stored, drift: ["old"] })).props as dnsCheck.DnsCheckOutputs;
    expect(cleared).toEqual(stored);
    expect((await dnsCheck.diff("dns-check", cleared, inputs)).changes).toBe(false);
  });
});
