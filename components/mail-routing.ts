import * as crypto from "crypto";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { DkimKey } from "../providers/dkim-key";
import { HostFiles } from "../providers/host-files";
import { dkimRevision, OPENDKIM_CONF, OPENDKIM_RELOAD, planDkim, renderOpendkimConf } from "../planning/mail/dkim";
import { moveChannelContribution } from "../planning/mail/move-channel";
import { renderStandbySync, STANDBY_STATE_DIR, standbyNotifyContribution } from "../planning/quantum/standby-sync";
import * as fs from "fs";
import * as path from "path";
import { planMailAnonymity } from "../planning/mail/anonymity";
import type { ClusterConfig } from "../planning/config";
import type { DaemonContribution } from "../planning/mail/contribution";
import { MAIL_USER, MailNode, planMailRouting, POSTFIX_MAPS } from "../planning/mail/routing";
import { heldPruning } from "../planning/mail/held";
import { renderSenderCheck } from "../planning/mail/sender-check";
import { quotaContribution } from "../planning/mail/quota";
import { sieveContribution } from "../planning/mail/sieve";
import { renderSpamFilter, spamContribution, SpamFilterFiles } from "../planning/mail/spam";
import { DEFAULT_SPAM } from "../planning/config/spam";
import { LdapReplica } from "./ldap-replica";
import { MailDaemons } from "./mail-daemons";
import type { Node } from "./node";
import type { VpnMesh } from "./vpn-mesh";
import { isLive, isRevoked } from "../planning/node-roles";

export interface MailRoutingArgs {
  /** The validated cluster config: the domain, every node (revoked ones too: their users' mail is deferred). */
  readonly cluster: ClusterConfig;
  /** The Node component of every non-revoked node, by name. */
  readonly nodes: Readonly<Record<string, Node>>;
  /** The directory: postfix and dovecot read users from each node's own replica. */
  readonly ldap: LdapReplica;
  /** The VPN: mail between nodes crosses it, and dovecot's LMTP listens on the node's VPN address. */
  readonly mesh: VpnMesh;
  /** Per node, where its Maildirs live (default `<encrypted mount>/mail`); must lie inside the mount. */
  readonly storePaths?: Readonly<Record<string, string>>;
}

/** The default mail store: inside the encrypted mount (see docs/mail.md for the trade-off). */
export const storePathOf = (n: { readonly encryptedMount: { readonly path: string } }) => `${n.encryptedMount.path}/mail`;

