/** bench/mail.ts reads postfix's log: which deliveries went to a peer, which were at home. */
import { forwarded } from "../bench/mail";
import { benchThroughput, cpuBetween, parseCpuSnapshot, parseLmtpEvents, roundRatios, sessionsPerNode, splitRetried, ThroughputKind, ThroughputLab, ThroughputRun } from "../bench/mail-throughput";

test("a delivery to a peer's [address]:24 is forwarded; one into the home's own dovecot socket is not", () => {
  const line = (relay: string) => `2026-12-06T20:38:27.065294+00:00 lab1 postfix/rplan-lmtp/lmtp[21415]: A170917213F: to=<*@lab.rplan.test>, relay=${relay}, delay=4.4, delays=3.7/0.28/0.19/0.25, dsn=2.0.0, status=sent (250 2.0.0 <*@lab.rplan.test> x Saved)`;
  expect(forwarded(line("lab2.lab.rplan.test[0.0.0.0]:24"))).toBe(true);
  expect(forwarded(line("198.18.0.12[0.0.0.0]:24"))).toBe(true);
  expect(forwarded(line("lab1.lab.rplan.test[/run/dovecot/lmtp-postfix]"))).toBe(false);
  expect(forwarded(line("lab1.lab.rplan.test[private/dovecot-lmtp]"))).toBe(false);
});

describe("bench/mail-throughput.ts reads the log and the cgroups", () => {
  const line = (ts: string, qid: string, delay: string, status: string) =>
    `${ts} lab1 postfix/rplan-lmtp/lmtp[8217]: ${qid}: to=<*@lab.rplan.test>, relay=0.0.0.0[0.0.0.0]:24, delay=${delay}, delays=64/0/0.01/0.02, dsn=2.0.0, status=${status} (250 2.0.0 <*@lab.rplan.test> x Saved)`;

  test("a delivery deferred first is counted apart from those at the first try, across nodes", () => {
    const events = parseLmtpEvents(
      [
        line("2026-12-07T05:44:01.100000+00:00", "A1", "1.2", "sent"),
        line("2026-12-07T05:44:02.778097+00:00", "B2", "1.2", "deferred"),
        "2026-12-07T05:44:02.9+00:00 lab1 postfix/qmgr[1]: C3: from=<*@example.net>, size=10582, nrcpt=2 (queue active)",
        line("2026-12-07T05:45:05.710667+00:00", "B2", "64", "sent"),
      ].join("\n"),
    );
    expect(events.map((e) => [e.status, e.queueId, e.delayMs])).toEqual([
      ["sent", "A1", 1200],
      ["deferred", "B2", 1200],
      ["sent", "B2", 64000],
    ]);
    expect(events[0].at).toBe(Date.UTC(2026, 11, 7, 5, 44, 1, 100));
    const { firstTry, retried } = splitRetried(events);
    expect(firstTry.map((e) => e.queueId)).toEqual(["A1"]);
    expect(retried.map((e) => e.delayMs)).toEqual([64000]);
  });

  test("CPU per group between two snapshots; gocryptfs taken out of the SSH session it runs in", () => {
    const before = parseCpuSnapshot("dovecot.service 1000000\nssh.service 5000000\ngocryptfs 4000000\nsystem-postfix.slice 0\nrspamd.service 10\nfoo.service\n");
    const after = parseCpuSnapshot("dovecot.service 3000000\nssh.service 8000000\ngocryptfs 6500000\nsystem-postfix.slice 1500000\nrspamd.service 10\nredis-server.service 2000\n");
    expect(cpuBetween([before], [after])).toEqual({
      dovecot: 2000,
      "ssh sessions (smtp-source, the bench's commands)": 500,
      "gocryptfs (the lab's stand-in for dm-crypt)": 2500,
      postfix: 1500,
      "spam filter (rspamd, redis)": 2,
    });
  });
});

