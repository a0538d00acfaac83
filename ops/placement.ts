/**
 * What `npm run placement` reads from the cluster: every user's bytes on every live node (`du` over
 * SSH with pinned host keys) and every user's home in the directory (the master, over SSH to its
 * ldapi socket). Revoked nodes are never contacted. Building the command and reading `du`'s output
 * are pure and tested; only `measureUserBytes` and `directoryHomes` contact hosts.
 */
import type { ClusterConfig, NodeConfig } from "../planning/config";
import { DEFAULT_SLAPD_SETTINGS, planLdap, treeDns } from "../planning/ldap";
import type { NodeMeasurement } from "../planning/placement";
import { sshStreamOpener, withRootLdap } from "../transports/ldap";
import { shellQuote, sshConnection } from "../transports/ssh";
import { isLive } from "../planning/node-roles";
import { parseStandbyStatus, type StandbyStatus } from "../planning/quantum/standby-status";
import { STANDBY_STATE_DIR } from "../planning/quantum/standby-sync";

/**
 * Where a node's Maildirs live: MailRouting's default store, `<encrypted mount>/mail`
 * (components/mail-routing.ts storePathOf, not imported so this command loads no Pulumi), with one
 * directory per user below it (dovecot's home, `<store>/<uid>`).
 */
export const mailStoreOf = (n: Pick<NodeConfig, "encryptedMount">) => `${n.encryptedMount.path}/mail`;

/**
 * The script run on a node: refuse when the store is missing (a locked mount must not read as "every
 * user has 0 bytes"), then `du -sb` of each user's directory. The paths come NUL-separated on stdin
 * (`--files0-from=-`), so no argv limit applies however many users there are.
 */
export function duScript(store: string): string {
  const s = shellQuote(store);
  return `test -d ${s} || { echo "no mail store at "${s}" (is the encrypted mount unlocked?)" >&2; exit 3; }; du -sb --files0-from=-`;
}

/** `du`'s lines (`<bytes>\t<store>/<uid>`) as uid → bytes; lines for other paths are ignored. */
export function parseDu(stdout: string, store: string): Map<string, number> {
  const sizes = new Map<string, number>();
  for (const line of stdout.split("\n")) {
    const m = /^(\d+)\t(.*)$/.exec(line);
    if (!m || !m[2].startsWith(`${store}/`)) continue;
    const uid = m[2].slice(store.length + 1);
    if (uid && !uid.includes("/")) sizes.set(uid, Number(m[1]));
  }
  return sizes;
}

/** `du`'s complaints other than a user without a directory on that node (the normal case). */
export function duProblems(stderr: string): string[] {
  return stderr.split("\n").filter((l) => l.trim() !== "" && !/cannot access .*: No such file or directory/.test(l));
}

/** Every live node's `du` of each user's directory, in parallel; a node's failure is its `error`. */
export async function measureUserBytes(cluster: ClusterConfig, uids: readonly string[]): Promise<NodeMeasurement[]> {
  const live = cluster.nodes.filter(isLive);
  return Promise.all(
    live.map(async (n): Promise<NodeMeasurement> => {
      const store = mailStoreOf(n);
      try {
        const conn = await sshConnection({ node: n.name, ...n.ssh });
        const paths = uids.map((u) => `${store}/${u}\0`).join("");
        const r = await conn.exec(duScript(store), { stdin: paths, allowFailure: true, label: `du -sb of ${uids.length} users in ${store}` });
        const problems = r.code === 0 ? [] : duProblems(r.stderr);
        if (r.code !== 0 && (r.code !== 1 || problems.length > 0)) {
          return { node: n.name, sizes: new Map(), error: `[${n.name}] ${problems.join("; ") || `du exited with ${r.code}`}` };
        }
        return { node: n.name, sizes: parseDu(r.stdout, store) };
      } catch (e) {
        return { node: n.name, sizes: new Map(), error: (e as Error).message };
      }
    }),
  );
}

/** uid → rplanHome of every rplanUser entry, as the master has them. */
export async function directoryHomes(cluster: ClusterConfig): Promise<Map<string, string>> {
  const plan = planLdap(cluster);
  const master = cluster.nodes.find((n) => n.name === plan.master)!;
  const conn = await sshConnection({ node: master.name, ...master.ssh });
  const open = sshStreamOpener(conn, { socketPath: DEFAULT_SLAPD_SETTINGS.ldapiSocket });
  return withRootLdap(plan.master, open, async (client) => {
    const { searchEntries } = await client.search(treeDns(plan.suffix).people, {
      scope: "one",
      filter: "(objectClass=rplanUser)",
      attributes: ["uid", "rplanHome"],
      paged: { pageSize: 500 },
    });
    const homes = new Map<string, string>();
    for (const e of searchEntries) {
      const one = (a: string) => {
        const v = e[Object.keys(e).find((k) => k.toLowerCase() === a.toLowerCase()) ?? ""];
        const first = Array.isArray(v) ? v[0] : v;
        return first === undefined ? undefined : Buffer.isBuffer(first) ? first.toString("utf8") : String(first);
      };
      const uid = one("uid");
      if (uid !== undefined) homes.set(uid, one("rplanHome") ?? "");
    }
    return homes;
  });
}

/** Every live node's standby status lines (planning/quantum/standby-status.ts); a node that cannot be read is named in `errors`. */
export async function readStandbyStatus(cluster: ClusterConfig): Promise<{ statuses: StandbyStatus[]; errors: string[] }> {
  const live = cluster.nodes.filter(isLive);
  const results = await Promise.all(
    live.map(async (n) => {
      try {
        const conn = await sshConnection({ node: n.name, ...n.ssh });
        const dir = STANDBY_STATE_DIR;
        const r = await conn.exec(`cat ${shellQuote(dir)}/*.status 2>/dev/null; true`, { label: "standby status" });
        return { statuses: parseStandbyStatus(n.name, r.stdout), error: undefined };
      } catch (e) {
        return { statuses: [], error: `[${n.name}] ${(e as Error).message}` };
      }
    }),
  );
  return { statuses: results.flatMap((r) => r.statuses), errors: results.flatMap((r) => (r.error ? [r.error] : [])) };
}
