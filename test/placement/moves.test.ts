/** The move rules (planning/placement/moves.ts), the provider's check/diff (no I/O) and the move channel. What doveadm and postqueue report during a move: test/mail/doveadm.test.ts, test/mail/postqueue.test.ts. */
import { describeMove, movesBetween, placementProblems } from "../../planning/placement/moves";
import { PlacementRecord, recordFromInputs } from "../../planning/placement/record";
import { check, diff, UserPlacementOutputs } from "../../providers/impl/user-placement";
import { moveChannelContribution } from "../../planning/mail/move-channel";
import { renderDovecot } from "../../planning/mail/dovecot-config";

const nodes = [
  { name: "lab1", state: "active" as const },
  { name: "lab2", state: "active" as const },
  { name: "lab3", state: "draining" as const },
  { name: "lab4", state: "revoked" as const },
];
const limits = { maxBytesMoved: 1_000_000, concurrency: 2, graceSeconds: 60 };
const desired = (homes: Record<string, string>, sizes: Record<string, number> = {}, pins: Record<string, string> = {}): PlacementRecord => recordFromInputs({ homes, sizes, pins, limits });

describe("moves between the last placement and the desired one", () => {
  test("only users whose home changed move; new users are adopted where they are", () => {
    const d = desired({ alice: "lab2", bob: "lab1", carol: "lab1" }, { alice: 1_234_567 });
    expect(movesBetween({ alice: "lab1", bob: "lab1" }, d)).toEqual([{ user: "alice", from: "lab1", to: "lab2", bytes: 1_234_567 }]);
    expect(describeMove(movesBetween({ alice: "lab1" }, d)[0])).toBe("alice: lab1 → lab2, 1.2 MB");
  });

  test("a move onto a draining or revoked node, over the byte cap, or off a pin is refused — every problem at once", () => {
    const d = desired({ alice: "lab3", bob: "lab4", carol: "lab1", dave: "lab2", erin: "lab9" }, { dave: 2_000_000 }, { carol: "lab2" });
    const p = placementProblems(d, nodes, { alice: "lab1", bob: "lab1", carol: "lab1", dave: "lab1", erin: "lab1" });
    expect(p).toEqual(
      expect.arrayContaining([
        "cannot move alice to lab3: lab3 is draining",
        "cannot move bob to lab4: lab4 is revoked",
        "carol is pinned to lab2 but placed on lab1",
        "erin: home lab9 is not a node of this stack",
        expect.stringMatching(/^the moves copy 2\.0 MB, more than limits\.maxBytesMoved \(1\.0 MB\)/),
      ]),
    );
    expect(p).toHaveLength(5);
  });

  test("a user off a revoked node is promoted, not copied: allowed, outside the byte cap, and the preview says whether a standby copy carries its mail", () => {
    const d = desired({ dave: "lab2", erin: "lab1" }, { dave: 2_000_000, erin: 3_000_000 });
    expect(placementProblems(d, nodes, { dave: "lab4", erin: "lab4" })).toEqual([]);
    const [dave, erin] = movesBetween({ dave: "lab4", erin: "lab4" }, d);
    expect(describeMove(dave, { revoked: true, standby: "lab2" })).toBe("dave: lab4 (revoked) → lab2, promoted: its standby copy there becomes the mailbox");
    expect(describeMove(erin, { revoked: true, standby: "lab2" })).toMatch(/^erin: lab4 \(revoked\) → lab1, NEW EMPTY MAILBOX/);
    expect(describeMove(erin, { revoked: false, standby: "lab1" })).toBe("erin: lab4 → lab1, 3.0 MB");
  });

  test("a user staying on a draining or revoked node is no problem (it waits to move); bad uids and limits are", () => {
    expect(placementProblems(desired({ alice: "lab3", bob: "lab4" }), nodes, { alice: "lab3", bob: "lab4" })).toEqual([]);
    const p = placementProblems({ ...desired({ "a;rm -rf /": "lab1" }), limits: { maxBytesMoved: 0, concurrency: 0, graceSeconds: -1 } }, nodes, {});
    expect(p).toHaveLength(4);
    expect(p[3]).toMatch(/"a;rm -rf \/" is not a valid uid/);
  });
});

