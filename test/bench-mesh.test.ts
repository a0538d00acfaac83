/** The mesh benchmark's arithmetic on a made-up revocation (no lab): what each number is measured from. */
import { freshStartRows, PARALLELISM_VARIANTS } from "../bench/platform";
import { breakdownUntil, median, parallelismRows, revocationBreakdownRows, revocationSummaryRows, revocationTimes, RevocationRow } from "../bench/mesh";
import type { RunStep } from "../runner";

const T0 = 1_000_000;
const s = (name: string, start: number, end: number, op: RunStep["op"] = "update"): RunStep => ({ op, type: "t", name, urn: `urn:${name}`, diffs: [], detail: [], startedAt: T0 + start, endedAt: T0 + end });

// The runner applies one step at a time: lab1's and lab2's hosts, a secret, the zones, then the checks.
const steps: RunStep[] = [
  s("node-lab1", -500, -500, "same"),
  s("dns-lab3-zone", -400, -300, "same"),
  s("mesh-lab1-tinc-hosts", 0, 300),
  s("mesh-lab2-tinc-hosts", 300, 600),
  s("ldap-lab1-secret", 650, 900, "replace"),
  s("dns-zone", 900, 950),
  s("dns-lab1-zone", 950, 1200),
  s("dns-lab2-zone", 1200, 1500),
  s("dns-check", 1500, 2100),
  s("mesh-check", 2100, 3000),
  s("mail-lab1", 3500, 3600),
];

test("per survivor: from the first survivor's update until its reload, its verified refusal, its zone reload and its dig", () => {
  const r = revocationTimes({ steps }, ["lab1", "lab2"], { lab1: 400, lab2: 700 }, { lab1: 500, lab2: null });
  expect(r.perSurvivor).toEqual({
    lab1: { reloadedMs: 300, verifiedMs: 2500, dnsReloadedMs: 1200, dnsVerifiedMs: 2000 },
    lab2: { reloadedMs: 600, verifiedMs: 2800, dnsReloadedMs: 1500, dnsVerifiedMs: null },
  });
  // Changing steps from the first survivor's update until both checks are done, in order.
  expect(r.timeline.map((t) => t.name)).toEqual(["mesh-lab1-tinc-hosts", "mesh-lab2-tinc-hosts", "ldap-lab1-secret", "dns-zone", "dns-lab1-zone", "dns-lab2-zone", "dns-check", "mesh-check"]);
  expect(r.timeline[2]).toEqual({ name: "ldap-lab1-secret", op: "replace", startMs: 650, ms: 250 });
});

test("the survivors' updates start with whichever the runner applied first, their zones' or their VPN's", () => {
  const zonesFirst = [s("dns-lab1-zone", -600, -400), s("dns-lab2-zone", -400, -100), ...steps.filter((x) => !/^dns-lab.-zone$/.test(x.name))];
  const r = revocationTimes({ steps: zonesFirst }, ["lab1", "lab2"], { lab1: 400, lab2: 700 }, {});
  expect(r.perSurvivor.lab1).toEqual({ reloadedMs: 900, verifiedMs: 3100, dnsReloadedMs: 200, dnsVerifiedMs: null });
  expect(r.timeline[0]).toEqual({ name: "dns-lab1-zone", op: "update", startMs: 0, ms: 200 });
});

test("a survivor whose zone was not changed has no withdrawal time", () => {
  const unchanged = steps.map((x) => (x.name === "dns-lab2-zone" ? { ...x, op: "same" as const } : x));
  expect(revocationTimes({ steps: unchanged }, ["lab1", "lab2"], {}, {}).perSurvivor.lab2.dnsReloadedMs).toBeNull();
});

test("the breakdown splits a moment into steps by kind, idle gaps and the part of the step still running", () => {
  const { timeline } = revocationTimes({ steps }, ["lab1", "lab2"], {}, {});
  expect(breakdownUntil(timeline, 2800)).toEqual({
    "mesh-*-tinc-hosts (hosts/ file removed, tinc reload)": 600,
    "idle between steps": 50,
    "ldap-*-secret (new replication secrets)": 250,
    "dns-zone": 50,
    "dns-*-zone (zone file, knotc zone-check + blocking zone-reload)": 550,
    "dns-check": 600,
    "mesh-check (until then)": 700,
  });
  const sum = (o: Record<string, number>) => Object.values(o).reduce((a, b) => a + b, 0);
  expect(sum(breakdownUntil(timeline, 2800))).toBe(2800);
  expect(sum(breakdownUntil(timeline, 3200))).toBe(3200);
});

