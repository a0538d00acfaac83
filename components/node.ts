import * as pulumi from "@pulumi/pulumi";
import { endpointInput, NodeConfig, SshEndpointInput } from "../planning/config";
import { nodeKeyDirs, nodePackages } from "../planning/node-plan";
import type { DaemonContribution } from "../planning/mail/contribution";
import { planServiceTls, tlsContribution, tlsRevision, TlsService } from "../planning/service-tls";
import { planLogAnonymity } from "../planning/logs";
import { HostFiles } from "../providers/host-files";
import { NodeFacts, NodeHost } from "../providers/node-host";
import { ServiceTlsKey } from "../providers/service-tls-key";
import { isLive } from "../planning/node-roles";

export interface NodeArgs {
  /** The node's validated entry from the stack config. */
  readonly config: NodeConfig;
  /** The cluster's domain: TLS certificates name the node `<name>.<domain>` (the bare name without it). */
  readonly domain?: string;
}

/**
 * One server of the cluster: its base host state (pinned SSH, hostname, packages, an unlocked
 * encrypted mount with a key directory per service), logs that keep no client address and no full
 * user mail address (docs/anonymity.md; the policy pack finds them by name), the TLS keys of its mail daemons (generated
 * on the node in those key directories) and the facts other components build on. The daemons are
 * pointed at the keys by MailDaemons, from `tlsContribution` and `tlsRevisions`.
 * A revoked node gets no Node at all: it may be in hostile hands and is never contacted.
 */
export class Node extends pulumi.ComponentResource {
  /** The node's config, for components that wire peers together. */
  public readonly config: NodeConfig;
  /** How providers reach this node (pinned host keys): the one endpoint every component uses. */
  public readonly ssh: SshEndpointInput;
  /** Key directory per service inside the encrypted mount. */
  public readonly keyDirs: Record<string, string>;
  public readonly host: NodeHost;
  /** journald keeping nothing, rsyslog writing the one anonymised file, login records to /dev/null. */
  public readonly logAnonymity: HostFiles;
  /**
   * What a resource that starts or reloads a daemon on this node waits for: the host, and logs that
   * keep no client address (else, with steps side by side, a daemon could log before the mask exists).
   */
  public readonly daemonsAfter: readonly pulumi.Resource[];
  public readonly facts: pulumi.Output<NodeFacts>;
  /** Per TLS service: its key and self-signed certificate, generated in its key directory. */
  public readonly tlsKeys: Readonly<Record<TlsService, ServiceTlsKey>>;
  /** What TLS contributes to the node's postfix and dovecot configuration (MailDaemons renders it). */
  public readonly tlsContribution: DaemonContribution;
  /** Per TLS service: the header line naming the certificate in use (a new key changes the daemon's file). */
  public readonly tlsRevisions: Readonly<Record<TlsService, pulumi.Output<string>>>;
  /** TLS service → certificate SHA-256 fingerprint. */
  public readonly tlsFingerprints: pulumi.Output<Record<TlsService, string>>;

  constructor(name: string, args: NodeArgs, opts?: pulumi.ComponentResourceOptions) {
    super("rplan:cluster:Node", name, {}, opts);
    const c = args.config;
    if (!isLive(c)) throw new Error(`node ${c.name} is revoked and must not be provisioned`);
    this.config = c;
    this.keyDirs = nodeKeyDirs(c.encryptedMount, c.keyDirs);
    const ssh = (this.ssh = endpointInput(c.ssh));
    this.host = new NodeHost(
      `${name}-host`,
      {
        node: c.name,
        country: c.country,
        state: c.state,
        ssh,
        hostname: c.name,
        packages: nodePackages(c.encryptedMount, c.packages),
        encryptedMount: c.encryptedMount,
        keyDirs: this.keyDirs,
      },
      { parent: this },
    );
    this.facts = this.host.facts;
    // After the host: its packages bring rsyslog. Every node, whatever its state: a draining node
    // still logs mail it hands on.
    const logs = planLogAnonymity();
    this.logAnonymity = new HostFiles(`${name}-log-anonymity`, { node: c.name, ssh, files: logs.files, reload: logs.commands }, { parent: this, dependsOn: [this.host] });
    this.daemonsAfter = [this.host, this.logAnonymity];

    const keys = {} as Record<TlsService, ServiceTlsKey>;
    const revisions = {} as Record<TlsService, pulumi.Output<string>>;
    const plans = planServiceTls(c, this.keyDirs, args.domain);
    for (const t of plans) {
      keys[t.service] = new ServiceTlsKey(`${name}-${t.service}-tls-key`, { node: c.name, ssh, encryptedMount: c.encryptedMount, ...t }, { parent: this, dependsOn: [this.host] });
      revisions[t.service] = keys[t.service].fingerprint.apply((fp) => tlsRevision(t.service, fp));
    }
    this.tlsKeys = keys;
    this.tlsContribution = tlsContribution(plans);
    this.tlsRevisions = revisions;
    this.tlsFingerprints = pulumi.all(Object.fromEntries(Object.entries(keys).map(([s, k]) => [s, k.fingerprint]))) as pulumi.Output<Record<TlsService, string>>;
    this.registerOutputs({ facts: this.facts, tlsFingerprints: this.tlsFingerprints });
  }
}
