import { NODE_STATES, NodeState } from "../planning/config/types";
import {
  inMesh,
  isDraining,
  isLive,
  isNodeState,
  isRevoked,
  mayBeHome,
  mayBeLdapMaster,
  mayBeStandby,
  sendsMail,
  servesClients,
  servesDns,
  servesMail,
  Stated,
} from "../planning/node-roles";

type Role = (x: Stated) => boolean;

const ROLES: Record<string, Role> = { isLive, isRevoked, isDraining, inMesh, sendsMail, servesDns, servesMail, servesClients, mayBeHome, mayBeLdapMaster };

/** The whole rule book: state → the roles it has. */
const TABLE: Record<NodeState, Record<keyof typeof ROLES, boolean>> = {
  active: { isLive: true, isRevoked: false, isDraining: false, inMesh: true, sendsMail: true, servesDns: true, servesMail: true, servesClients: true, mayBeHome: true, mayBeLdapMaster: true },
  draining: { isLive: true, isRevoked: false, isDraining: true, inMesh: true, sendsMail: true, servesDns: false, servesMail: false, servesClients: false, mayBeHome: false, mayBeLdapMaster: false },
  revoked: { isLive: false, isRevoked: true, isDraining: false, inMesh: false, sendsMail: false, servesDns: false, servesMail: false, servesClients: false, mayBeHome: false, mayBeLdapMaster: false },
};

const roles = (s: NodeState) => Object.fromEntries(Object.entries(ROLES).map(([name, role]) => [name, role(s)]));
const node = (name: string, state: NodeState) => ({ name, state });

describe("node roles", () => {
  test.each(NODE_STATES.map((s) => [s]))("the roles of the state %s", (s) => {
    expect(roles(s)).toEqual(TABLE[s]);
  });

  test("a node and its state have the same roles", () => {
    for (const s of NODE_STATES) for (const [name, role] of Object.entries(ROLES)) expect([name, s, role({ state: s })]).toEqual([name, s, role(s)]);
  });

  test("filtering a node list keeps the nodes and their order", () => {
    const nodes = [node("c", "active"), node("a", "revoked"), node("b", "draining"), node("d", "active")];
    expect(nodes.filter(isLive).map((n) => n.name)).toEqual(["c", "b", "d"]);
    expect(nodes.filter(mayBeHome).map((n) => n.name)).toEqual(["c", "d"]);
    expect(nodes.filter(isRevoked).map((n) => n.name)).toEqual(["a"]);
  });

  test("isNodeState: exactly the three states", () => {
    for (const s of NODE_STATES) expect(isNodeState(s)).toBe(true);
    for (const x of ["Active", "frozen", "", undefined, null, 1, { state: "active" }]) expect(isNodeState(x)).toBe(false);
  });

  // One test per rule: each fails if that rule flips for the state that decides it.
  test("isLive: a draining node is still contacted, a revoked one never", () => {
    expect(isLive("draining")).toBe(true);
    expect(isLive("revoked")).toBe(false);
  });

  test("isRevoked: only a revoked node is cut out", () => {
    expect(isRevoked("revoked")).toBe(true);
    expect(isRevoked("draining")).toBe(false);
  });

  test("isDraining: only a draining node is leaving", () => {
    expect(isDraining("draining")).toBe(true);
    expect(isDraining("active")).toBe(false);
    expect(isDraining("revoked")).toBe(false);
  });

  test("inMesh: a draining node stays in the mesh, a revoked one is out", () => {
    expect(inMesh("draining")).toBe(true);
    expect(inMesh("revoked")).toBe(false);
  });

  test("sendsMail: a draining node keeps SPF and DKIM, a revoked one loses them", () => {
    expect(sendsMail("draining")).toBe(true);
    expect(sendsMail("revoked")).toBe(false);
  });

  test("servesDns: only an active node serves the zone", () => {
    expect(servesDns("active")).toBe(true);
    expect(servesDns("draining")).toBe(false);
  });

  test("servesMail: only an active node is an MX", () => {
    expect(servesMail("active")).toBe(true);
    expect(servesMail("draining")).toBe(false);
  });

  test("servesClients: only an active node answers the service names", () => {
    expect(servesClients("active")).toBe(true);
    expect(servesClients("draining")).toBe(false);
  });

  test("mayBeHome: only an active node takes users", () => {
    expect(mayBeHome("active")).toBe(true);
    expect(mayBeHome("draining")).toBe(false);
    expect(mayBeHome("revoked")).toBe(false);
  });

  test("mayBeLdapMaster: only an active node", () => {
    expect(mayBeLdapMaster("active")).toBe(true);
    expect(mayBeLdapMaster("draining")).toBe(false);
  });

  test("mayBeStandby: an active node other than the home", () => {
    expect(mayBeStandby(node("b", "active"), "a")).toBe(true);
    expect(mayBeStandby(node("a", "active"), "a")).toBe(false);
    expect(mayBeStandby(node("b", "draining"), "a")).toBe(false);
    expect(mayBeStandby(node("b", "revoked"), "a")).toBe(false);
  });
});