test("median and the tables: NEVER when a round never verified, over-goal maxima marked", () => {
  expect(median([3, 1, 2])).toBe(2);
  expect(median([4, 1, 2, 3])).toBe(2.5);
  expect(median([1, null])).toBeNull();
  const row = (round: number, verified: number | null, parallel: RevocationRow["parallel"] = "default", upMs = 9000): RevocationRow => ({
    round,
    parallel,
    revoked: "lab3",
    upMs,
    perSurvivor: { lab1: { reloadedMs: 300, verifiedMs: verified, dnsReloadedMs: 1200, dnsVerifiedMs: 2000 } },
    timeline: revocationTimes({ steps }, ["lab1", "lab2"], {}, {}).timeline,
  });
  const summary = revocationSummaryRows([row(1, 1000), row(2, 2500), row(3, 1500)]);
  expect(summary[1]).toEqual(["lab1", "0.30 s / 0.30 s", "1.50 s / 2.50 s (over goal)", "1.20 s / 1.20 s", "2.00 s / 2.00 s"]);
  expect(revocationSummaryRows([row(1, null)])[1][2]).toBe("NEVER / NEVER");
  const breakdown = revocationBreakdownRows([row(1, 1000)]);
  expect(breakdown[0]).toEqual(["where the time went (s)", "#1 last VPN refusal", "#1 last zone reload"]);
  expect(breakdown[breakdown.length - 1]).toEqual(["total", "1.00 s", "1.20 s"]);
});

test("default parallelism against --parallel 1: medians of each, ratio default / one at a time", () => {
  const row = (round: number, parallel: RevocationRow["parallel"], verifiedMs: number, upMs: number): RevocationRow => ({
    round,
    parallel,
    revoked: "lab3",
    upMs,
    perSurvivor: {
      lab1: { reloadedMs: 100, verifiedMs, dnsReloadedMs: 500, dnsVerifiedMs: 800 },
      lab2: { reloadedMs: 200, verifiedMs: verifiedMs / 2, dnsReloadedMs: 400, dnsVerifiedMs: 700 },
    },
    timeline: [],
  });
  const rows = parallelismRows([row(1, "default", 1000, 8000), row(1, 1, 2000, 16000), row(2, "default", 1200, 9000), row(2, 1, 3000, 15000), row(3, "default", 1100, 10000), row(3, 1, 2500, 14000)]);
  expect(rows[0]).toEqual(["revocation, median of rounds", "default parallelism", "--parallel 1", "ratio"]);
  // the last survivor (lab1), median over the rounds of each parallelism: 1.1 s against 2.5 s
  expect(rows[1]).toEqual(["last survivor's VPN refusal verified", "1.10 s", "2.50 s", "0.44"]);
  expect(rows[2]).toEqual(["last survivor's zone reloaded", "0.50 s", "0.50 s", "1.00"]);
  expect(rows[4]).toEqual(["whole up (preview + apply)", "9.00 s", "15.00 s", "0.60"]);
  // a parallelism never measured: no ratio
  expect(parallelismRows([row(1, "default", 1000, 8000)])[1]).toEqual(["last survivor's VPN refusal verified", "1.00 s", "NEVER", "n/a"]);
});

test("npm start's parallelism table: medians per parallelism, ratio default / one at a time", () => {
  const timings = (upSeconds: number, applySeconds: number, noop: number) => ({ resources: 70, upSeconds, upPreviewSeconds: upSeconds - applySeconds, upApplySeconds: applySeconds, noopPreviewSeconds: noop, noopPreviewChanged: false });
  const rows = freshStartRows(
    [
      { round: 1, variant: "default parallelism", runner: timings(30, 25, 4) },
      { round: 1, variant: "--parallel 1", runner: timings(60, 55, 5) },
      { round: 2, variant: "default parallelism", runner: timings(34, 27, 4) },
      { round: 2, variant: "--parallel 1", runner: timings(56, 51, 5) },
    ],
    PARALLELISM_VARIANTS,
  );
  expect(rows[0]).toEqual(["npm start (70 resources), median of 2 rounds", "default parallelism", "--parallel 1", "ratio"]);
  expect(rows[1]).toEqual(["first up on a fresh lab (preview + apply)", "32.00 s", "58.00 s", "0.55"]);
  expect(rows[2]).toEqual(["  of which the apply", "26.00 s", "53.00 s", "0.49"]);
  expect(rows[3]).toEqual(["no-op preview", "4.00 s", "5.00 s", "0.80"]);
});

test("steps side by side: each moment counted once (never a negative share), and the shares add up to the moment", () => {
  const overlapping = [
    { name: "mesh-lab1-tinc-hosts", op: "update", startMs: 0, ms: 300 },
    { name: "mesh-lab2-tinc-hosts", op: "update", startMs: 40, ms: 320 },
    { name: "dns-zone", op: "update", startMs: 180, ms: 6 },
    { name: "dns-lab1-zone", op: "update", startMs: 200, ms: 190 },
    { name: "mesh-check", op: "update", startMs: 460, ms: 480 },
  ];
  const b = breakdownUntil(overlapping, 930);
  expect(Object.values(b).every((v) => v > 0)).toBe(true);
  expect(b).toEqual({ "mesh-*-tinc-hosts (hosts/ file removed, tinc reload)": 360, "dns-*-zone (zone file, knotc zone-check + blocking zone-reload)": 30, "idle between steps": 70, "mesh-check (until then)": 470 });
  expect(Object.values(b).reduce((a, x) => a + x, 0)).toBe(930);
});
