/**
 * Aliases, as the engine's step generator handles them (pkg/resource/deploy/step_generator.go:
 * generateAliases, collapseAliasToUrn, inheritedChildAlias, and the old-state lookup in
 * generateSteps). A resource whose URN changed — renamed, re-parented, re-typed — names its old URN
 * (or a spec of it) in `aliases`; when no old resource has the new URN but one has an alias, that
 * old resource is taken over under the new URN: its ID and outputs are kept and it is diffed like
 * any other (a same, update or replace step, never a create beside a delete), and the old URN is
 * not deleted. An old URN can be taken over by one resource only. Children of a resource that took
 * over an old URN inherit an alias under that old parent, so moving a component moves its children.
 */
import { AliasSpec, makeUrn, Registration, ROOT_STACK_TYPE } from "./registration";

/** The parts of a URN: `urn:pulumi:<stack>::<project>::<qualified type>::<name>`. */
export function urnParts(urn: string): { qualifiedType: string; type: string; name: string } {
  const parts = urn.split("::");
  const qualifiedType = parts[2] ?? "";
  return { qualifiedType, type: qualifiedType.split("$").pop() ?? "", name: parts.slice(3).join("::") };
}

/** `qualified type::name`: a URN without the stack and project, for messages. */
export function shortUrn(urn: string): string {
  const { qualifiedType, name } = urnParts(urn);
  return `${qualifiedType}::${name}`;
}

export class AliasError extends Error {}

export class Aliases {
  /** Old URN → the new URN that took it over (the step generator's `aliased`). */
  private readonly claimedBy = new Map<string, string>();
  /** New URN → the old URN it took over (the step generator's `aliases`). */
  private readonly takenOver = new Map<string, string>();

  constructor(
    private readonly stack: string,
    private readonly project: string,
  ) {}

  /** Whether an old URN was taken over by a resource of this run (so it must not be deleted). */
  isClaimed(oldUrn: string): boolean {
    return this.claimedBy.has(oldUrn);
  }

  /** The engine's collapseAliasToUrn: empty fields default to the resource's own. */
  private collapse(reg: Registration, a: AliasSpec): string {
    if (a.urn) return a.urn;
    let parent = a.parentUrn ?? "";
    // A parent that was itself aliased: its old URN is this resource's old parent too.
    if (!parent) parent = reg.parent;
    else parent = this.takenOver.get(parent) ?? parent;
    if (a.noParent || (parent && urnParts(parent).qualifiedType === ROOT_STACK_TYPE)) parent = "";
    return makeUrn(a.stack || this.stack, a.project || this.project, parent, a.type || reg.type, a.name || reg.name);
  }

  /**
   * The engine's inheritedChildAlias: the child under its parent's old URN; a child named after its
   * parent ("<parent>-files") is renamed with it.
   */
  private inherited(childType: string, childName: string, parentName: string, parentOld: string): string {
    const name = childName.startsWith(parentName) ? urnParts(parentOld).name + childName.slice(parentName.length) : childName;
    return makeUrn(this.stack, this.project, parentOld, childType, name);
  }

  /** The engine's generateAliases: the resource's own aliases, then those its parent's alias implies. */
  candidates(reg: Registration): string[] {
    const urns = new Set<string>();
    for (const a of reg.aliases) urns.add(this.collapse(reg, a));
    const parentOld = reg.parent ? this.takenOver.get(reg.parent) : undefined;
    if (parentOld) {
      const parentName = urnParts(reg.parent).name;
      urns.add(this.inherited(reg.type, reg.name, parentName, parentOld));
      for (const a of reg.aliases) {
        const c = urnParts(this.collapse(reg, a));
        urns.add(this.inherited(c.type, c.name, parentName, parentOld));
      }
    }
    return [...urns];
  }

  /**
   * The old resource a registration continues, as generateSteps looks it up: first by its own URN,
   * then by each alias in order. `hasOld` says whether the run started with a live resource at a URN,
   * `registered` whether a resource of this run already has it. Throws the engine's errors for an
   * alias claimed twice, an alias naming a resource this run registered, and a URN that another
   * resource already took over as its alias.
   */
  resolve(reg: Registration, hasOld: (urn: string) => boolean, registered: (urn: string) => boolean): string | undefined {
    const claimant = this.claimedBy.get(reg.urn);
    if (claimant) throw new AliasError(`Duplicate resource URN '${reg.urn}' conflicting with alias on resource with URN '${claimant}'`);
    if (hasOld(reg.urn)) return reg.urn;
    for (const alias of this.candidates(reg)) {
      if (alias === reg.urn || !hasOld(alias)) continue;
      if (registered(alias)) {
        throw new AliasError(`Duplicate resource alias '${alias}' applied to resource with URN '${reg.urn}' conflicting with resource with URN '${alias}'`);
      }
      const previous = this.claimedBy.get(alias);
      if (previous) {
        throw new AliasError(`Duplicate resource alias '${alias}' applied to resource with URN '${reg.urn}' conflicting with resource with URN '${previous}'`);
      }
      this.claimedBy.set(alias, reg.urn);
      this.takenOver.set(reg.urn, alias);
      return alias;
    }
    return undefined;
  }
}
