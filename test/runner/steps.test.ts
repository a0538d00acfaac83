import { deletionOrder, dependencyOrder, GraphNode } from "../../runner/steps";

const node = (urn: string, deps: string[] = [], parent = "", propDeps: Record<string, string[]> = {}): GraphNode => ({
  urn,
  parent,
  dependencies: deps,
  propertyDependencies: propDeps,
});

describe("step order", () => {
  it("puts every resource after its parent, dependencies and property dependencies", () => {
    const nodes = [node("d", [], "", { x: ["c"] }), node("c", ["b"]), node("b", [], "a"), node("a")];
    expect(dependencyOrder(nodes).map((n) => n.urn)).toEqual(["a", "b", "c", "d"]);
  });

  it("keeps the given order between independent resources", () => {
    const nodes = [node("x"), node("y"), node("z", ["x"]), node("w")];
    expect(dependencyOrder(nodes).map((n) => n.urn)).toEqual(["x", "y", "z", "w"]);
  });

  it("deletes dependents first", () => {
    const nodes = [node("host"), node("file", ["host"]), node("service", ["file"], "host")];
    expect(deletionOrder(nodes).map((n) => n.urn)).toEqual(["service", "file", "host"]);
  });

  it("ignores dependencies outside the set and never drops a node, even in a cycle", () => {
    const nodes = [node("a", ["b", "elsewhere"]), node("b", ["a"]), node("c")];
    expect(dependencyOrder(nodes).map((n) => n.urn).sort()).toEqual(["a", "b", "c"]);
  });

  it("orders two entries with the same URN (an old half and its replacement) by their dependencies", () => {
    const nodes = [node("u", ["dep"]), node("dep"), node("u", ["dep"])];
    expect(dependencyOrder(nodes).map((n) => n.urn)).toEqual(["dep", "u", "u"]);
  });
});
