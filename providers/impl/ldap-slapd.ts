/**
 * SlapdConfig: one node's slapd, configured through cn=config — idempotently (read what the node
 * has, compute the change records, apply them with ldapmodify over ldapi, read again to verify).
 *
 * - First contact: the node's encrypted mount is verified unlocked; if the mount holds no cn=config
 *   yet, one is created there with slapadd (server ID, modules, schemas, databases) and
 *   /etc/default/slapd points slapd at it and at the loopback/VPN/ldapi listeners; slapd restarts.
 *   The package's own /etc/ldap/slapd.d (the same admin password on every node of an image) is
 *   left unused.
 * - Consumers: the replication secret is read on the node from `secretPath` (inside the mount,
 *   written by a HostFiles) and put into olcSyncrepl there; it never enters this resource's inputs,
 *   outputs or state (`secretDigest`, a digest, only makes a rotation visible).
 * - Master switch: when this node turns from consumer into master, the update first runs the
 *   takeover (planning/ldap/switch.ts): freeze the old master (olcReadOnly TRUE), wait until this
 *   node's contextCSN covers the old master's, then promote. The old master's and the other
 *   consumers' SlapdConfigs depend on this one and converge afterwards.
 * - check/diff do no I/O and tolerate unknowns; check refuses a server ID change on a live node
 *   and fills in `transition`, the one-line description of a role change that preview shows.
 * - Delete never contacts the node (a revoked node may be in hostile hands; its identity is deleted
 *   from the directory, which is what locks it out).
 */
import type { SshEndpointInput } from "../../planning/config";
import type * as pulumi from "@pulumi/pulumi";
import { EncryptedMount, isInsideMount, normalizePosix } from "../../planning/encrypted-mount";
import {
  databaseEntry,
  describeTransition,
  isLdapSuffix,
  MAX_SERVER_ID,
  SlapdNodeSpec,
  SlapdSettings,
  valuesOf,
} from "../../planning/ldap";
import { requireUnlocked } from "../../ops/unlock";
import { SlapdControl } from "../../ops/slapd-control";
import { prepareHost, readSecret } from "../../ops/slapd-host";
import { convergeConfig, refuseLosingDemotion, runTakeover, SwitchReport } from "../../ops/slapd-takeover";
import { SshError, sshConnection } from "../../transports/ssh";
import { diffKeys } from "./diff";
import { known, sshTarget } from "./common";

/** How the provider reaches a node (planning/config's one endpoint vocabulary). */
export type SshInput = SshEndpointInput;

export interface NodeRef {
  readonly node: string;
  readonly ssh: SshInput;
}

export interface SlapdConfigInputs {
  readonly node: string;
  readonly ssh: SshInput;
  readonly encryptedMount: EncryptedMount;
  readonly spec: SlapdNodeSpec;
  readonly settings: SlapdSettings;
  /** The node's replication secret, inside its encrypted mount. */
  readonly secretPath: string;
  /** A digest of the secret (changes when it is rotated; the secret itself is never an input). */
  readonly secretDigest?: string;
  /** The master of this config (the node itself when it is the master): the old one is frozen from here in a switch. */
  readonly master: NodeRef;
  /** Revoked nodes: never contacted, not even to freeze them. */
  readonly revoked: string[];
  /** How long the takeover waits for this node to catch up with the old master (ms). */
  readonly switchTimeoutMs: number;
  /** Set by check: what changes for this node's role (shown by preview; "" when nothing). */
  readonly transition?: string;
}

export type { SwitchReport };

export interface SlapdConfigOutputs extends SlapdConfigInputs {
  /** What the last create/update changed (credentials redacted). */
  readonly applied?: string[];
  readonly bootstrapped?: boolean;
  readonly restarted?: boolean;
  readonly contextCSN?: string[];
  readonly switch?: SwitchReport;
  /** Only ever set by refresh, when the node was found frozen (olcReadOnly TRUE): the next up repairs it. */
  readonly frozen?: boolean;
}

const BUSINESS = ["node", "ssh", "encryptedMount", "spec", "settings", "secretPath", "secretDigest", "frozen"];
const LISTEN = /^(ldapi:\/\/\/|ldap:\/\/(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}):(\d{1,5})\/)$/;

