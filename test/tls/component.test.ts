/**
 * The Node component's TLS resources under Pulumi's mocks: registration order (dependencies), the
 * key's fingerprint flowing into the daemon config, and what a rotation changes.
 */
import type * as pulumi from "@pulumi/pulumi";
import { validateClusterConfig } from "../../planning/config";
import { rawConfig } from "../support/config-fixture";

interface Reg {
  type: string;
  name: string;
  inputs: Record<string, any>;
  deps: string[];
  parent: string;
}

async function evaluateNode(tlsKeyGeneration = 1): Promise<Reg[]> {
  const raw = rawConfig();
  raw.nodes[0].tlsKeyGeneration = tlsKeyGeneration;
  const cluster = validateClusterConfig(raw);
  const regs: Reg[] = [];
  let p!: typeof pulumi;
  let done!: Promise<unknown>;
  jest.isolateModules(() => {
    p = require("@pulumi/pulumi");
    const { MockMonitor } = require("@pulumi/pulumi/runtime/mocks");
    const original = MockMonitor.prototype.registerResource;
    MockMonitor.prototype.registerResource = function (req: any, cb: any) {
      const deps = (req.getDependenciesList() as string[]).map((u) => u.split("::").pop()!).sort();
      regs.push({ type: req.getType(), name: req.getName(), inputs: {}, deps, parent: (req.getParent() as string).split("::").pop()! });
      return original.call(this, req, cb);
    };
    p.runtime.setMocks(
      {
        newResource: (args) => {
          const reg = [...regs].reverse().find((r) => r.name === args.name)!;
          reg.inputs = args.inputs;
          const state: Record<string, unknown> = { ...args.inputs };
          if (args.type.endsWith(":ServiceTlsKey")) state.fingerprint = `FP-${args.inputs.node}-${args.inputs.service}-gen${args.inputs.generation}`;
          return { id: `${args.name}-id`, state };
        },
        call: () => ({}),
      },
      "rplan",
      "test",
      false,
    );
    const { Node } = require("../../components/node");
    const node = new Node("n1", { config: cluster.nodes[0], domain: cluster.domain });
    const all = [...Object.values(node.tlsKeys), ...Object.values(node.tlsConfigs)] as pulumi.CustomResource[];
    done = Promise.all(all.map((r) => new Promise((res) => r.id.apply(res))));
  });
  await done;
  await (p.runtime as any).waitForRPCs();
  return regs;
}

const named = (regs: Reg[], name: string) => {
  const r = regs.find((x) => x.name === name);
  if (!r) throw new Error(`no resource ${name}`);
  return r;
};

describe("Node TLS under mocks", () => {
  test("each key after the NodeHost (its key directory), each daemon config after its key; all children of the Node", async () => {
    const regs = await evaluateNode();
    for (const s of ["postfix", "dovecot"]) {
      const key = named(regs, `n1-${s}-tls-key`);
      expect(key.type).toBe("pulumi-nodejs:dynamic/rplan:ServiceTlsKey");
      expect(key.deps).toEqual(["n1-host"]);
      expect(key.parent).toBe("n1");
      const conf = named(regs, `n1-${s}-tls`);
      expect(conf.type).toBe("pulumi-nodejs:dynamic/rplan:HostFiles");
      expect(conf.deps).toEqual([`n1-${s}-tls-key`]);
      expect(conf.parent).toBe("n1");
      expect(conf.inputs.encryptedMount).toEqual(key.inputs.encryptedMount);
      expect(conf.inputs.files[0].content).toContain(`FP-n1-${s}-gen1`);
    }
  });

  test("rotation: a new generation for both keys, and daemon configs naming the new certificates", async () => {
    const before = await evaluateNode(1);
    const after = await evaluateNode(2);
    for (const s of ["postfix", "dovecot"]) {
      expect(named(after, `n1-${s}-tls-key`).inputs.generation).toBe(2);
      const [b, a] = [named(before, `n1-${s}-tls`).inputs, named(after, `n1-${s}-tls`).inputs];
      expect(a.files[0].content).toContain(`FP-n1-${s}-gen2`);
      expect(a.files[0].content).not.toBe(b.files[0].content);
      expect(a.reload).toEqual(b.reload);
    }
    // nothing else about the node changes
    expect(named(after, "n1-host").inputs).toEqual(named(before, "n1-host").inputs);
  });
});
