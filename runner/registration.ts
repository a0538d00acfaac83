/**
 * A resource registration as the program sends it (the real gRPC RegisterResourceRequest), reduced
 * to what the engine acts on, and the URN the engine gives it.
 */
import type { RegisterResourceRequest } from "@pulumi/pulumi/proto/resource_pb";
import { PropertyMap, toJsonMap } from "./props";

export const ROOT_STACK_TYPE = "pulumi:pulumi:Stack";

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
  readonly aliases: number;
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
    aliases: req.getAliasesList().length + req.getAliasurnsList().length,
  };
}
