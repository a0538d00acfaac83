/**
 * planning/logs/anonymity: the rendered sed mask run by this machine's real GNU sed (as omprog runs
 * it on a node: `sed -u -E -f`) over log lines as postfix and dovecot write them, and the shape of
 * the rsyslog, journald, logrotate and sshd files. mmanon itself (IP addresses) needs rsyslog and is
 * not run here: the lines below carry addresses already zeroed where mmanon would have.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { JOURNALD_DROP_IN, logAnonymityProblems, MASK_SED, planLogAnonymity, renderMaskSed, RSYSLOG_DROP_IN, SSHD_DROP_IN } from "../../planning/logs/anonymity";

/** Lines through `sed -u -E -f <rendered script>`, as omprog feeds them. */
function mask(lines: string[]): string[] {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rplan-mask-"));
  try {
    const script = path.join(dir, "mask.sed");
    fs.writeFileSync(script, renderMaskSed());
    return execFileSync("sed", ["-u", "-E", "-f", script], { input: lines.join("\n") + "\n", encoding: "utf8" }).split("\n").slice(0, -1);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

describe("the sed mask (real GNU sed)", () => {
  const cases: [string, string][] = [
    ["postfix/qmgr[81]: 4F1A2B3C: from=<alice@lab.rplan.test>, size=512, nrcpt=1 (queue active)", "postfix/qmgr[81]: 4F1A2B3C: from=<*@lab.rplan.test>, size=512, nrcpt=1 (queue active)"],
    [
      "postfix/rplan-lmtp/lmtp[90]: 4F1A2B3C: to=<bob@lab.rplan.test>, orig_to=<bobby.b+tag@lab.rplan.test>, relay=198.18.0.0[198.18.0.0]:24, status=sent (250 2.0.0 <bob@lab.rplan.test> Saved)",
      "postfix/rplan-lmtp/lmtp[90]: 4F1A2B3C: to=<*@lab.rplan.test>, orig_to=<*@lab.rplan.test>, relay=198.18.0.0[198.18.0.0]:24, status=sent (250 2.0.0 <*@lab.rplan.test> Saved)",
    ],
    ["postfix/submission/smtpd[77]: 4F1A2B3C: client=unknown[0.0.0.0], sasl_method=PLAIN, sasl_username=alice@lab.rplan.test", "postfix/submission/smtpd[77]: 4F1A2B3C: client=unknown[0.0.0.0], sasl_method=PLAIN, sasl_username=*"],
    ["postfix/submission/smtpd[77]: 4F1A2B3C: client=unknown[0.0.0.0], sasl_method=PLAIN, sasl_username=alice", "postfix/submission/smtpd[77]: 4F1A2B3C: client=unknown[0.0.0.0], sasl_method=PLAIN, sasl_username=*"],
    ["dovecot[12]: imap-login: Login: user=<alice>, method=PLAIN, lip=0.0.0.0, mpid=99, TLS, session=<abc>", "dovecot[12]: imap-login: Login: user=<*>, method=PLAIN, lip=0.0.0.0, mpid=99, TLS, session=<abc>"],
    ["dovecot[12]: lmtp(alice)<99><Xy>: msgid=<1@laptop>: saved mail to INBOX", "dovecot[12]: lmtp(*)<99><Xy>: msgid=<1@laptop>: saved mail to INBOX"],
    ["dovecot[12]: imap(alice@lab.rplan.test)<99><Xy>: Disconnected: Logged out in=10 out=200", "dovecot[12]: imap(*)<99><Xy>: Disconnected: Logged out in=10 out=200"],
    ["dovecot[12]: proxy(bob): started proxying to 198.18.0.0:143: OK", "dovecot[12]: proxy(*): started proxying to 198.18.0.0:143: OK"],
    ["postfix/smtpd[5]: NOQUEUE: reject: RCPT from unknown[0.0.0.0]: 550 5.1.1 <nobody@lab.rplan.test>: Recipient address rejected; from=<x.y@example.net> to=<nobody@lab.rplan.test>", "postfix/smtpd[5]: NOQUEUE: reject: RCPT from unknown[0.0.0.0]: 550 5.1.1 <*@lab.rplan.test>: Recipient address rejected; from=<*@example.net> to=<*@lab.rplan.test>"],
  ];

  test.each(cases)("%s", (line, expected) => {
    expect(mask([line])).toEqual([expected]);
  });

  test("lines without addresses or logins pass unchanged (times, queue ids, message ids without a domain part)", () => {
    const plain = ["postfix/qmgr[81]: 4F1A2B3C: removed", "knotd[3]: [lab.rplan.test.] zone file parsed, serial 8", "2026-11-29T18:00:00 lab1 tincd[7]: Ready"];
    expect(mask(plain)).toEqual(plain);
  });

  test("no full address survives any case (a Message-ID without a dot in its domain is no address and stays: the trace follows it)", () => {
    for (const out of mask(cases.map(([l]) => l))) expect(out).not.toMatch(/[A-Za-z0-9._%+=-]*[A-Za-z0-9]@[a-z0-9-]+\.[a-z]/);
  });

  test("an SRS address keeps its key and domain, loses the user; sender=a@b keeps the key", () => {
    expect(mask(["from=<SRS0=HHH=TT=example.com=alice@fwd.example.net>, sender=bob@example.org"])).toEqual(["from=<SRS0=HHH=TT=example.com=*@fwd.example.net>, sender=*@example.org"]);
  });
});

describe("planLogAnonymity", () => {
  const plan = planLogAnonymity();
  const file = (p: string) => plan.files.find((f) => f.path === p)?.content ?? "";

  test("rsyslog: mmanon zeroes whole addresses, then the sed mask writes the one file, then stop", () => {
    const conf = file(RSYSLOG_DROP_IN);
    expect(conf).toMatch(/ipv4\.mode="zero" ipv4\.bits="32"/);
    expect(conf).toMatch(/ipv6\.anonmode="zero" ipv6\.bits="128"/);
    expect(conf).toMatch(/embeddedipv4\.anonmode="zero" embeddedipv4\.bits="128"/);
    expect(conf).toContain(`binary="/usr/bin/sed -u -E -f ${MASK_SED}"`);
    const order = ["type=\"mmanon\"", "type=\"omprog\"", "\nstop\n"].map((s) => conf.indexOf(s));
    expect(order.every((i) => i > 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    expect(RSYSLOG_DROP_IN).toMatch(/\/00-[^/]+\.conf$/); // included before Debian's rules, and read (*.conf)
  });

  test("journald keeps raw lines in RAM only, for the retention asked, and forwards them", () => {
    const j = file(JOURNALD_DROP_IN);
    expect(j).toMatch(/^Storage=volatile$/m);
    expect(j).toMatch(/^ForwardToSyslog=yes$/m);
    expect(j).toMatch(/^MaxRetentionSec=3600$/m);
    expect(file.call(null, JOURNALD_DROP_IN)).not.toMatch(/persistent/);
    expect(planLogAnonymity({ journalRetentionSec: 600 }).files.find((f) => f.path === JOURNALD_DROP_IN)?.content).toMatch(/^MaxRetentionSec=600$/m);
    // the raw journal journald kept on disk before is removed after journald restarted volatile
    const cmds = plan.commands.map((c) => c.join(" "));
    expect(cmds.indexOf("rm -rf -- /var/log/journal")).toBeGreaterThan(cmds.indexOf("systemctl restart systemd-journald"));
  });

  test("sshd logs no login lines; rsyslog is the one package to add", () => {
    expect(file(SSHD_DROP_IN)).toMatch(/^LogLevel ERROR$/m);
    expect(plan.packages).toEqual(["rsyslog"]);
  });

  test("per-daemon settings name every daemon of the issue", () => {
    const daemons = new Set(plan.settings.map((s) => s.daemon));
    for (const d of ["postfix", "dovecot", "sshd", "slapd", "tinc"] as const) expect(daemons.has(d)).toBe(true);
  });

  test("retention out of range: every problem at once", () => {
    expect(logAnonymityProblems({ journalRetentionSec: 0, fileRetentionDays: 0.5 })).toHaveLength(2);
    expect(() => planLogAnonymity({ journalRetentionSec: 10 ** 6 })).toThrow(/journal retention/);
  });
});
