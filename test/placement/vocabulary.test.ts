/**
 * One placement vocabulary (planning/placement/record.ts): the record the file, the commands, the
 * component, the provider and the moves' rules share, and the one form the UserPlacement resource's
 * inputs carry it in — whose property names are in every stack's state and must not change.
 */
import type * as pulumi from "@pulumi/pulumi";
import { validateClusterConfig } from "../../planning/config";
import { PlacementRecord, placementRecordProblems, recordAsInputs, recordFromInputs, parsePlacementRecord, DEFAULT_LIMITS } from "../../planning/placement";
import { movesBetween, placementProblems } from "../../planning/placement/moves";
import { completeRecord } from "../../planning/placement/standby";
import { renderStandbyMap, STANDBY_MAP } from "../../planning/quantum/standby-sync";
import { rawConfig } from "../support/config-fixture";
import { named, registerUnderMocks } from "../support/mock-components";

const rec: PlacementRecord = {
  users: { alice: { home: "n1", bytes: 2_000 }, bob: { home: "n2", bytes: 0 } },
  pins: { bob: "n2" },
  limits: { maxBytesMoved: 5_000, concurrency: 2, graceSeconds: 60 },
};
const nodes = [
  { name: "n1", state: "active" as const },
  { name: "n2", state: "active" as const },
  { name: "n3", state: "revoked" as const },
];

describe("the record and the resource's inputs", () => {
  test("the inputs carry homes, sizes, standbys, pins and limits — the names in every stack's state — and give the same record back", () => {
    const inputs = recordAsInputs(rec);
    expect(inputs).toEqual({ homes: { alice: "n1", bob: "n2" }, sizes: { alice: 2_000, bob: 0 }, standbys: {}, pins: { bob: "n2" }, limits: rec.limits });
    expect(Object.keys(inputs)).toEqual(["homes", "sizes", "standbys", "pins", "limits"]);
    expect(recordFromInputs(inputs)).toEqual(rec);
    // A size the inputs lack is 0 bytes, as the moves always counted it.
    expect(recordFromInputs({ ...inputs, sizes: {} }).users.alice).toEqual({ home: "n1", bytes: 0 });
    // Standbys: one per user that has one; inputs written before standbys (no `standbys`) mean none.
    const withStandby = { ...rec, users: { ...rec.users, alice: { home: "n1", standby: "n2", bytes: 2_000 } } };
    expect(recordAsInputs(withStandby).standbys).toEqual({ alice: "n2" });
    expect(recordFromInputs(recordAsInputs(withStandby))).toEqual(withStandby);
    const { standbys: _none, ...older } = recordAsInputs(withStandby);
    expect(recordFromInputs(older)).toEqual(rec);
  });

  test("the moves' rules read the record", () => {
    const moved = { ...rec, users: { ...rec.users, alice: { home: "n2", bytes: 2_000 } } };
    expect(movesBetween({ alice: "n1", bob: "n2" }, moved)).toEqual([{ user: "alice", from: "n1", to: "n2", bytes: 2_000 }]);
    expect(placementProblems({ ...moved, users: { ...moved.users, alice: { home: "n3", bytes: 9_000 } } }, nodes, { alice: "n1", bob: "n2" })).toEqual([
      "cannot move alice to n3: n3 is revoked",
      expect.stringMatching(/^the moves copy 9\.0 kB, more than limits\.maxBytesMoved/),
    ]);
  });

  test("a standby per user: a node of the stack (the home too: a move onto the standby); the file takes it", () => {
    const standby = (s: string): PlacementRecord => ({ ...rec, users: { ...rec.users, alice: { home: "n1", bytes: 2_000, standby: s } } });
    expect(placementRecordProblems(standby("n2"), nodes)).toEqual([]);
    // A home set to its standby is a move onto the standby, not an error: the program picks a new standby.
    expect(placementRecordProblems(standby("n1"), nodes)).toEqual([]);
    expect(placementRecordProblems(standby("n9"), nodes)).toEqual(["users.alice.standby: n9 is not a node of the stack (nodes: n1, n2, n3)"]);
    expect(parsePlacementRecord("users:\n  alice: { home: n1, bytes: 1, standby: n2 }\n", "p.yaml", nodes).users.alice).toEqual({ home: "n1", standby: "n2", bytes: 1 });
    expect(() => parsePlacementRecord("users:\n  alice: { home: n1, bytes: 1, spare: n2 }\n", "p.yaml", nodes)).toThrow(/users\.alice: unknown key "spare" \(known: home, standby, bytes\)/);
  });
});

