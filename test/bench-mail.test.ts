/** bench/mail.ts reads postfix's log: which deliveries went to a peer, which were at home. */
import { forwarded } from "../bench/mail";
import { cpuBetween, parseCpuSnapshot, parseLmtpEvents, splitRetried } from "../bench/mail-throughput";

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
