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

  test("messages and vsize (tab) per folder, and the comparison of two copies", () => {
    const a = parseMailboxStatus("mailbox\tmessages\tvsize\nINBOX\t120\t34000\nSent\t3\t900\n");
    const b = parseMailboxStatus("mailbox\tmessages\tvsize\nINBOX\t119\t33700\nSent\t3\t900\nJunk\t0\t0\n");
    expect(a).toEqual({ INBOX: "120/34000", Sent: "3/900" });
    expect(copyDifferences(a, a)).toEqual([]);
    expect(copyDifferences(a, b)).toEqual(["INBOX: 120/34000 vs 119/33700", "Junk: missing vs 0/0"]);
    expect(() => parseMailboxStatus("name\tcount\nINBOX\t1\n")).toThrow(/unexpected doveadm mailbox status header/);
  });
});
