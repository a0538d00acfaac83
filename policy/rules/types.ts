/** The rules' plain API: resource descriptions in, findings out. No Pulumi runtime needed. */

/**
 * One resource as a rule sees it. `props` are the resource's inputs (resource rules, as the engine
 * passes them before a step) or its outputs (stack rules, as the engine passes them after a preview
 * or an update), in the plain form of ./values.ts.
 */
export interface ResourceDesc {
  readonly type: string;
  readonly name: string;
  readonly urn?: string;
  readonly props: Readonly<Record<string, unknown>>;
  /** URN (or name, when the descriptions carry no URNs) of the parent. */
  readonly parent?: string;
  /** Property name → URNs (or names) of the resources that property's value came from. */
  readonly propertyDependencies?: Readonly<Record<string, readonly string[]>>;
}

export interface Finding {
  readonly message: string;
  /** The resource the finding is about (URN, or name when there is none); absent: the whole stack. */
  readonly resource?: string;
}

/** A check that could not be made because a value is not known yet (preview). */
export interface UnknownFinding {
  /** The resource (URN, or name); absent: the whole stack. */
  readonly resource?: string;
  /** Property path of the unknown value. */
  readonly path: readonly string[];
  /** What could not be checked, for the advisory message. */
  readonly reason: string;
}

export interface RuleOutput {
  readonly violations: Finding[];
  readonly unknowns: UnknownFinding[];
}

/** The identity rules use for a resource: its URN, or its name. */
export function idOf(r: ResourceDesc): string {
  return r.urn ?? r.name;
}

/** `HostFiles n1-tls`, for messages. */
export function labelOf(r: ResourceDesc): string {
  const short = r.type.split(":").pop() ?? r.type;
  return `${short} ${r.name}`;
}

/** Collects a rule's findings. */
export class Report implements RuleOutput {
  readonly violations: Finding[] = [];
  readonly unknowns: UnknownFinding[] = [];
  violation(r: ResourceDesc | undefined, message: string): void {
    this.violations.push(r ? { message, resource: idOf(r) } : { message });
  }
  unknown(r: ResourceDesc | undefined, path: readonly string[], reason: string): void {
    this.unknowns.push(r ? { resource: idOf(r), path, reason } : { path, reason });
  }
}