/** Every problem with the inputs; unknown values (preview) are skipped. */
export function validateSlapdConfig(olds: Partial<SlapdConfigInputs> | undefined, news: SlapdConfigInputs): pulumi.dynamic.CheckFailure[] {
  const failures: pulumi.dynamic.CheckFailure[] = [];
  const bad = (property: string, reason: string) => failures.push({ property, reason });
  const s = news.spec;
  if (!known(news.node) || !known(s)) return failures;
  if (s.node !== news.node) bad("spec", `spec is for ${s.node}, not ${news.node}`);
  if (known(s.serverId)) {
    if (!Number.isInteger(s.serverId) || s.serverId < 1 || s.serverId > MAX_SERVER_ID) bad("spec", `serverId must be 1..${MAX_SERVER_ID} (got ${JSON.stringify(s.serverId)})`);
    else if (olds?.spec && olds.node === news.node && typeof olds.spec.serverId === "number" && olds.spec.serverId !== s.serverId) {
      bad(
        "spec",
        `the olcServerID of ${news.node} would change from ${olds.spec.serverId} to ${s.serverId}: a live node keeps its ID (its CSNs carry it). ` +
          `Remove the rplan:ldap.serverIds override of ${news.node}, or give it ${olds.spec.serverId}`,
      );
    }
  }
  if (known(s.suffix) && !isLdapSuffix(s.suffix)) bad("spec", `suffix ${JSON.stringify(s.suffix)} must look like dc=example,dc=org`);
  if (s.role === "consumer" && (!s.syncrepl || !s.updateRef)) bad("spec", `${news.node} is a consumer without syncrepl or update referral`);
  if (s.role === "master" && (s.syncrepl || s.updateRef)) bad("spec", `${news.node} is the master but has a syncrepl or update referral`);
  if (s.role !== "master" && s.role !== "consumer") bad("spec", `role must be master or consumer (got ${JSON.stringify(s.role)})`);
  if (known(news.master) && known(news.master.node)) {
    if (s.role === "master" && news.master.node !== news.node) bad("master", `${news.node} is the master but master names ${news.master.node}`);
    if (s.role === "consumer" && news.master.node === news.node) bad("master", `${news.node} is a consumer of itself`);
  }
  if (Array.isArray(news.revoked) && news.revoked.includes(news.node)) bad("revoked", `${news.node} is revoked and must not be configured`);
  if (known(s.listen)) {
    for (const url of s.listen) {
      const m = LISTEN.exec(url);
      if (!m || m[2] === "0.0.0.0") bad("spec", `listen URL ${JSON.stringify(url)} must be ldapi:/// or ldap://<a specific IPv4 address>:<port>/ (never every address)`);
    }
  }
  const mount = news.encryptedMount;
  if (known(mount) && known(mount.path)) {
    const inside = (p: unknown, what: string, property: string) => {
      if (!known(p)) return;
      if (typeof p !== "string" || normalizePosix(p) !== p || !/^\/[A-Za-z0-9._/-]+$/.test(p)) bad(property, `${what} ${JSON.stringify(p)} must be a normalized absolute path`);
      else if (!isInsideMount(mount, p) || p === mount.path) bad(property, `${what} of ${news.node} must lie inside its encrypted mount ${mount.path} (got ${p})`);
    };
    inside(news.secretPath, "the replication secret", "secretPath");
    inside(s.configDir, "cn=config", "spec");
    inside(s.dataDir, "the database", "spec");
  }
  if (known(news.switchTimeoutMs) && !(Number.isInteger(news.switchTimeoutMs) && news.switchTimeoutMs > 0)) bad("switchTimeoutMs", "switchTimeoutMs must be a positive integer");
  return failures;
}

export async function check(olds: Partial<SlapdConfigInputs> | undefined, news: SlapdConfigInputs): Promise<pulumi.dynamic.CheckResult> {
  const failures = validateSlapdConfig(olds, news);
  const inputs = { ...news, transition: transitionOf(olds, news) };
  return failures.length > 0 ? { inputs, failures } : { inputs };
}

