/**
 * ops/mail-trace: the lines are what postfix 3.7 and dovecot 2.3 wrote for one message accepted on
 * n1, relayed to its home n3's LMTP over the VPN (deferred once while n3's dovecot was down) and
 * delivered there, plus a refused recipient — in `journalctl -o short-iso` form.
 */
import { formatTrace, parseLog, traceMessages } from "../../ops/mail-trace";

const N1 = `
2026-11-29T16:07:50+0000 n1 postfix/smtpd[117]: connect from unknown[198.51.100.1]
2026-11-29T16:07:51+0000 n1 postfix/smtpd[117]: A8BC120E0B3: client=unknown[198.51.100.1]
2026-11-29T16:07:51+0000 n1 postfix/cleanup[140]: A8BC120E0B3: message-id=<m1@client.example>
2026-11-29T16:07:51+0000 n1 postfix/qmgr[106]: A8BC120E0B3: from=<s@example.net>, size=445, nrcpt=1 (queue active)
2026-11-29T16:07:51+0000 n1 postfix/rplan-lmtp/lmtp[141]: A8BC120E0B3: to=<carol@example.org>, relay=none, delay=0.1, delays=0.01/0/0/0, dsn=4.4.1, status=deferred (connect to 198.18.0.13[198.18.0.13]:24: Connection refused)
2026-11-29T16:08:52+0000 n1 postfix/rplan-lmtp/lmtp[141]: A8BC120E0B3: to=<carol@example.org>, relay=198.18.0.13[198.18.0.13]:24, delay=61, delays=61/0/0/0, dsn=2.0.0, status=sent (250 2.0.0 <carol@example.org> 6WPAKtdN Saved)
2026-11-29T16:08:52+0000 n1 postfix/qmgr[106]: A8BC120E0B3: removed
2026-11-29T16:09:00+0000 n1 postfix/smtpd[117]: NOQUEUE: reject: RCPT from unknown[198.51.100.1]: 550 5.1.1 <nobody@example.org>: Recipient address rejected: User unknown in virtual mailbox table; from=<s@example.net> to=<nobody@example.org> proto=ESMTP helo=<c>
2026-11-29T16:09:01+0000 n1 postfix/smtpd[117]: B1C2D3E4F5A: client=unknown[198.51.100.1]
2026-11-29T16:09:01+0000 n1 postfix/cleanup[140]: B1C2D3E4F5A: message-id=<other@client.example>
2026-11-29T16:09:01+0000 n1 postfix/rplan-lmtp/lmtp[141]: B1C2D3E4F5A: to=<alice@example.org>, relay=n1.example.org[private/dovecot-lmtp], delay=0.04, dsn=2.0.0, status=sent (250 2.0.0 <alice@example.org> x Saved)
`;
const N3 = `
2026-11-29T16:08:52+0000 n3 dovecot[99]: lmtp(carol)<2201><BR60N7hNDGt6>: msgid=<m1@client.example>: saved mail to INBOX
2026-11-29T16:09:01+0000 n3 dovecot[99]: lmtp(dave)<2202><BR60N7hNDGt7>: msgid=<unrelated@x>: saved mail to INBOX
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
      ["n3", "-", "delivered"],
    ]);
    expect(rows[3].detail).toBe("to carol@example.org via 198.18.0.13[198.18.0.13]:24: sent (250 2.0.0 <carol@example.org> 6WPAKtdN Saved)");
    expect(rows[4].detail).toBe("into carol's INBOX");
    expect(traceMessages(lines, "m1@client.example")).toEqual(rows);
  });

  test("by recipient: every message to it, and refusals at RCPT", () => {
    expect(traceMessages(lines, "carol@example.org").map((r) => r.event)).toEqual(["accepted", "queued", "deferred", "routed", "delivered"]);
    expect(traceMessages(lines, "nobody@example.org")).toEqual([
      { node: "n1", time: "2026-11-29T16:09:00+0000", queueId: "-", event: "refused", detail: "550 5.1.1 <nobody@example.org>: Recipient address rejected: User unknown in virtual mailbox table (client unknown[198.51.100.1])" },
    ]);
    expect(traceMessages(lines, "zed@example.org")).toEqual([]);
  });

  test("a table with one line per event", () => {
    const table = formatTrace(traceMessages(lines, "<m1@client.example>")).split("\n");
    expect(table[0]).toMatch(/^NODE +TIME +QUEUE ID +EVENT +DETAIL$/);
    expect(table).toHaveLength(6);
    expect(table[5]).toMatch(/^n3 +2026-11-29T16:08:52\+0000 +- +delivered +into carol's INBOX$/);
    expect(formatTrace([])).toMatch(/no node has a record/);
  });
});
