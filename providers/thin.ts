/**
 * Thin dynamic providers. Pulumi serializes a dynamic provider by value into every resource's
 * state (twice), so ours carry no logic: each method loads its implementation from the
 * `@rplan/hostops` package (a real compiled copy under node_modules, built by `npm run build`)
 * when it runs. `require` is a builtin to Pulumi's closure serializer, so the call stays a
 * reference and the serialized provider is a few hundred bytes that change only if this file does.
 * Every implementation module exports check, diff, create, read, update and delete; diff compares
 * business inputs only, so new provider code never forces an update by itself.
 */
import * as pulumi from "@pulumi/pulumi";

/** Build the thin provider for `providers/impl/<impl>`; create one per implementation, at module scope. */
export function thinProvider(impl: string): pulumi.dynamic.ResourceProvider {
  const load = () => require("@rplan/hostops/providers/impl/" + impl);
  return {
    check: (olds, news) => load().check(olds, news),
    diff: (id, olds, news) => load().diff(id, olds, news),
    create: (inputs) => load().create(inputs),
    read: (id, props) => load().read(id, props),
    update: (id, olds, news) => load().update(id, olds, news),
    delete: (id, props) => load().delete(id, props),
  };
}
