/**
 * LdapEntries: entries rplan keeps on the master — the tree (suffix, ou=people, ou=system,
 * ou=nodes) and the node identities with their password hashes. Written through transports/ldap.ts:
 * ldapts over an SSH channel to the master's ldapi socket, bound as root with SASL EXTERNAL.
 *
 * - Each entry holds exactly the attributes listed for it (an attribute listed before and no longer
 *   is removed); other attributes are left alone. Missing entries are added, parents first.
 * - Entries listed before and no longer, and children of a `prune` container that are not listed
 *   (a revoked node's identity), are deleted: its password stops working everywhere at once.
 * - A change of master re-verifies every entry on the new master (they replicate; this proves it).
 * - Deleting the resource leaves the directory alone (its data is the users').
 */
import type * as pulumi from "@pulumi/pulumi";
import { DirectoryEntry, isLdapSuffix } from "../../planning/ldap";
import { childDns, contextCsnOf, deleteEntry, ldapError, sshStreamOpener, syncEntry, withRootLdap } from "../../transports/ldap";
import { sshConnection } from "../../transports/ssh";
import { diffKeys } from "./diff";
import type { NodeRef } from "./ldap-slapd";
import { known, sshTarget } from "./common";

export interface LdapEntriesInputs {
  /** The master (entries are written there; consumers replicate them). */
  readonly master: NodeRef;
  /** slapd's ldapi socket on the master. */
  readonly socketPath: string;
  readonly suffix: string;
  /** Parents before children. */
  readonly entries: DirectoryEntry[];
  /** Containers owned outright: children not listed in `entries` are deleted. */
  readonly prune?: string[];
}

export interface LdapEntriesOutputs extends LdapEntriesInputs {
  readonly lastApply?: { added: string[]; modified: string[]; deleted: string[] };
  /** The master's contextCSN right after the entries were written (what the replicas must reach). */
  readonly contextCSN?: string[];
}

const BUSINESS = ["master", "socketPath", "suffix", "entries", "prune"];
const dnKey = (dn: string) => dn.toLowerCase().replace(/,\s+/g, ",");

export function validateLdapEntries(news: LdapEntriesInputs): pulumi.dynamic.CheckFailure[] {
  const failures: pulumi.dynamic.CheckFailure[] = [];
  const bad = (property: string, reason: string) => failures.push({ property, reason });
  if (known(news.suffix) && !isLdapSuffix(news.suffix)) bad("suffix", `suffix ${JSON.stringify(news.suffix)} must look like dc=example,dc=org`);
  if (known(news.entries)) {
    if (!Array.isArray(news.entries)) bad("entries", "entries must be a list of {dn, attributes}");
    else {
      const seen = new Set<string>();
      news.entries.forEach((e, i) => {
        if (!known(e) || !known(e.dn)) return;
        if (typeof e.dn !== "string" || (known(news.suffix) && !dnKey(e.dn).endsWith(dnKey(news.suffix)))) bad("entries", `entries[${i}].dn ${JSON.stringify(e.dn)} is not under the suffix ${news.suffix}`);
        else if (seen.has(dnKey(e.dn))) bad("entries", `entries[${i}].dn ${e.dn} is listed twice`);
        else {
          const parent = dnKey(e.dn).split(",").slice(1).join(",");
          if (dnKey(e.dn) !== dnKey(news.suffix) && !seen.has(parent)) bad("entries", `entries[${i}].dn ${e.dn} comes before its parent`);
          seen.add(dnKey(e.dn));
        }
        if (known(e.attributes) && (typeof e.attributes !== "object" || !Array.isArray((e.attributes as any).objectClass))) bad("entries", `entries[${i}] (${e.dn}) needs an objectClass list`);
      });
    }
  }
  // A pruned container loses every child not listed: only containers this resource itself lists
  // (the node identities), never the suffix or the users' ou=people.
  if (known(news.prune) && known(news.entries) && Array.isArray(news.entries)) {
    const listed = new Set(news.entries.filter((e) => known(e) && typeof e.dn === "string").map((e) => dnKey(e.dn)));
    for (const p of Array.isArray(news.prune) ? news.prune : [news.prune]) {
      if (!known(p)) continue;
      const k = typeof p === "string" ? dnKey(p) : "";
      if (!listed.has(k) || (known(news.suffix) && k === dnKey(news.suffix)) || /^ou=people,/.test(k)) {
        bad("prune", `prune ${JSON.stringify(p)} must be a container listed in entries, other than the suffix and ou=people (its unlisted children are deleted)`);
      }
    }
  }
  return failures;
}

