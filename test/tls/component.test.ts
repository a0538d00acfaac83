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
      const { MailDaemons } = require("../../components/mail-daemons");
      const node = new Node("n1", { config: cluster.nodes[0], domain: cluster.domain });
      const daemons = new MailDaemons(
        "n1-mail-daemons",
        { node, domain: cluster.domain, contributions: [node.tlsContribution], revisions: { postfix: [node.tlsRevisions.postfix], dovecot: [node.tlsRevisions.dovecot] }, dependsOn: Object.values(node.tlsKeys) },
        { parent: node },
      );
      return { result: node, awaited: [...Object.values(node.tlsKeys), daemons.postfix, daemons.dovecot] as pulumi.CustomResource[] };
    },
    (type, _name, inputs) => (type.endsWith(":ServiceTlsKey") ? { fingerprint: `FP-${inputs.node}-${inputs.service}-gen${inputs.generation}` } : {}),
  );
  return regs;
}

describe("Node TLS under mocks", () => {
  test("each key after the NodeHost (its key directory); each daemon's one config resource after the keys, naming its certificate", async () => {
    const regs = await evaluateNode();
    for (const s of ["postfix", "dovecot"]) {
      const key = named(regs, `n1-${s}-tls-key`);
      expect(key.type).toBe("pulumi-nodejs:dynamic/rplan:ServiceTlsKey");
      expect(key.deps).toEqual(["n1-host"]);
      expect(key.parent).toBe("n1");
      const conf = named(regs, `n1-${s}-config`);
      expect(conf.type).toBe("pulumi-nodejs:dynamic/rplan:HostFiles");
      // the logs keep no client address before the daemon is reloaded (Node.daemonsAfter)
      expect([...conf.deps].sort()).toEqual(["n1-dovecot-tls-key", "n1-host", "n1-log-anonymity", "n1-postfix-tls-key"]);
      expect(conf.parent).toBe("n1-mail-daemons");
      expect(conf.inputs.encryptedMount).toEqual(key.inputs.encryptedMount);
      expect(conf.inputs.files[0].content).toContain(`FP-n1-${s}-gen1`);
      expect(conf.inputs.files[0].content).not.toContain(`FP-n1-${s === "postfix" ? "dovecot" : "postfix"}`);
    }
    expect(named(regs, "n1-postfix-config").inputs.files.map((f: { path: string }) => f.path)).toEqual(["/etc/postfix/main.cf", "/etc/postfix/master.cf"]);
    expect(named(regs, "n1-dovecot-config").inputs.files.map((f: { path: string }) => f.path)).toEqual(["/etc/dovecot/dovecot.conf"]);
  });

  test("rotation: a new generation for both keys, and daemon configs naming the new certificates", async () => {
    const before = await evaluateNode(1);
    const after = await evaluateNode(2);
    for (const s of ["postfix", "dovecot"]) {
      expect(named(after, `n1-${s}-tls-key`).inputs.generation).toBe(2);
      const [b, a] = [named(before, `n1-${s}-config`).inputs, named(after, `n1-${s}-config`).inputs];
      expect(a.files[0].content).toContain(`FP-n1-${s}-gen2`);
      expect(a.files[0].content).not.toBe(b.files[0].content);
      expect(a.reload).toEqual(b.reload);
    }
    // nothing else about the node changes
    expect(named(after, "n1-host").inputs).toEqual(named(before, "n1-host").inputs);
  });
});