describe("the UserPlacement provider without hosts", () => {
  const nodeInputs = nodes.map((n) => ({ ...n, vpnAddress: "198.18.0.1", storePath: "/srv/crypt/mail" }));
  const inputs = (homes: Record<string, string>) => ({ homes, sizes: { alice: 5000 }, pins: {}, limits, nodes: nodeInputs, master: "lab1", suffix: "dc=x", ldapiSocket: "/run/slapd/ldapi" });
  const olds = (homes: Record<string, string>, extra: Partial<UserPlacementOutputs> = {}): UserPlacementOutputs => ({ ...inputs(homes), directory: homes, frozen: [], oldCopies: [], lastMoves: [], ...extra });

  test("check lists each move for the reviewer and refuses a bad one", async () => {
    const ok = await check(inputs({ alice: "lab1" }), inputs({ alice: "lab2" }));
    expect(ok.failures).toBeUndefined();
    expect(ok.inputs.moves).toEqual(["alice: lab1 → lab2, 5.0 kB"]);
    const bad = await check(inputs({ alice: "lab1" }), inputs({ alice: "lab3" }));
    expect(bad.failures).toEqual([{ property: "homes", reason: "cannot move alice to lab3: lab3 is draining" }]);
  });

  test("diff: a move, a user an interrupted move left frozen and an expired old copy are changes; a size alone is not", async () => {
    expect((await diff("p", olds({ alice: "lab1" }), inputs({ alice: "lab1" }))).changes).toBe(false);
    expect((await diff("p", olds({ alice: "lab1" }), { ...inputs({ alice: "lab1" }), sizes: { alice: 9 } })).changes).toBe(false);
    expect((await diff("p", olds({ alice: "lab1" }), inputs({ alice: "lab2" }))).changes).toBe(true);
    expect((await diff("p", olds({ alice: "lab1" }, { frozen: ["alice"] }), inputs({ alice: "lab1" }))).changes).toBe(true);
    expect((await diff("p", olds({ alice: "lab1" }, { oldCopies: [{ user: "alice", node: "lab2", since: Date.now() - 61_000 }] }), inputs({ alice: "lab1" }))).changes).toBe(true);
    expect((await diff("p", olds({ alice: "lab1" }, { oldCopies: [{ user: "alice", node: "lab2", since: Date.now() }] }), inputs({ alice: "lab1" }))).changes).toBe(false);
  });

  test("check: a user the file puts on a revoked node is promoted only if it lived there; anyone else is refused as a move onto a revoked node", async () => {
    // alice lived on lab1: the file moving her to lab4 (revoked) is no promotion, whatever the program made of it.
    const bad = await check(inputs({ alice: "lab1", bob: "lab1" }), { ...inputs({ alice: "lab2", bob: "lab1" }), promotedFrom: { alice: "lab4" } });
    expect(bad.failures).toEqual([{ property: "homes", reason: "cannot move alice to lab4: lab4 is revoked" }]);
    // From a draining home too: only the revoked node the user lived on makes a promotion.
    const other = await check(inputs({ alice: "lab3" }), { ...inputs({ alice: "lab1" }), promotedFrom: { alice: "lab4" } });
    expect(other.failures).toEqual([{ property: "homes", reason: "cannot move alice to lab4: lab4 is revoked" }]);
    // Even when the program's promotion lands where she already lives (the lab: her standby was the revoked node).
    const same = await check(inputs({ alice: "lab1" }), { ...inputs({ alice: "lab1" }), promotedFrom: { alice: "lab4" } });
    expect(same.failures).toEqual([{ property: "homes", reason: "cannot move alice to lab4: lab4 is revoked" }]);
  });

  test("check: a user who lived on the revoked node is promoted; the line says 'promoted' when the last standby is the new home, 'NEW EMPTY MAILBOX' when not", async () => {
    const news = { ...inputs({ alice: "lab2" }), standbys: { alice: "lab1" }, promotedFrom: { alice: "lab4" } };
    const promoted = await check({ ...inputs({ alice: "lab4" }), standbys: { alice: "lab2" } }, news);
    expect(promoted.failures).toBeUndefined();
    expect(promoted.inputs.moves).toEqual(["alice: lab4 (revoked) → lab2, promoted: its standby copy there becomes the mailbox"]);
    // The standby that counts is the one the last update kept (olds), not the one this update gives.
    const empty = await check({ ...inputs({ alice: "lab4" }), standbys: { alice: "lab1" } }, { ...news, standbys: { alice: "lab2" } });
    expect(empty.failures).toBeUndefined();
    expect(empty.inputs.moves).toEqual([expect.stringMatching(/^alice: lab4 \(revoked\) → lab2, NEW EMPTY MAILBOX/)]);
    const none = await check(inputs({ alice: "lab4" }), news);
    expect(none.inputs.moves).toEqual([expect.stringMatching(/^alice: lab4 \(revoked\) → lab2, NEW EMPTY MAILBOX/)]);
    // The next update, the file still naming lab4: alice is where the promotion put her, nothing moves, nothing is refused.
    const again = await check(promoted.inputs, news);
    expect(again.failures).toBeUndefined();
    expect(again.inputs.moves).toEqual([]);
  });

  test("diff: standbys that differ are a change (the new standby's copy is prepared), equal ones are not", async () => {
    const at = (standbys?: Record<string, string>) => ({ ...inputs({ alice: "lab1" }), ...(standbys ? { standbys } : {}) });
    expect((await diff("p", olds({ alice: "lab1" }, { standbys: { alice: "lab2" } }), at({ alice: "lab2" }))).changes).toBe(false);
    expect((await diff("p", olds({ alice: "lab1" }, { standbys: { alice: "lab2" } }), at({ alice: "lab3" }))).changes).toBe(true);
    expect((await diff("p", olds({ alice: "lab1" }, { standbys: { alice: "lab2" } }), at({}))).changes).toBe(true);
    // A state written before standbys has none: {} is no change, a first standby is.
    expect((await diff("p", olds({ alice: "lab1" }), at({}))).changes).toBe(false);
    expect((await diff("p", olds({ alice: "lab1" }), at())).changes).toBe(false);
    expect((await diff("p", olds({ alice: "lab1" }), at({ alice: "lab2" }))).changes).toBe(true);
  });

  test("diff refuses a user the directory did not have, naming it", async () => {
    await expect(diff("p", olds({ alice: "lab1" }), inputs({ alice: "lab1", ghost: "lab2" }))).rejects.toThrow(/the directory has no user ghost/);
  });
});

describe("the move channel", () => {
  test("doveadm listens on the VPN address only, reads its password from the encrypted mount, and sets no doveadm_port (which would proxy every command to the home)", () => {
    const c = moveChannelContribution({ vpnAddress: "198.18.0.11", storePath: "/srv/crypt/mail", suffix: "dc=x", ldapiSocket: "/run/slapd/ldapi", secretPath: "/srv/crypt/keys/dovecot/doveadm.secret" });
    const conf = renderDovecot("lab1", [c]).files[0].content;
    expect(conf).toMatch(/service doveadm \{\n\s+inet_listener \{\n\s+address = 198\.18\.0\.11\n\s+port = 2425/);
    expect(conf).toContain("doveadm_password = </srv/crypt/keys/dovecot/doveadm.secret");
    expect(conf).not.toMatch(/doveadm_port/);
    expect(conf).toMatch(/protocol doveadm \{\n\s+userdb \{/);
  });
});