describe("bench/mail-throughput.ts: the spread over rounds", () => {
  test("each round's ratio pairs the two ways of that round only, lowest first; a round missing a way is left out", () => {
    const run = (round: number, kind: ThroughputKind, seconds: number): ThroughputRun => ({ kind, round, messages: 600, delivered: 600, firstTry: 600, seconds, retriedDelaysMs: [], cpuMs: {}, sessions: 12 });
    const runs = [run(1, "forwarding", 30), run(1, "every node locally", 20), run(2, "forwarding", 20), run(2, "every node locally", 20), run(3, "forwarding", 25)];
    expect(roundRatios(runs, "forwarding", "every node locally")).toEqual([20 / 30, 1]);
    expect(roundRatios(runs, "every node locally", "forwarding")).toEqual([1, 30 / 20]);
  });
});

describe("bench/mail-throughput.ts offers each way the same load", () => {
  test("the sessions are split over the sending nodes, at least one each", () => {
    expect(sessionsPerNode(12, 3)).toBe(4);
    expect(sessionsPerNode(12, 4)).toBe(3);
    expect(sessionsPerNode(12, 5)).toBe(2);
    expect(sessionsPerNode(2, 3)).toBe(1);
  });

  test("every way runs as many sessions in all, and as many messages; the spare copies are off for one forwarding run only", async () => {
    const nodes = ["lab1", "lab2", "lab3"];
    const calls: { via: string; to: string; count: number; sessions: number; spares: boolean }[] = [];
    const switched: boolean[] = [];
    let sparesOn = true;
    let inMaildirs = 0;
    const lab: ThroughputLab = {
      nodes,
      users: nodes.map((home, i) => ({ uid: `bm${i + 1}`, home, mail: `bm${i + 1}@example.org` })),
      // The date, no CPU figures, and lab1's log: every message of the run delivered at the first try.
      sh: async (node, script) => {
        if (script === "date +%s") return "1800000000";
        if (!script.includes("rplan-lmtp") || node !== "lab1") return "";
        const at = new Date().toISOString();
        return Array.from({ length: inMaildirs }, (_, i) => `${at} lab1 postfix/rplan-lmtp/lmtp[1]: Q${i}: to=<*@example.org>, relay=x, delay=0.1, delays=0/0/0/0.1, dsn=2.0.0, status=sent (250 ok)`).join("\n");
      },
      source: async (via, to, count, sessions) => {
        calls.push({ via, to, count, sessions, spares: sparesOn });
        inMaildirs += count;
      },
      delivered: async () => inMaildirs,
      emptyMaildirs: async () => (inMaildirs = 0),
      spares: async (on) => {
        switched.push(on);
        sparesOn = on;
      },
    };
    const runs = await benchThroughput(lab, 600, 1, undefined, 12);
    expect(runs.map((r) => [r.kind, r.sessions, r.messages, r.delivered, r.firstTry])).toEqual([
      ["forwarding", 12, 600, 600, 600],
      ["forwarding, no spare copies", 12, 600, 600, 600],
      ["every node locally", 12, 600, 600, 600],
      ["one node locally", 12, 600, 600, 600],
    ]);
    const sum = (xs: typeof calls) => [xs.reduce((a, c) => a + c.sessions, 0), xs.reduce((a, c) => a + c.count, 0)];
    const forwarding = [["lab1", "bm2@example.org"], ["lab2", "bm3@example.org"], ["lab3", "bm1@example.org"]];
    expect(sum(calls.slice(0, 3))).toEqual([12, 600]);
    expect(calls.slice(0, 3).map((c) => [c.via, c.to])).toEqual(forwarding);
    expect(calls.slice(3, 6).map((c) => [c.via, c.to, c.spares])).toEqual(forwarding.map((f) => [...f, false]));
    expect(sum(calls.slice(6, 9))).toEqual([12, 600]);
    expect(calls.slice(6, 9).map((c) => [c.via, c.to])).toEqual([["lab1", "bm1@example.org"], ["lab2", "bm2@example.org"], ["lab3", "bm3@example.org"]]);
    expect(calls.slice(9)).toEqual([{ via: "lab1", to: "bm1@example.org", count: 600, sessions: 12, spares: true }]);
    expect(calls.filter((c) => !c.spares)).toHaveLength(3);
    expect(switched).toEqual([false, true]);
  });
});
