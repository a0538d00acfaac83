/** What doveadm says during a move, read (planning/mail/doveadm.ts): dsync's rounds, mailbox status, the comparison of two copies. */
import { backupComplaint, backupOutcome, backupState, copyDifferences, parseInboxGuid, parseMailboxStatus } from "../../planning/mail/doveadm";

describe("doveadm backup (dsync)", () => {
  test("exit codes: 0 clean, 2 run again, 75 a temporary failure (run again), anything else a failure", () => {
    expect([0, 2, 75, 1, 68, 89].map(backupOutcome)).toEqual(["clean", "again", "temporary failure", "failed", "failed", "failed"]);
  });

  test("the state a clean stateful round printed is its last line; none printed is none", () => {
    expect(backupState("some notice\nAQAAAB2bXwNf\n")).toBe("AQAAAB2bXwNf");
    expect(backupState("")).toBeUndefined();
    expect(backupState("\n")).toBeUndefined();
  });

  test("a round's complaint: the last 3 lines of stderr, else of stdout when it failed", () => {
    expect(backupComplaint({ code: 2, stdout: "state", stderr: "a\nb\nc\nd\n" })).toBe("b c d");
    expect(backupComplaint({ code: 1, stdout: "only on stdout\n", stderr: "" })).toBe("only on stdout");
    expect(backupComplaint({ code: 0, stdout: "state\n", stderr: "" })).toBe("");
  });
});

describe("doveadm mailbox status", () => {
  test("guid (flow) of the INBOX", () => {
    expect(parseInboxGuid("mailbox=INBOX guid=5a1c0b2f3e4d\n")).toBe("5a1c0b2f3e4d");
    expect(parseInboxGuid("")).toBeUndefined();
  });

  test("the index-only identity of each folder (tab), and the comparison of two copies", () => {
    const head = "mailbox\tmessages\tuidnext\tuidvalidity\tguid\n";
    const a = parseMailboxStatus(`${head}INBOX\t120\t121\t1700000000\tg1\nSent\t3\t4\t1700000001\tg2\n`);
    expect(a).toEqual({ INBOX: "messages=120,uidnext=121,uidvalidity=1700000000,guid=g1", Sent: "messages=3,uidnext=4,uidvalidity=1700000001,guid=g2" });
    expect(copyDifferences(a, a)).toEqual([]);
    // one message missing; a folder only on one side
    const b = parseMailboxStatus(`${head}INBOX\t119\t120\t1700000000\tg1\nSent\t3\t4\t1700000001\tg2\nJunk\t0\t1\t1700000002\tg3\n`);
    expect(copyDifferences(a, b)).toEqual([
      "INBOX: messages=120,uidnext=121,uidvalidity=1700000000,guid=g1 vs messages=119,uidnext=120,uidvalidity=1700000000,guid=g1",
      "Junk: missing vs messages=0,uidnext=1,uidvalidity=1700000002,guid=g3",
    ]);
    // each field alone tells the copies apart: one expunged and one new message (same count), a folder recreated
    for (const row of ["INBOX\t120\t122\t1700000000\tg1", "INBOX\t120\t121\t1700000009\tg1", "INBOX\t120\t121\t1700000000\tg9"]) {
      expect(copyDifferences(a, parseMailboxStatus(`${head}${row}\nSent\t3\t4\t1700000001\tg2\n`))).toHaveLength(1);
    }
    // columns in any order; a missing one is an error naming what was expected
    expect(parseMailboxStatus("guid\tuidvalidity\tmailbox\tuidnext\tmessages\ng1\t1700000000\tINBOX\t121\t120\n")).toEqual({ INBOX: a.INBOX });
    expect(() => parseMailboxStatus("mailbox\tmessages\tvsize\nINBOX\t1\t2\n")).toThrow(/unexpected doveadm mailbox status header: .*expected mailbox, messages, uidnext, uidvalidity, guid/);
  });
});