function transitionOf(olds: Partial<SlapdConfigInputs> | undefined, news: SlapdConfigInputs): string {
  if (!olds?.spec || !olds.master || !known(news.spec) || !known(news.master) || !known(news.master?.node)) return "";
  const revoked = Array.isArray(news.revoked) && news.revoked.includes(olds.master.node);
  return describeTransition(news.node, { role: olds.spec.role, master: olds.master.node }, { role: news.spec.role, master: news.master.node }, revoked);
}

export async function diff(_id: string, olds: SlapdConfigOutputs, news: SlapdConfigInputs): Promise<pulumi.dynamic.DiffResult> {
  return diffKeys(olds as any, news as any, BUSINESS, ["node"]);
}

export async function create(inputs: SlapdConfigInputs): Promise<pulumi.dynamic.CreateResult> {
  return { id: inputs.node, outs: await converge(inputs, undefined) };
}

export async function update(_id: string, olds: SlapdConfigOutputs, news: SlapdConfigInputs): Promise<pulumi.dynamic.UpdateResult> {
  return { outs: await converge(news, olds) };
}

/** Refresh: reports a node found frozen (the next up unfreezes it, or finishes a switch) and what it runs as. */
export async function read(id: string, props: SlapdConfigOutputs): Promise<pulumi.dynamic.ReadResult> {
  const conn = await sshConnection(sshTarget(props));
  const ctl = new SlapdControl(props.node, conn);
  const db = databaseEntry(await ctl.readConfig());
  const { frozen: _old, ...rest } = props;
  const frozen = db !== undefined && valuesOf(db, "olcReadOnly").some((v) => v.toUpperCase() === "TRUE");
  return { id, props: { ...rest, ...(frozen ? { frozen: true } : {}), contextCSN: await ctl.contextCsn(props.spec.suffix) } };
}

export async function delete_(): Promise<void> {
  // Intentionally nothing: see the file comment.
}
export { delete_ as delete };

/** A consumer turning master while another node was master: the takeover runs first. */
export function isTakeover(olds: SlapdConfigInputs | undefined, news: SlapdConfigInputs): boolean {
  return !!olds && olds.spec?.role === "consumer" && news.spec.role === "master" && !!olds.master && olds.master.node !== news.node;
}

async function converge(news: SlapdConfigInputs, olds: SlapdConfigOutputs | undefined): Promise<SlapdConfigOutputs> {
  const conn = await sshConnection(sshTarget(news));
  await requireUnlocked(conn, news.encryptedMount);
  const ctl = new SlapdControl(news.node, conn);
  const { bootstrapped, restarted } = await prepareHost(conn, ctl, news);
  const credential = news.spec.role === "consumer" ? await readSecret(conn, news) : undefined;

  let report: SwitchReport | undefined;
  let applied: string[] = [];
  const apply = async () => {
    applied = await convergeConfig(ctl, news.spec, news.settings, credential);
  };
  if (isTakeover(olds, news)) {
    const from = olds!.master;
    const unreachable = news.revoked.includes(from.node);
    let fromCtl: SlapdControl | undefined;
    if (!unreachable) {
      try {
        fromCtl = new SlapdControl(from.node, await sshConnection(sshTarget(from)));
      } catch (e) {
        throw new SshError(
          `[${news.node}] cannot reach the old master ${from.node} to freeze it: ${(e as Error).message}. Nothing was changed. ` +
            `If ${from.node} is lost for good, revoke it (state: revoked) and run up again: ${news.node} is then promoted without freezing it.`,
          news.node,
        );
      }
    }
    report = await runTakeover({ from: from.node, fromCtl, toCtl: ctl, suffix: news.spec.suffix, timeoutMs: news.switchTimeoutMs, promote: apply });
  } else {
    if (news.spec.role === "consumer") {
      const masterCsn = async () => new SlapdControl(news.master.node, await sshConnection(sshTarget(news.master))).contextCsn(news.spec.suffix);
      await refuseLosingDemotion(ctl, masterCsn, news);
    }
    await apply();
  }
  return { ...news, applied, bootstrapped, restarted, contextCSN: await ctl.contextCsn(news.spec.suffix), ...(report ? { switch: report } : {}) };
}

