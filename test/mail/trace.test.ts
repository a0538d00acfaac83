/**
 * ops/mail-trace: the lines are what postfix 3.7 and dovecot 2.3 wrote for one message accepted on
 * n1, relayed to its home n3's LMTP over the VPN (deferred once while n3's dovecot was down) and
 * delivered there, plus a refused recipient — as a node's /var/log/rplan.log holds them
 * (RSYSLOG_FileFormat, IP addresses zeroed, mail addresses and logins masked, Message-IDs whole).
 */
import { execFileSync } from "child_process";
import { formatTrace, LOG_COMMAND, parseLog, traceMessages } from "../../ops/mail-trace";

const N1 = `
2026-11-29T16:07:50.100001+00:00 n1 postfix/smtpd[117]: connect from *[0.0.0.0]
2026-11-29T16:07:51.100001+00:00 n1 postfix/smtpd[117]: A8BC120E0B3: client=*[0.0.0.0]
2026-11-29T16:07:51.200001+00:00 n1 postfix/clean_submission/cleanup[140]: A8BC120E0B3: message-id=<m1@client.example>
2026-11-29T16:07:51.300001+00:00 n1 postfix/qmgr[106]: A8BC120E0B3: from=<*@example.net>, size=445, nrcpt=1 (queue active)
2026-11-29T16:07:51.400001+00:00 n1 postfix/rplan-lmtp/lmtp[141]: A8BC120E0B3: to=<*@example.org>, relay=none, delay=0.1, delays=0.01/0/0/0, dsn=4.4.1, status=deferred (connect to 0.0.0.0[0.0.0.0]:24: Connection refused)
2026-11-29T16:07:51.450001+00:00 n1 postfix/rplan_held/virtual[142]: A8BC120E0B3: to=<*@held.rplan.invalid>, relay=rplan_held, delay=0.05, delays=0.03/0/0/0.02, dsn=2.0.0, status=sent (delivered to maildir)
2026-11-29T16:08:52.100001+00:00 n1 postfix/rplan-lmtp/lmtp[141]: A8BC120E0B3: to=<*@example.org>, relay=0.0.0.0[0.0.0.0]:24, delay=61, delays=61/0/0/0, dsn=2.0.0, status=sent (250 2.0.0 <*@example.org> 6WPAKtdN Saved)
2026-11-29T16:08:52.200001+00:00 n1 postfix/qmgr[106]: A8BC120E0B3: removed
2026-11-29T16:09:00.100001+00:00 n1 postfix/smtpd[117]: NOQUEUE: reject: RCPT from *[0.0.0.0]: 550 5.1.1 <*@example.org>: Recipient address rejected: User unknown in virtual mailbox table; from=<*@example.net> to=<*@example.org> proto=ESMTP helo=<c>
2026-11-29T16:09:01.100001+00:00 n1 postfix/smtpd[117]: B1C2D3E4F5A: client=*[0.0.0.0]
2026-11-29T16:09:01.200001+00:00 n1 postfix/cleanup[140]: B1C2D3E4F5A: message-id=<other@client.example>
2026-11-29T16:09:01.300001+00:00 n1 postfix/rplan-lmtp/lmtp[141]: B1C2D3E4F5A: to=<*@example.org>, relay=n1.example.org[private/dovecot-lmtp], delay=0.04, dsn=2.0.0, status=sent (250 2.0.0 <*@example.org> x Saved)
`;
const N3 = `
2026-11-29T16:08:52.300001+00:00 n3 dovecot: lmtp(*)<2201><BR60N7hNDGt6>: msgid=<m1@client.example>: saved mail to INBOX
2026-11-29T16:09:01.400001+00:00 n3 dovecot[99]: lmtp(*)<2202><BR60N7hNDGt7>: msgid=<unrelated@x>: saved mail to INBOX
2026-11-29T16:09:02.100001+00:00 n3 sshd[7]: Accepted publickey for root from 0.0.0.0 port 1 ssh2: ED25519 SHA256:x
2026-11-29T16:09:03.100001+00:00 n3 dovecot: lmtp(*)<2203><BR60N7hNDGt8>: sieve: msgid=<s1@client.example>: stored mail into mailbox 'INBOX'
2026-11-29T16:09:03.200001+00:00 n3 dovecot: lmtp(*)<2203><BR60N7hNDGt9>: sieve: msgid=<s2@client.example>: fileinto action: stored mail into mailbox 'Junk'
2026-11-29T16:09:03.300001+00:00 n3 dovecot: lmtp(*)<2203><BR60N7hNDGta>: sieve: msgid=<s3@client.example>: marked message to be discarded if not explicitly delivered (discard action)
`;
const lines = [...parseLog("n1", N1), ...parseLog("n3", N3)];

