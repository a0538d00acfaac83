/**
 * The move protocol's decisions (planning/quantum/protocol.ts) and the parts of a quantum
 * (planning/quantum/parts.ts), without a host. The same decisions carried out on a cluster in
 * memory: ./move.test.ts.
 */
import { afterComparison, FINAL_SYNC_ATTEMPTS, finalSyncState, moveStage, onFailure, STEPS, stepsFrom } from "../../planning/quantum/protocol";
import { mailDir, MOVED_PARTS, QUANTUM_PARTS } from "../../planning/quantum/parts";

describe("the journal: where a move stands, by the user's entry", () => {
  test("each state of the entry", () => {
    expect(moveStage({ home: "a", frozen: false }, "a", "b")).toBe("no");
    expect(moveStage({ home: "a", frozen: true }, "a", "b")).toBe("frozen-at-old-home");
    expect(moveStage({ home: "b", frozen: true }, "a", "b")).toBe("frozen-at-new-home");
    expect(moveStage({ home: "b", frozen: true }, "b", "b")).toBe("frozen-at-new-home");
    expect(moveStage({ home: "b", frozen: false }, "a", "b")).toBe("already-done");
    expect(() => moveStage({ home: "c", frozen: false }, "a", "b")).toThrow(/the directory says the home is c \(someone else moved the user/);
    expect(() => moveStage({ home: "c", frozen: true }, "a", "b")).toThrow(/the directory says the home is c/);
  });

  test("the steps a move runs from each state: all; from the quiesce; the unfreeze and the finish; none", () => {
    expect(STEPS).toEqual(["set aside", "bulk copy", "freeze", "quiesce", "final sync", "switch", "unfreeze", "finish"]);
    expect(stepsFrom("no")).toEqual([...STEPS]);
    expect(stepsFrom("frozen-at-old-home")).toEqual(["quiesce", "final sync", "switch", "unfreeze", "finish"]);
    expect(stepsFrom("frozen-at-new-home")).toEqual(["unfreeze", "finish"]);
    expect(stepsFrom("already-done")).toEqual([]);
  });
});

describe("failures", () => {
  test("frozen and not switched, a failure unfreezes the user at the old home; any other just fails the move (the journal says where a rerun goes on)", () => {
    expect(Object.fromEntries(STEPS.map((s) => [s, onFailure(s)]))).toEqual({
      "set aside": "fail",
      "bulk copy": "fail",
      freeze: "fail",
      quiesce: "unfreeze at the old home",
      "final sync": "unfreeze at the old home",
      switch: "fail",
      unfreeze: "fail",
      finish: "fail",
    });
  });

  test("the final sync goes on from the bulk copy's dsync state, then syncs in full", () => {
    expect(FINAL_SYNC_ATTEMPTS).toBe(2);
    expect(finalSyncState(1, "AQAAAB2b")).toBe("AQAAAB2b");
    expect(finalSyncState(1, "")).toBe("");
    expect(finalSyncState(2, "AQAAAB2b")).toBe("");
  });

  test("a comparison: equal copies switch; different ones sync again in full, and fail the move if still different", () => {
    const differ = ["INBOX: 30/3000 vs 29/2900"];
    expect(afterComparison(1, [])).toBe("switch");
    expect(afterComparison(1, differ)).toBe("sync again in full");
    expect(afterComparison(2, [])).toBe("switch");
    expect(afterComparison(2, differ)).toBe("copies differ: fail");
  });
});

describe("the parts of a quantum", () => {
  test("a move carries the mailbox today; site files, the site's database and lists have their place, each saying how it is copied and compared", () => {
    expect(MOVED_PARTS.map((p) => p.name)).toEqual(["mail"]);
    expect(QUANTUM_PARTS.map((p) => p.name)).toEqual(["mail", "site-files", "site-db", "lists"]);
    for (const p of QUANTUM_PARTS) {
      for (const k of ["what", "copiedBy", "comparedBy", "idleWhen"] as const) expect({ part: p.name, [k]: p[k].length > 10 }).toEqual({ part: p.name, [k]: true });
    }
    expect(mailDir("/srv/crypt/mail", "alice")).toBe("/srv/crypt/mail/alice");
  });
});
