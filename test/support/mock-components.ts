/**
 * Components under Pulumi's own mocks, recording every registration with its inputs, the names of
 * its dependencies, its parent and its additional secret outputs — what the component tests assert
 * on (e.g. the order a master switch or a key rotation relies on).
 */
import type * as pulumi from "@pulumi/pulumi";
import { mockOutputs } from "./mock-program";

export interface Registration {
  type: string;
  name: string;
  inputs: Record<string, any>;
  /** Names (last URN segment) of the resources it depends on, sorted. */
  deps: string[];
  parent: string;
  secretOutputs: string[];
}

/**
 * Run `build` in a fresh module registry with mocks installed (so it must `require` the components
 * itself), wait until every resource in `awaited` has an id and every registration has finished.
 * `outputs` adds what a provider would report beyond its inputs.
 */
export async function registerUnderMocks<T>(
  build: () => { result: T; awaited: pulumi.CustomResource[] },
  outputs: (type: string, name: string, inputs: Record<string, any>) => Record<string, unknown> = () => ({}),
): Promise<{ regs: Registration[]; result: T }> {
  const regs: Registration[] = [];
  let p!: typeof pulumi;
  let done!: Promise<unknown>;
  let result!: T;
  jest.isolateModules(() => {
    p = require("@pulumi/pulumi");
    const { MockMonitor } = require("@pulumi/pulumi/runtime/mocks");
    const original = MockMonitor.prototype.registerResource;
    MockMonitor.prototype.registerResource = function (req: any, cb: any) {
      const last = (urn: string) => urn.split("::").pop()!;
      regs.push({
        type: req.getType(),
        name: req.getName(),
        inputs: {},
        deps: (req.getDependenciesList() as string[]).map(last).sort(),
        parent: last(req.getParent() as string),
        secretOutputs: req.getAdditionalsecretoutputsList?.() ?? [],
      });
      return original.call(this, req, cb);
    };
    p.runtime.setMocks(
      {
        newResource: (args) => {
          const reg = [...regs].reverse().find((r) => r.name === args.name)!;
          reg.inputs = args.inputs;
          // What every provider of the cluster reports (mock-program.ts), unless the test says otherwise.
          return { id: `${args.name}-id`, state: { ...args.inputs, ...mockOutputs(args.type, args.name), ...outputs(args.type, args.name, args.inputs) } };
        },
        call: () => ({}),
      },
      "rplan",
      "test",
      false,
    );
    const built = build();
    result = built.result;
    done = Promise.all(built.awaited.map((r) => new Promise((res) => r.id.apply(res))));
  });
  await done;
  // Let the components' own registrations (registerOutputs) finish before the next evaluation
  // installs new mocks: Pulumi's runtime state is shared across module instances.
  await (p.runtime as any).waitForRPCs();
  return { regs, result };
}

/** The registration of `name` (throws naming it when absent). */
export function named(regs: readonly Registration[], name: string): Registration {
  const r = regs.find((x) => x.name === name);
  if (!r) throw new Error(`no resource ${name}`);
  return r;
}