/** Every problem with the args at once. */
export function validateMailRoutingArgs(args: MailRoutingArgs): void {
  const problems: string[] = [];
  const live = args.cluster.nodes.filter(isLive).map((n) => n.name);
  for (const name of live) if (!args.nodes[name]) problems.push(`node ${name} has no Node component`);
  for (const name of Object.keys(args.nodes)) if (!live.includes(name)) problems.push(`Node ${name} is not a live node of the cluster config`);
  for (const name of Object.keys(args.storePaths ?? {})) if (!live.includes(name)) problems.push(`storePaths names ${name}, which is not a live node`);
  if (problems.length > 0) throw new Error(`invalid MailRouting args:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
}

/**
 * Mail for the cluster's domain on every node: each is an MX, each user's mail reaches the home
 * node's dovecot over the VPN, IMAP/POP and submission work on any node (planning/mail/routing.ts,
 * docs/mail.md). Per non-revoked node, a MailDaemons owns postfix's and dovecot's configuration,
 * rendered from the node's TLS contribution and this routing; it is applied after the node's TLS
 * keys and its slapd (the daemons look users up in the local replica).
 */
export class MailRouting extends pulumi.ComponentResource {
  /** Node → what routing contributes to its daemons (for reviewers and tests). */
  public readonly contributions: Readonly<Record<string, DaemonContribution>>;
  public readonly daemons: Readonly<Record<string, MailDaemons>>;
  /** Node → the doveadm password file mailboxes move with (inside the node's encrypted mount). */
  public readonly moveSecretFiles: Readonly<Record<string, HostFiles>>;
  /** Node → its DKIM signing key (born in its mount; selector = the node's name). */
  public readonly dkimKeys: Readonly<Record<string, DkimKey>>;
  /** Node → the public half of its DKIM key (the zone publishes it at `<node>._domainkey`). */
  public readonly dkimPublicKeys: Readonly<Record<string, pulumi.Output<string>>>;

  constructor(name: string, args: MailRoutingArgs, opts?: pulumi.ComponentResourceOptions) {
    validateMailRoutingArgs(args);
    const ldap = args.ldap.plan;
    const nodes: MailNode[] = args.cluster.nodes.map((n) => ({
      name: n.name,
      state: n.state,
      vpnAddress: n.vpnAddress,
      publicAddress: n.publicAddress,
      storePath: args.storePaths?.[n.name] ?? storePathOf(n),
      mountPath: n.encryptedMount.path,
    }));
    // Planned before anything is registered: a bad store path stops the preview here.
    const contributions = planMailRouting({ domain: args.cluster.domain, suffix: ldap.suffix, ldapiSocket: ldap.settings.ldapiSocket, nodes, vpnCidrs: Object.values(args.cluster.rings), vpnUnit: `${args.mesh.plan.settings.systemdUnit}.service` });
    // Not optional: what a server never wrote down cannot be seized (docs/anonymity.md).
    const anonymity = planMailAnonymity({ vpnCidrs: Object.values(args.cluster.rings) });
    // The spam filter's files, every node's planned before anything is registered; the directory's
    // master holds the writable copy of what it learns (planning/mail/spam.ts).
    const master = nodes.find((m) => m.name === ldap.master)!;
    const spamFiles: Record<string, SpamFilterFiles> = {};
    for (const node of Object.keys(contributions)) {
      const self = nodes.find((m) => m.name === node)!;
      spamFiles[node] = renderSpamFilter({ node, vpnAddress: self.vpnAddress, mountPath: self.mountPath, master: { name: master.name, vpnAddress: master.vpnAddress }, vpnUnit: `${args.mesh.plan.settings.systemdUnit}.service`, settings: args.cluster.spam ?? DEFAULT_SPAM }, MAIL_USER);
    }
    super("rplan:mail:MailRouting", name, {}, opts);
    this.contributions = contributions;
    // The doveadm password mailboxes move with (planning/mail/move-channel.ts): one for the cluster,
    // renewed when a node is revoked (a seized node knew it).
    const revoked = args.cluster.nodes.filter(isRevoked).map((n) => n.name).join(",");
    const moveSecret = new random.RandomPassword(`${name}-move-secret`, { length: 40, special: false, keepers: { revoked } }, { parent: this, additionalSecretOutputs: ["result", "bcryptHash"] });
    const moveSecretDigest = moveSecret.result.apply((s) => `move channel ${crypto.createHash("sha256").update(`rplan-move\0${s}`).digest("hex").slice(0, 16)}`);
    // Every change of a mailbox is reported to the home's standby replicator, which dovecot runs
    // (planning/quantum/standby-sync.ts): its files are in place before dovecot is told to run it.
    const standbyNotify = standbyNotifyContribution();
    const standbyScript = fs.readFileSync(path.join(__dirname, "..", "planning", "quantum", "standby-sync.sh"), "utf8");
    const senderCheckScript = fs.readFileSync(path.join(__dirname, "..", "planning", "mail", "sender-check.py"), "utf8");
    const daemons: Record<string, MailDaemons> = {};
    const moveSecretFiles: Record<string, HostFiles> = {};
    const dkimKeys: Record<string, DkimKey> = {};
    for (const [node, routing] of Object.entries(contributions)) {
      const n = args.nodes[node];
      // Submitted mail is signed with the node's own key (planning/mail/dkim.ts): opendkim is in
      // place before postfix hands it the submission service's mail.
      const dkim = planDkim({ node, domain: args.cluster.domain, keyDir: n.keyDirs.opendkim, generation: n.config.dkimKeyGeneration });
      dkimKeys[node] = new DkimKey(
        `${node}-dkim-key`,
        { node, selector: dkim.selector, keyDir: dkim.keyDir, privateKeyPath: dkim.privateKeyPath, keyBits: dkim.keyBits, generation: dkim.generation, ssh: n.ssh, encryptedMount: n.config.encryptedMount },
        { parent: this, dependsOn: [n.host] },
      );
      const opendkimConf = dkimKeys[node].publicKey.apply((k) => renderOpendkimConf(dkim, dkimRevision(k)));
      const opendkim = new HostFiles(
        `${node}-opendkim-config`,
        { node, ssh: n.ssh, files: [{ path: OPENDKIM_CONF, content: opendkimConf, mode: "0644" }], reload: OPENDKIM_RELOAD.map((c) => [...c]) },
        { parent: this, dependsOn: [...n.daemonsAfter, dkimKeys[node]] },
      );
      const secretPath = `${n.keyDirs.dovecot}/doveadm.secret`;
      moveSecretFiles[node] = new HostFiles(
        `${node}-move-secret`,
        { node, ssh: n.ssh, encryptedMount: n.config.encryptedMount, files: [{ path: secretPath, content: moveSecret.result, mode: "0600", owner: "root:root" }] },
        { parent: this, dependsOn: [n.host] },
      );
      // The From header of submitted mail is checked before it is signed (planning/mail/sender-check.ts).
      // After opendkim: on a CI lab, opendkim's restart once timed out while this unit's
      // daemon-reload could run beside it (the cause is not proven); now the two never overlap.
      const check = renderSenderCheck(senderCheckScript, POSTFIX_MAPS.senders);
      const senderCheck = new HostFiles(`${node}-sender-check`, { node, ssh: n.ssh, files: check.files, reload: check.reload }, { parent: this, dependsOn: [...n.daemonsAfter, opendkim] });
      // After the sender check: both reload systemd, and they never overlap (see above). After the
      // VPN is up: redis listens on the node's VPN address, and fails to start without it (seen on a
      // fresh CI lab, where the spam filter's first create ran before tinc).
      const spamFilter = new HostFiles(`${node}-spam-filter`, { node, ssh: n.ssh, files: spamFiles[node].files, reload: spamFiles[node].reload }, { parent: this, dependsOn: [...n.daemonsAfter, senderCheck, args.mesh.check] });
      const self = nodes.find((m) => m.name === node)!;
      // Spares of forwarded mail older than the hour are removed by a timer (planning/mail/held.ts).
      // After the spam filter: both reload systemd, and they never overlap (see above).
      const pruning = heldPruning(self.mountPath, MAIL_USER);
      const heldPrune = new HostFiles(`${node}-held-prune`, { node, ssh: n.ssh, files: pruning.files, reload: pruning.reload }, { parent: this, dependsOn: [...n.daemonsAfter, spamFilter] });
      const replicator = renderStandbySync({ self: node, suffix: ldap.suffix, ldapiSocket: ldap.settings.ldapiSocket, stateDir: STANDBY_STATE_DIR, storePath: self.storePath, vpnAddresses: {}, script: standbyScript });
      const standbyReplicator = new HostFiles(`${node}-standby-replicator`, { node, ssh: n.ssh, files: replicator.files, reload: replicator.reload }, { parent: this, dependsOn: [n.host] });
      const channel = moveChannelContribution({ vpnAddress: self.vpnAddress, storePath: self.storePath, suffix: ldap.suffix, ldapiSocket: ldap.settings.ldapiSocket, secretPath });
      daemons[node] = new MailDaemons(
        `${node}-mail-daemons`,
        {
          node: n,
          domain: args.cluster.domain,
          contributions: [n.tlsContribution, routing, channel, anonymity, standbyNotify, quotaContribution(self, args.cluster.domain, MAIL_USER), sieveContribution(), spamContribution()],
          revisions: { postfix: [n.tlsRevisions.postfix], dovecot: [n.tlsRevisions.dovecot, moveSecretDigest] },
          dependsOn: [...Object.values(n.tlsKeys), args.ldap.slapd[node], moveSecretFiles[node], opendkim, senderCheck, spamFilter, heldPrune, standbyReplicator],
        },
        { parent: this },
      );
    }
    this.daemons = daemons;
    this.moveSecretFiles = moveSecretFiles;
    this.dkimKeys = dkimKeys;
    this.dkimPublicKeys = Object.fromEntries(Object.entries(dkimKeys).map(([node, k]) => [node, k.publicKey]));
    this.registerOutputs({ dkimPublicKeys: this.dkimPublicKeys });
  }
}
