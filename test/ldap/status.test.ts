/** `npm run ldap -- status`: what it prints and when it calls the directory healthy (pure parts). */
import { formatStatus, ReplicaStatus, statusOk } from "../../ops/ldap-admin";

const row = (node: string, role: ReplicaStatus["role"], extra: Partial<ReplicaStatus> = {}): ReplicaStatus => ({ node, role, frozen: false, contextCSN: [], behind: [], ...extra });

describe("ldap status", () => {
  const healthy = [row("lab1", "master", { contextCSN: ["20261121000000.000000Z#000000#001#000000"] }), row("lab2", "consumer"), row("lab3", "consumer")];

  test("healthy when the configured master is an unfrozen master and every other node a caught-up consumer", () => {
    expect(statusOk("lab1", healthy)).toBe(true);
    expect(formatStatus("lab1", healthy)).toMatch(/lab1\s+master, caught up\s+contextCSN 20261121/);
  });

  test.each<[string, ReplicaStatus[]]>([
    ["the master frozen", [row("lab1", "master", { frozen: true }), row("lab2", "consumer")]],
    ["a consumer behind", [row("lab1", "master"), row("lab2", "consumer", { behind: [1] })]],
    ["the configured master still a consumer", [row("lab1", "consumer"), row("lab2", "master")]],
    ["a node unreachable", [row("lab1", "master"), row("lab2", "unreachable", { error: "connect ETIMEDOUT" })]],
    ["a node with no database yet", [row("lab1", "master"), row("lab2", "unconfigured")]],
    ["the configured master with no database yet", [row("lab1", "unconfigured"), row("lab2", "consumer")]],
  ])("not healthy with %s", (_, rows) => {
    expect(statusOk("lab1", rows)).toBe(false);
  });

  test("says which node is frozen, behind, unreachable or not yet provisioned", () => {
    const text = formatStatus("lab1", [
      row("lab1", "master", { frozen: true }),
      row("lab2", "consumer", { behind: [1, 3] }),
      row("lab3", "unreachable", { error: "connect ETIMEDOUT" }),
      row("lab4", "unconfigured"),
    ]);
    expect(text).toMatch(/lab1\s+master \(FROZEN: takes no writes\)/);
    expect(text).toMatch(/lab2\s+consumer, behind for server IDs 1, 3/);
    expect(text).toMatch(/lab3\s+UNREACHABLE: connect ETIMEDOUT/);
    expect(text).toMatch(/lab4\s+UNCONFIGURED: slapd has no rplan database yet/);
    expect(text).not.toMatch(/lab4\s+master/);
  });
});
