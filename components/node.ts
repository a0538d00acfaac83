import * as pulumi from "@pulumi/pulumi";
import { NodeConfig } from "../planning/config";
import { nodeKeyDirs, nodePackages } from "../planning/node-plan";
import { NodeFacts, NodeHost } from "../providers/node-host";

export interface NodeArgs {
  /** The node's validated entry from the stack config. */
  readonly config: NodeConfig;
}

/**
 * One server of the cluster: its base host state (pinned SSH, hostname, packages, an unlocked
 * encrypted mount with a key directory per service) and the facts other components build on.
 * A revoked node gets no Node at all: it may be in hostile hands and is never contacted.
 */
export class Node extends pulumi.ComponentResource {
  /** The node's config, for components that wire peers together. */
  public readonly config: NodeConfig;
  /** Key directory per service inside the encrypted mount. */
  public readonly keyDirs: Record<string, string>;
  public readonly host: NodeHost;
  public readonly facts: pulumi.Output<NodeFacts>;

  constructor(name: string, args: NodeArgs, opts?: pulumi.ComponentResourceOptions) {
    super("rplan:cluster:Node", name, {}, opts);
    const c = args.config;
    if (c.state === "revoked") throw new Error(`node ${c.name} is revoked and must not be provisioned`);
    this.config = c;
    this.keyDirs = nodeKeyDirs(c.encryptedMount, c.keyDirs);
    this.host = new NodeHost(
      `${name}-host`,
      {
        node: c.name,
        country: c.country,
        state: c.state,
        ssh: { host: c.ssh.host, port: c.ssh.port, user: c.ssh.user, hostKeys: [...c.ssh.hostKeys], ...(c.ssh.proxy ? { proxy: c.ssh.proxy } : {}) },
        hostname: c.name,
        packages: nodePackages(c.encryptedMount, c.packages),
        encryptedMount: c.encryptedMount,
        keyDirs: this.keyDirs,
      },
      { parent: this },
    );
    this.facts = this.host.facts;
    this.registerOutputs({ facts: this.facts });
  }
}
