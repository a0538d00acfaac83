/** What postqueue says during a move, read (planning/mail/postqueue.ts). */
import { activeDeliveries } from "../../planning/mail/postqueue";

test("postqueue -j: only messages being delivered (active queue) to one of the user's addresses count", () => {
  const lines = [
    { queue_name: "active", queue_id: "A1", recipients: [{ address: "Alice@Example.org" }] },
    { queue_name: "deferred", queue_id: "D1", recipients: [{ address: "alice@example.org" }] },
    { queue_name: "active", queue_id: "A2", recipients: [{ address: "bob@example.org" }] },
    { queue_name: "active", queue_id: "A3", recipients: [{ address: "bob@example.org" }, { address: "al@example.org" }] },
  ].map((l) => JSON.stringify(l));
  expect(activeDeliveries(lines.join("\n") + "\n", ["alice@example.org", "al@example.org"])).toEqual(["A1", "A3"]);
  expect(activeDeliveries("", ["alice@example.org"])).toEqual([]);
});
