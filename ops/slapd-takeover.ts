/**
 * The LDAP master switch and cn=config convergence, as host procedures (docs/switch-ldap-master.md):
 * the SlapdConfig provider runs them, and so do the local-slapd tests.
 */
import { behindSids, configChanges, databaseEntry, describeChanges, desiredConfig, readOnlyChange, SlapdNodeSpec, SlapdSettings, valuesOf } from "../planning/ldap";
import { LdapError, sleep } from "../transports/ldap";
import { SlapdControl } from "./slapd-control";

/** What a master switch did and how long each phase took (a SlapdConfig output). */
export interface SwitchReport {
  readonly from: string;
  readonly froze: boolean;
  /** ms from the start of the takeover until the old master was frozen, caught up with, promoted. */
  readonly frozenMs: number;
  readonly caughtUpMs: number;
  readonly promotedMs: number;
  /** The old master's contextCSN after the freeze (everything it ever acknowledged). */
  readonly oldMasterCsn: string[];
  readonly at: string;
}

/**
 * A node that acts as master (no olcSyncrepl) and holds writes becomes a consumer only of a master
 * that has every one of them: otherwise it would resync from a master that lacks them (e.g. the
 * master role given to a node created in the same up, which skips the takeover) and lose them.
 */
export async function refuseLosingDemotion(
  ctl: Pick<SlapdControl, "readConfig" | "contextCsn">,
  masterCsn: () => Promise<string[]>,
  news: { readonly node: string; readonly master: { readonly node: string }; readonly spec: Pick<SlapdNodeSpec, "suffix"> },
): Promise<void> {
  const db = databaseEntry(await ctl.readConfig());
  if (!db || valuesOf(db, "olcSyncrepl").length > 0) return;
  const ours = await ctl.contextCsn(news.spec.suffix);
  if (ours.length === 0) return;
  const behind = behindSids(ours, await masterCsn());
  if (behind.length > 0) {
    throw new LdapError(
      `[${news.node}] is master and ${news.master.node} lacks writes it took (server IDs ${behind.join(", ")}): it was not made a consumer, nothing was changed. ` +
        `A new node must first join as a consumer; give it the master role in a later up (the switch then waits for it to catch up).`,
      news.node,
    );
  }
}

/**
 * Take `ctl`'s node from what it has to `spec` (one ldapmodify), then read back and verify that
 * nothing is left to change. Returns the changes made (credentials redacted).
 */
export async function convergeConfig(ctl: SlapdControl, spec: SlapdNodeSpec, settings: SlapdSettings, credential?: string): Promise<string[]> {
  const desired = desiredConfig(spec, settings, credential);
  const changes = configChanges(await ctl.readConfig(), desired);
  await ctl.modify(changes, `configure slapd on ${spec.node}`);
  const left = configChanges(await ctl.readConfig(), desired);
  if (left.length > 0) throw new LdapError(`[${spec.node}] cn=config still differs after applying it: ${describeChanges(left).join("; ")}`, spec.node);
  return describeChanges(changes);
}

export interface TakeoverArgs {
  readonly from: string;
  /** The old master; undefined when it is revoked (never contacted). */
  readonly fromCtl?: SlapdControl;
  /** The node taking over. */
  readonly toCtl: SlapdControl;
  readonly suffix: string;
  readonly timeoutMs: number;
  /** Promote the new master (its convergence to the master role). */
  readonly promote: () => Promise<void>;
  readonly pollMs?: number;
}

/**
 * freeze → wait until caught up → promote (docs/switch-ldap-master.md). On a timeout, or a failure
 * before the new master was promoted, the old master is unfrozen again; once the new master may
 * take writes, the old one stays frozen whatever happens (until its own convergence demotes it).
 */
export async function runTakeover(a: TakeoverArgs): Promise<SwitchReport> {
  const t0 = Date.now();
  const at = new Date(t0).toISOString();
  if (!a.fromCtl) {
    await a.promote();
    return { from: a.from, froze: false, frozenMs: 0, caughtUpMs: 0, promotedMs: Date.now() - t0, oldMasterCsn: [], at };
  }
  const old = a.fromCtl;
  const db = databaseEntry(await old.readConfig());
  if (!db) throw new LdapError(`[${a.from}] has no database for ${a.suffix}: cannot freeze it`, a.from);
  const oldIsMaster = valuesOf(db, "olcSyncrepl").length === 0;
  if (!oldIsMaster) {
    // Already a consumer (a re-run after the old master was demoted): it takes no writes.
    await a.promote();
    return { from: a.from, froze: false, frozenMs: 0, caughtUpMs: 0, promotedMs: Date.now() - t0, oldMasterCsn: [], at };
  }
  await old.modify([readOnlyChange(db.dn, true)], `freeze ${a.from} (olcReadOnly TRUE)`);
  const frozenMs = Date.now() - t0;
  const unfreeze = () => old.modify([readOnlyChange(db.dn, false)], `unfreeze ${a.from}`);
  let oldMasterCsn: string[];
  try {
    oldMasterCsn = await old.contextCsn(a.suffix);
    const until = Date.now() + a.timeoutMs;
    for (;;) {
      const behind = behindSids(oldMasterCsn, await a.toCtl.contextCsn(a.suffix));
      if (behind.length === 0) break;
      if (Date.now() > until) {
        throw new LdapError(
          `[${a.toCtl.node}] did not catch up with ${a.from} within ${a.timeoutMs} ms (behind for server IDs ${behind.join(", ")}); ` +
            `${a.from} was unfrozen and stays master. Check ${a.toCtl.node}'s replication, then run up again.`,
          a.toCtl.node,
        );
      }
      await sleep(a.pollMs ?? 20);
    }
  } catch (e) {
    await unfreeze().catch(() => undefined);
    throw e;
  }
  const caughtUpMs = Date.now() - t0;
  try {
    await a.promote();
  } catch (e) {
    const promoted = await a.toCtl
      .readConfig()
      .then((c) => valuesOf(databaseEntry(c), "olcSyncrepl").length === 0)
      .catch(() => true);
    if (!promoted) await unfreeze().catch(() => undefined);
    throw new LdapError(
      `[${a.toCtl.node}] promotion failed: ${(e as Error).message}. ` +
        (promoted ? `${a.toCtl.node} may already take writes: ${a.from} stays frozen; run up again to finish the switch.` : `${a.from} was unfrozen and stays master.`),
      a.toCtl.node,
    );
  }
  return { from: a.from, froze: true, frozenMs, caughtUpMs, promotedMs: Date.now() - t0, oldMasterCsn, at };
}
