/**
 * The Node component's TLS resources under Pulumi's mocks: registration order (dependencies), the
 * key's fingerprint flowing into the daemon config, and what a rotation changes.
 */
import type * as pulumi from "@pulumi/pulumi";
import { validateClusterConfig } from "../../planning/config";
import { rawConfig } from "../support/config-fixture";
import { named, registerUnderMocks, Registration as Reg } from "../support/mock-components";

async function evaluateNode(tlsKeyGeneration = 1): Promise<Reg[]> {
  const raw = rawConfig();
  raw.nodes[0].tlsKeyGeneration = tlsKeyGeneration;
  const cluster = validateClusterConfig(raw);
  const { regs } = await registerUnderMocks(
    () => {
      const { Node } = require("../../components/node");
      const node = new Node("n1", { config: cluster.nodes[0], domain: cluster.domain });
      return { result: node, awaited: [...Object.values(node.tlsKeys), ...Object.values(node.tlsConfigs)] as pulumi.CustomResource[] };
    },
    (type, _name, inputs) => (type.endsWith(":ServiceTlsKey") ? { fingerprint: `FP-${inputs.node}-${inputs.service}-gen${inputs.generation}` } : {}),
  );
  return regs;
}

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
