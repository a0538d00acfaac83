/**
 * A resource registration as the program sends it (the real gRPC RegisterResourceRequest), reduced
 * to what the engine acts on, and the URN the engine gives it.
 */
import type { Alias } from "@pulumi/pulumi/proto/alias_pb";
import type { RegisterResourceRequest } from "@pulumi/pulumi/proto/resource_pb";
import { PropertyMap, toJsonMap } from "./props";

export const ROOT_STACK_TYPE = "pulumi:pulumi:Stack";

/**
 * One of a registration's aliases, as the engine receives it (resource.Alias): a whole old URN, or a
 * spec whose empty fields default to the resource's own name, type, parent, project and stack
 * (collapsed to a URN by ./aliases.ts). `aliasURNs` (older SDKs) arrive as `{ urn }`.
 */
export interface AliasSpec {
  readonly urn?: string;
  readonly name?: string;
  readonly type?: string;
  readonly stack?: string;
  readonly project?: string;
  readonly parentUrn?: string;
  /** The old resource had no parent (a child of the root stack). */
  readonly noParent?: boolean;
}

export interface Registration {
  readonly urn: string;
  readonly type: string;
  readonly name: string;
  readonly parent: string;
  readonly custom: boolean;
  readonly inputs: PropertyMap;
  readonly dependencies: readonly string[];
  readonly propertyDependencies: Readonly<Record<string, readonly string[]>>;
  readonly protect: boolean;
  readonly deleteBeforeReplace: boolean;
  readonly ignoreChanges: readonly string[];
  readonly replaceOnChanges: readonly string[];
  readonly additionalSecretOutputs: readonly string[];
  readonly retainOnDelete: boolean;
  readonly provider: string;
  readonly importId: string;
  readonly aliases: readonly AliasSpec[];
}

/**
 * The engine's URN: the parent's qualified type is prefixed to the type, except for children of the
 * root stack (pkg/resource/deploy/source_eval.go), so URNs match what the CLI would record.
 */
export function makeUrn(stack: string, project: string, parent: string, type: string, name: string): string {
  let qualified = type;
  if (parent) {
    const parentQualified = parent.split("::")[2] ?? "";
    if (parentQualified !== ROOT_STACK_TYPE) qualified = `${parentQualified}$${type}`;
  }
  return `urn:pulumi:${stack}::${project}::${qualified}::${name}`;
}

/** A URN as the engine parses it (resource.ParseURN): `urn:pulumi:<stack>::<project>::<type>::<name>`. */
function checkedUrn(urn: string, what: string): string {
  if (!urn.startsWith("urn:pulumi:") || urn.split("::").length < 4) throw new Error(`invalid ${what}: ${JSON.stringify(urn)} is not a URN`);
  return urn;
}

/**
 * The aliases of a request as the engine's resource monitor reads them (source_eval.go): each of
 * `aliasURNs`, then each of `aliases` (a URN or a spec). The SDK sends specs because the monitor
 * declares the `aliasSpecs` feature, as the CLI's does (./monitor.ts).
 */
function aliasesOf(req: RegisterResourceRequest): AliasSpec[] {
  const urns: AliasSpec[] = req.getAliasurnsList().map((u) => ({ urn: checkedUrn(u, "alias URN") }));
  const specs = req.getAliasesList().map((a: Alias): AliasSpec => {
    const spec = a.getSpec();
    if (!spec) return { urn: checkedUrn(a.getUrn(), "alias URN") };
    const parentUrn = spec.getParenturn();
    return {
      name: spec.getName() || undefined,
      type: spec.getType() || undefined,
      stack: spec.getStack() || undefined,
      project: spec.getProject() || undefined,
      parentUrn: parentUrn ? checkedUrn(parentUrn, "parent alias URN") : undefined,
      noParent: spec.getNoparent() || undefined,
    };
  });
  return [...urns, ...specs];
}

export function fromRequest(req: RegisterResourceRequest, stack: string, project: string): Registration {
  const propertyDependencies: Record<string, string[]> = {};
  req.getPropertydependenciesMap().forEach((deps, key) => {
    propertyDependencies[key] = deps.getUrnsList();
  });
  const type = req.getType();
  const parent = req.getParent();
  return {
    urn: makeUrn(stack, project, parent, type, req.getName()),
    type,
    name: req.getName(),
    parent,
    custom: req.getCustom(),
    inputs: toJsonMap(req.getObject()?.toJavaScript() ?? {}),
    dependencies: req.getDependenciesList(),
    propertyDependencies,
    protect: req.getProtect() ?? false,
    deleteBeforeReplace: req.getDeletebeforereplace(),
    ignoreChanges: req.getIgnorechangesList(),
    replaceOnChanges: req.getReplaceonchangesList(),
    additionalSecretOutputs: req.getAdditionalsecretoutputsList(),
    retainOnDelete: req.getRetainondelete() ?? false,
    provider: req.getProvider(),
    importId: req.getImportid(),
    aliases: aliasesOf(req),
  };
}