test("the component registers the record under the same input names and values as before (every user given a standby, and what changed in standbyChanges); each live node gets the map of standbys", async () => {
  const cluster = validateClusterConfig(rawConfig());
  const { regs } = await registerUnderMocks(() => {
    const { UserPlacement } = require("../../components/user-placement");
    const { ComponentResource, CustomResource } = require("@pulumi/pulumi") as typeof pulumi;
    // Only what UserPlacement reads of the directory, node and mail components: the master, suffix and
    // socket, each node's SSH endpoint, what it depends on.
    const entries = new ComponentResource("test:Entries", "entries");
    const ldap = { plan: { master: "n1", suffix: "dc=example,dc=org", settings: { ldapiSocket: "/run/slapd/ldapi" } }, entries };
    const nodes = Object.fromEntries(cluster.nodes.map((n) => [n.name, { ssh: n.ssh }]));
    class Daemon extends CustomResource {
      constructor(name: string) {
        super("test:index:Daemon", name, {});
      }
    }
    const daemons = Object.fromEntries(cluster.nodes.map((n) => [n.name, { postfix: new Daemon(`${n.name}-postfix`), dovecot: new Daemon(`${n.name}-dovecot`) }]));
    const placement = new UserPlacement("placement", { cluster, nodes, ldap, mail: { daemons }, record: { ...rec, limits: { ...DEFAULT_LIMITS } } });
    return { result: placement, awaited: [placement.resource, ...Object.values(placement.standbyMaps as Record<string, pulumi.CustomResource>)] };
  });
  const inputs = named(regs, "placement-homes").inputs;
  expect(Object.keys(inputs).filter((k) => k !== "__provider").sort()).toEqual(["homes", "ldapiSocket", "limits", "master", "nodes", "pins", "sizes", "standbyChanges", "standbys", "suffix"]);
  expect(inputs.homes).toEqual({ alice: "n1", bob: "n2" });
  expect(inputs.sizes).toEqual({ alice: 2_000, bob: 0 });
  // The record names no standby: the program gives each user one (planning/placement/standby.ts), not its home.
  const standbys = completeRecord({ ...rec, limits: { ...DEFAULT_LIMITS } }, cluster.nodes).record.users;
  expect(inputs.standbys).toEqual({ alice: standbys.alice.standby, bob: standbys.bob.standby });
  expect(inputs.standbys.alice).not.toBe("n1");
  expect(inputs.standbys.bob).not.toBe("n2");
  expect(inputs.standbyChanges).toHaveLength(2);
  // Every live node's replicator reads the same map, written once dovecot is configured.
  for (const n of ["n1", "n2", "n3"]) {
    const map = named(regs, `${n}-standby-map`);
    expect(map.inputs.node).toBe(n);
    expect(map.inputs.files).toEqual([{ path: STANDBY_MAP, content: renderStandbyMap({ standbys: inputs.standbys, vpnAddresses: { n1: "198.18.0.11", n2: "198.18.0.12", n3: "198.18.0.13" } }) }]);
    expect(map.deps).toContain(`${n}-dovecot`);
  }
  expect(inputs.pins).toEqual({ bob: "n2" });
  expect(inputs.limits).toEqual({ ...DEFAULT_LIMITS });
  expect(inputs.nodes.map((n: { name: string; state: string; storePath: string }) => [n.name, n.state, n.storePath])).toEqual([
    ["n1", "active", "/srv/crypt/mail"],
    ["n2", "active", "/srv/crypt/mail"],
    ["n3", "active", "/srv/crypt/mail"],
  ]);
});
