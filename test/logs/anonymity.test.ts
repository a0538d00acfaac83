/**
 * planning/logs/anonymity: the rendered sed mask run by this machine's real GNU sed (as omprog runs
 * it on a node: `sed -u -E -f`) over log lines as postfix and dovecot write them, and the shape of
 * the rsyslog, journald and logrotate files and the commands. mmanon itself (IP addresses) needs rsyslog and is
 * not run here: the lines below carry addresses already zeroed where mmanon would have.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { JOURNALD_DROP_IN, LOG_PACKAGES, type LogAnonymityInput, logAnonymityProblems, LOGIN_RECORDS, MASK_SED, planLogAnonymity, renderMaskSed, RSYSLOG_DROP_IN } from "../../planning/logs/anonymity";

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
    ["postfix/submission/smtpd[77]: 4F1A2B3C: client=unknown[0.0.0.0], sasl_method=PLAIN, sasl_username=alice@lab.rplan.test", "postfix/submission/smtpd[77]: 4F1A2B3C: client=*[0.0.0.0], sasl_method=PLAIN, sasl_username=*"],
    ["postfix/submission/smtpd[77]: 4F1A2B3C: client=dsl-1-2-3-4.isp.example[0.0.0.0], sasl_method=PLAIN, sasl_username=alice", "postfix/submission/smtpd[77]: 4F1A2B3C: client=*[0.0.0.0], sasl_method=PLAIN, sasl_username=*"],
    [
      "postfix/clean_submission/cleanup[4010]: 67DB717E2AD: milter-reject: END-OF-MESSAGE from unknown[0.0.0.0]: 5.7.1 From header address not owned by user mu1; from=<mu1@lab.rplan.test> to=<mu2@lab.rplan.test> proto=ESMTP helo=<x>",
      "postfix/clean_submission/cleanup[4010]: 67DB717E2AD: milter-reject: END-OF-MESSAGE from *[0.0.0.0]: 5.7.1 From header address not owned by user *; from=<*@lab.rplan.test> to=<*@lab.rplan.test> proto=ESMTP helo=<*>",
    ],
    [
      "postfix/submission/smtpd[77]: NOQUEUE: reject: RCPT from unknown[0.0.0.0]: 553 5.7.1 <mu2@lab.rplan.test>: Sender address rejected: not owned by user mu1; from=<mu2@lab.rplan.test>",
      "postfix/submission/smtpd[77]: NOQUEUE: reject: RCPT from *[0.0.0.0]: 553 5.7.1 <*@lab.rplan.test>: Sender address rejected: not owned by user *; from=<*@lab.rplan.test>",
    ],
    [
      "postfix/clean_submission/cleanup[15338]: 9872117E030: replace: header Received: from laptop.client.example (lab2.lab.rplan.test [0.0.0.0])??by lab1.lab.rplan.test (Postfix) with ESMTPSA id 9872117E030??for <mu3@lab.rplan.test>; Mon, 30 Nov 2026 02:30:24 +0000 (UTC from lab2.lab.rplan.test[0.0.0.0]; from=<mu1@lab.rplan.test> to=<mu3@lab.rplan.test> proto=ESMTP helo=<laptop.client.example>: Received: from [0.0.0.0] (localhost [0.0.0.0])??by lab1.lab.rplan.test (Postfix) with ESMTPSA id 9872117E030??for <mu3@lab.rplan.test>; Mon, 30 Nov 2026 02:30:24 +0000 (UTC)",
      "postfix/clean_submission/cleanup[15338]: 9872117E030: replace: header Received: * from *[0.0.0.0]; from=<*@lab.rplan.test> to=<*@lab.rplan.test> proto=ESMTP helo=<*>: Received: from [0.0.0.0] (localhost [0.0.0.0])??by lab1.lab.rplan.test (Postfix) with ESMTPSA id 9872117E030??for <*@lab.rplan.test>; Mon, 30 Nov 2026 02:30:24 +0000 (UTC)",
    ],
    ["postfix/smtpd[5]: NOQUEUE: reject: RCPT from x[0.0.0.0]: 554 5.7.1 denied; from=<a@b.example> to=<c@d.example> proto=ESMTP helo=<alices-laptop>", "postfix/smtpd[5]: NOQUEUE: reject: RCPT from *[0.0.0.0]: 554 5.7.1 denied; from=<*@b.example> to=<*@d.example> proto=ESMTP helo=<*>"],
    ["postfix/smtpd[77]: connect from dsl-1-2-3-4.isp.example[0.0.0.0]", "postfix/smtpd[77]: connect from *[0.0.0.0]"],
    ["postfix/smtpd[77]: warning: hostname dsl-1-2-3-4.isp.example does not resolve to address 0.0.0.0: Name or service not known", "postfix/smtpd[77]: warning: hostname * does not resolve to address 0.0.0.0: Name or service not known"],
    ["dovecot[12]: imap-login: Login: user=<alice>, method=PLAIN, lip=0.0.0.0, mpid=99, TLS, session=<abc>", "dovecot[12]: imap-login: Login: user=<*>, method=PLAIN, lip=0.0.0.0, mpid=99, TLS, session=<abc>"],
    ["dovecot[12]: lmtp(alice)<99><Xy>: msgid=<1@laptop>: saved mail to INBOX", "dovecot[12]: lmtp(*)<99><Xy>: msgid=<1@laptop>: saved mail to INBOX"],
    ["dovecot[12]: imap(alice@lab.rplan.test)<99><Xy>: Disconnected: Logged out in=10 out=200", "dovecot[12]: imap(*)<99><Xy>: Disconnected: Logged out in=10 out=200"],
    ["dovecot[12]: proxy(bob): started proxying to 198.18.0.0:143: OK", "dovecot[12]: proxy(*): started proxying to 198.18.0.0:143: OK"],
    // as the lab's nodes write them (RSYSLOG_FileFormat, after mmanon)
    [
      "2026-11-30T01:45:04.477248+00:00 lab3 sshd[814]: Accepted publickey for root from 0.0.0.0 port 60516 ssh2: ED25519 SHA256:DRnoufc721jFQARwpyaqrLtvIZa/CRfSfdHgCxMHRlQ",
      "2026-11-30T01:45:04.477248+00:00 lab3 sshd[814]: Accepted publickey for root from 0.0.0.0 port 60516 ssh2: ED25519 SHA256:DRnoufc721jFQARwpyaqrLtvIZa/CRfSfdHgCxMHRlQ",
    ],
    ["2026-11-30T01:50:00.1+00:00 lab2 sshd[90]: Invalid user alice@lab.rplan.test from 0.0.0.0 port 4242", "2026-11-30T01:50:00.1+00:00 lab2 sshd[90]: Invalid user *@lab.rplan.test from 0.0.0.0 port 4242"],
    [
      "2026-11-30T01:50:00.2+00:00 lab2 postfix/cleanup[91]: 7D2E41A2B: message-id=<20261130015000.012345@laptop.client.example>",
      "2026-11-30T01:50:00.2+00:00 lab2 postfix/cleanup[91]: 7D2E41A2B: message-id=<20261130015000.012345@laptop.client.example>",
    ],
    [
      "2026-11-30T01:50:00.3+00:00 lab2 postfix/cleanup[91]: 7D2E41A2B: resent-message-id=<r.1@mx.example.org>, from=<alice@lab.rplan.test>",
      "2026-11-30T01:50:00.3+00:00 lab2 postfix/cleanup[91]: 7D2E41A2B: resent-message-id=<r.1@mx.example.org>, from=<*@lab.rplan.test>",
    ],
    [
      "2026-11-30T01:50:01+00:00 lab3 dovecot[12]: lmtp(alice)<99><Xy>: msgid=<CAF=x_y+z@mail.example.com>: saved mail to INBOX",
      "2026-11-30T01:50:01+00:00 lab3 dovecot[12]: lmtp(*)<99><Xy>: msgid=<CAF=x_y+z@mail.example.com>: saved mail to INBOX",
    ],
    [
      "2026-11-30T01:50:02+00:00 lab2 postfix/smtp[95]: 7D2E41A2B: to=<carol@example.net>, relay=mx.example.net[0.0.0.0]:25, delay=0.4, status=sent (250 2.0.0 Ok: queued as 4F1A2B3C)",
      "2026-11-30T01:50:02+00:00 lab2 postfix/smtp[95]: 7D2E41A2B: to=<*@example.net>, relay=mx.example.net[0.0.0.0]:25, delay=0.4, status=sent (250 2.0.0 Ok: queued as 4F1A2B3C)",
    ],
    // rspamd's failed blocklist and reverse queries name the client's address backwards: IPv4 is
    // mmanon's (zeroed before sed), IPv6 in nibbles is the mask's
    [
      'rspamd[31]: <07b3ae>; lua; rbl.lua:98: error querying dns "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.zen.spamhaus.org": query timed out',
      'rspamd[31]: <07b3ae>; lua; rbl.lua:98: error querying dns "*.zen.spamhaus.org": query timed out',
    ],
    ['rspamd[31]: <07b3ae>; lua; once_received.lua:52: error looking up b.a.9.8.7.6.5.4.3.2.1.0.f.e.d.c.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa: query refused', "rspamd[31]: <07b3ae>; lua; once_received.lua:52: error looking up *.ip6.arpa: query refused"],
    ["postfix/smtpd[5]: NOQUEUE: reject: RCPT from unknown[0.0.0.0]: 550 5.1.1 <nobody@lab.rplan.test>: Recipient address rejected; from=<x.y@example.net> to=<nobody@lab.rplan.test>", "postfix/smtpd[5]: NOQUEUE: reject: RCPT from *[0.0.0.0]: 550 5.1.1 <*@lab.rplan.test>: Recipient address rejected; from=<*@example.net> to=<*@lab.rplan.test>"],
  ];

  test.each(cases)("%s", (line, expected) => {
    expect(mask([line])).toEqual([expected]);
  });

  test("lines without addresses or logins pass unchanged (times, queue ids, message ids without a domain part)", () => {
    const plain = ["postfix/qmgr[81]: 4F1A2B3C: removed", "knotd[3]: [lab.rplan.test.] zone file parsed, serial 8", "2026-11-29T18:00:00 lab1 tincd[7]: Ready"];
    expect(mask(plain)).toEqual(plain);
  });

  test("no full address survives any case, outside a Message-ID (the trace follows those)", () => {
    for (const out of mask(cases.map(([l]) => l))) expect(out.replace(/(message-id|msgid)=<[^>]*>/g, "")).not.toMatch(/[A-Za-z0-9._%+=-]*[A-Za-z0-9]@[a-z0-9-]+\.[a-z]/);
  });

  test("a Message-ID keeps its @ whole; an address after it in the same line is still masked", () => {
    expect(mask(["x: message-id=<a.b@host.example> from bob@example.org msgid=<c@d.example>"])).toEqual(["x: message-id=<a.b@host.example> from *@example.org msgid=<c@d.example>"]);
    expect(mask(["x: message-id=<a.b@host.example>", "message-id-less line alice@example.org"])).toEqual(["x: message-id=<a.b@host.example>", "message-id-less line *@example.org"]);
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

  test("journald keeps nothing, not even in RAM, and forwards every line", () => {
    const j = file(JOURNALD_DROP_IN);
    expect(j).toMatch(/^Storage=none$/m);
    expect(j).toMatch(/^ForwardToSyslog=yes$/m);
    expect(j).not.toMatch(/volatile|persistent|Retention/);
  });

  test("commands: config checked, rsyslog enabled and listening before journald forwards, old journals removed, login records to /dev/null", () => {
    const cmds = plan.commands.map((c) => c.join(" "));
    expect(cmds[0]).toBe("rsyslogd -N1");
    const at = (c: string) => cmds.indexOf(c);
    expect(at("systemctl enable rsyslog")).toBeGreaterThan(0);
    expect(at("systemctl restart rsyslog")).toBeGreaterThan(at("systemctl enable rsyslog"));
    expect(at("systemctl restart systemd-journald")).toBeGreaterThan(at("systemctl restart rsyslog"));
    expect(at("rm -rf -- /var/log/journal /run/log/journal")).toBeGreaterThan(at("systemctl restart systemd-journald"));
    for (const f of LOGIN_RECORDS) expect(cmds).toContain(`ln -sfn /dev/null ${f}`);
    expect(LOGIN_RECORDS).toEqual(["/var/log/wtmp", "/var/log/btmp", "/var/log/lastlog"]);
  });

  test("sshd keeps its INFO login lines (they reach the file with the address zeroed); rsyslog and logrotate are the packages to add", () => {
    expect(plan.files.map((f) => f.path)).not.toContainEqual(expect.stringMatching(/^\/etc\/ssh\//));
    expect(plan.settings.find((s) => s.daemon === "sshd" && s.setting === "LogLevel")?.value).toMatch(/^INFO/);
    expect(plan.packages).toEqual(["rsyslog", "logrotate"]);
    expect(plan.packages).toEqual([...LOG_PACKAGES]);
  });

  test("per-daemon settings name every daemon of the issue", () => {
    const daemons = new Set(plan.settings.map((s) => s.daemon));
    for (const d of ["postfix", "dovecot", "sshd", "slapd", "tinc"] as const) expect(daemons.has(d)).toBe(true);
  });

  test("retention out of range, and a journal retention (the journal keeps nothing): every problem at once", () => {
    const stale = { journalRetentionSec: 3600, fileRetentionDays: 0.5 } as unknown as LogAnonymityInput;
    expect(logAnonymityProblems(stale)).toEqual(["unknown log anonymity setting journalRetentionSec (the journal keeps nothing: Storage=none)", "log file retention 0.5 must be whole days between 1 and 90"]);
    expect(() => planLogAnonymity(stale)).toThrow(/journalRetentionSec[\s\S]*log file retention/);
    expect(planLogAnonymity({ fileRetentionDays: 3 }).files.find((f) => f.path.startsWith("/etc/logrotate.d/"))?.content).toMatch(/^\trotate 2$/m);
  });
});
