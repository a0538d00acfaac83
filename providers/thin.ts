/**
 * Thin dynamic providers. A dynamic resource stores its provider as JavaScript source in
 * `__provider`, twice per resource in state; Pulumi's dynamic-provider host loads that source with
 * `require-from-string` and calls its `handler()` to get the provider object. Ours carries no
 * logic: each method loads its implementation from the `@rplan/hostops` package (a real compiled
 * copy under node_modules, built by `npm run build`) when it runs. Every implementation module
 * exports check, diff, create, read, update and delete; diff compares business inputs only, so new
 * provider code never forces an update by itself.
 *
 * The source is written here, not produced by `pulumi.dynamic.Resource`'s closure serializer. That
 * serializer walks each function's scopes through the V8 inspector, which on Node 20 intermittently
 * aborts the whole program with a V8 CHECK failure in ScopeIterator::VisitLocalScope (SIGTRAP;
 * pulumi/pulumi#11103, #17040; a preview died with SIGTRAP once in our CI). A fixed text never needs
 * the inspector, is the same in every run, and is under a quarter of the serialized size (445
 * bytes, not 1 949).
 */
import * as pulumi from "@pulumi/pulumi";

/** The implementation modules under providers/impl/ a thin provider can load. */
export const PROVIDER_IMPLS = ["dkim-key", "dns-check", "dns-zone", "host-files", "ldap-entries", "ldap-slapd", "ldap-user", "mesh-check", "node-host", "node-key", "service-tls-key", "user-placement"] as const;
export type ProviderImpl = (typeof PROVIDER_IMPLS)[number];

/** The package path the dynamic-provider host requires for `impl` (resolved from the project directory). */
export const implModule = (impl: ProviderImpl) => `@rplan/hostops/providers/impl/${impl}`;

/** The `__provider` source for `impl`: a module whose `handler()` returns the provider object. */
export function thinProviderSource(impl: ProviderImpl): string {
  if (!PROVIDER_IMPLS.includes(impl)) throw new Error(`unknown provider implementation ${JSON.stringify(impl)} (known: ${PROVIDER_IMPLS.join(", ")})`);
  return [
    "exports.handler = () => {",
    `  const load = () => require(${JSON.stringify(implModule(impl))});`,
    "  return {",
    "    check: (olds, news) => load().check(olds, news),",
    "    diff: (id, olds, news) => load().diff(id, olds, news),",
    "    create: (inputs) => load().create(inputs),",
    "    read: (id, props) => load().read(id, props),",
    "    update: (id, olds, news) => load().update(id, olds, news),",
    "    delete: (id, props) => load().delete(id, props),",
    "  };",
    "};",
    "",
  ].join("\n");
}

/**
 * A dynamic resource served by a thin provider: registered exactly as `pulumi.dynamic.Resource`
 * registers one (type `pulumi-nodejs:dynamic/rplan:<type>`, provider source in `__provider`), so
 * the Pulumi engine runs it in its dynamic-provider host as usual.
 */
export abstract class ThinResource extends pulumi.CustomResource {
  protected constructor(impl: ProviderImpl, type: string, name: string, props: pulumi.Inputs, opts?: pulumi.CustomResourceOptions) {
    if ("__provider" in props) throw new Error("a dynamic resource must not define the __provider key");
    super(`pulumi-nodejs:dynamic/rplan:${type}`, name, { ...props, __provider: thinProviderSource(impl) }, opts);
  }
}