export async function check(_olds: unknown, news: LdapEntriesInputs): Promise<pulumi.dynamic.CheckResult> {
  const failures = validateLdapEntries(news);
  return failures.length > 0 ? { inputs: news, failures } : { inputs: news };
}

export async function diff(_id: string, olds: LdapEntriesOutputs, news: LdapEntriesInputs): Promise<pulumi.dynamic.DiffResult> {
  return diffKeys(olds as any, news as any, BUSINESS);
}

export async function create(inputs: LdapEntriesInputs): Promise<pulumi.dynamic.CreateResult> {
  return { id: `entries:${inputs.suffix}`, outs: { ...inputs, ...(await apply(inputs, undefined)) } };
}

export async function update(_id: string, olds: LdapEntriesOutputs, news: LdapEntriesInputs): Promise<pulumi.dynamic.UpdateResult> {
  return { outs: { ...news, ...(await apply(news, olds)) } };
}

export async function read(id: string, props: LdapEntriesOutputs): Promise<pulumi.dynamic.ReadResult> {
  return { id, props };
}

export async function delete_(): Promise<void> {
  // Intentionally nothing: see the file comment.
}
export { delete_ as delete };

async function apply(news: LdapEntriesInputs, olds: LdapEntriesInputs | undefined): Promise<Pick<LdapEntriesOutputs, "lastApply" | "contextCSN">> {
  const conn = await sshConnection(sshTarget(news.master));
  return withRootLdap(news.master.node, sshStreamOpener(conn, { socketPath: news.socketPath }), async (client) => {
    const lastApply = await applyEntries(client, news, olds);
    return { lastApply, contextCSN: await contextCsnOf(client, news.suffix) };
  });
}

/** The work of create/update on a bound client (tests run it against a local slapd). */
export async function applyEntries(client: import("ldapts").Client, news: LdapEntriesInputs, olds: LdapEntriesInputs | undefined): Promise<{ added: string[]; modified: string[]; deleted: string[] }> {
  const node = news.master.node;
  const before = new Map((olds?.entries ?? []).map((e) => [dnKey(e.dn), e]));
  const wanted = new Set(news.entries.map((e) => dnKey(e.dn)));
  const out = { added: [] as string[], modified: [] as string[], deleted: [] as string[] };
  for (const e of news.entries) {
    const owned = [...new Set([...Object.keys(e.attributes), ...Object.keys(before.get(dnKey(e.dn))?.attributes ?? {})])];
    try {
      const r = await syncEntry(client, e.dn, e.attributes, owned);
      if (r === "added") out.added.push(e.dn);
      if (r === "modified") out.modified.push(e.dn);
    } catch (err) {
      throw ldapError(node, `write ${e.dn}`, err);
    }
  }
  const stale = (olds?.entries ?? []).filter((e) => !wanted.has(dnKey(e.dn))).map((e) => e.dn);
  for (const p of news.prune ?? []) for (const dn of await childDns(client, p)) if (!wanted.has(dnKey(dn))) stale.push(dn);
  // Children before parents: longest DN first.
  for (const dn of [...new Set(stale)].sort((a, b) => b.split(",").length - a.split(",").length)) {
    try {
      if (await deleteEntry(client, dn)) out.deleted.push(dn);
    } catch (err) {
      throw ldapError(node, `delete ${dn}`, err);
    }
  }
  return out;
}
