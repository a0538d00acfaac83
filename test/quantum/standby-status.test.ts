import { currentLagMs, parseStandbyStatus, standbyRows } from "../../planning/quantum/standby-status";

const text = [
  "alice\tlab2\tok\t1000\t-\t300\t",
  "bob\tlab3\tfailing\t900\t4000\t250\texit 75: connect refused",
  "garbage line",
  "carol;rm\tlab2\tok\t1\t-\t1\t",
  "dave\tlab2\tweird\t1\t-\t1\t",
].join("\n");

describe("the replicator's status lines", () => {
  test("parsed per field; malformed lines, bad uids and unknown states skipped", () => {
    const s = parseStandbyStatus("lab1", text);
    expect(s.map((x) => x.user)).toEqual(["alice", "bob"]);
    expect(s[0]).toEqual({ user: "alice", home: "lab1", standby: "lab2", state: "ok", lastOk: 1000, pendingSince: undefined, lastLagMs: 300, message: "" });
    expect(s[1]).toMatchObject({ state: "failing", pendingSince: 4000, message: "exit 75: connect refused" });
  });

  test("lag now: 0 when nothing waits, else the age of the oldest waiting change", () => {
    const [alice, bob] = parseStandbyStatus("lab1", text);
    expect(currentLagMs(alice, 10_000)).toBe(0);
    expect(currentLagMs(bob, 10_000)).toBe(6000);
  });

  test("rows only for users the directory homes on the node that wrote the line (a moved user's old line is not its status), sorted", () => {
    const statuses = [...parseStandbyStatus("lab1", text), ...parseStandbyStatus("lab2", "alice\tlab3\tok\t5\t-\t7\t")];
    const rows = standbyRows(statuses, { alice: "lab2", bob: "lab1" }, 10_000);
    expect(rows).toEqual([
      ["alice", "lab2", "lab3", "ok", "0.0 s", "7 ms", "-"],
      ["bob", "lab1", "lab3", "failing", "6.0 s", "250 ms", "exit 75: connect refused"],
    ]);
  });
});