describe("mail trace", () => {
  test("by Message-ID: accepted on n1, deferred while the home was down, routed over the VPN, delivered on n3", () => {
    const rows = traceMessages(lines, "<m1@client.example>");
    expect(rows.map((r) => [r.node, r.queueId, r.event])).toEqual([
      ["n1", "A8BC120E0B3", "accepted"],
      ["n1", "A8BC120E0B3", "queued"],
      ["n1", "A8BC120E0B3", "deferred"],
      ["n1", "A8BC120E0B3", "routed"],
      ["n1", "A8BC120E0B3", "routed"],
      ["n3", "-", "delivered"],
    ]);
    // The spare copy n1 kept is named as such, not as a route to the user.
    expect(rows[3].detail).toBe("to *@held.rplan.invalid via rplan_held: sent (delivered to maildir) — a spare copy kept on this node for an hour (docs/seizure.md)");
    expect(rows[4].detail).toBe("to *@example.org via 0.0.0.0[0.0.0.0]:24: sent (250 2.0.0 <*@example.org> 6WPAKtdN Saved)");
    expect(rows[5].detail).toBe("into *'s INBOX");
    expect(traceMessages(lines, "m1@client.example")).toEqual(rows);
  });

  test("a delivery through sieve (rplan's Junk rule runs for every message): into the INBOX, into a folder, or discarded by the user's filter", () => {
    const delivered = (id: string) => traceMessages(lines, id).filter((r) => r.event === "delivered").map((r) => [r.node, r.detail]);
    expect(delivered("<s1@client.example>")).toEqual([["n3", "into *'s INBOX"]]);
    expect(delivered("<s2@client.example>")).toEqual([["n3", "into *'s Junk"]]);
    expect(delivered("<s3@client.example>")).toEqual([["n3", "discarded by *'s sieve filter"]]);
  });

  test("by recipient: nothing, since the log masks every address; the answer says why and what to trace by instead", () => {
    for (const q of ["carol@example.org", "nobody@example.org"]) expect(traceMessages(lines, q)).toEqual([]);
    expect(formatTrace([])).toMatch(/^no node has a record of that message\. A recipient cannot be traced: the logs keep no full mail address .*; trace the message by its Message-ID$/);
  });

  test("a table with one line per event", () => {
    const table = formatTrace(traceMessages(lines, "<m1@client.example>")).split("\n");
    expect(table[0]).toMatch(/^NODE +TIME +QUEUE ID +EVENT +DETAIL$/);
    expect(table).toHaveLength(7);
    expect(table[6]).toMatch(/^n3 +2026-11-29T16:08:52\.300001\+00:00 +- +delivered +into \*'s INBOX$/);
    expect(formatTrace([])).toMatch(/no node has a record/);
  });

  test("LOG_COMMAND keeps postfix's and dovecot's lines of the log, nothing else (real sh, grep)", () => {
    const grep = LOG_COMMAND(7).slice(LOG_COMMAND(7).indexOf("| grep"));
    const out = execFileSync("sh", ["-c", `cat ${grep}`], { input: N1 + N3, encoding: "utf8" });
    expect(parseLog("n", out)).toHaveLength(N1.trim().split("\n").length + N3.trim().split("\n").filter((l) => l.includes(" dovecot")).length);
    expect(out).not.toMatch(/sshd/);
  });
});
