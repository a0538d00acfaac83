/**
 * The move's journal in the directory: users' homes and move state, read from any node's replica,
 * written on the master, with `ldapsearch`/`ldapmodify -Y EXTERNAL` over SSH (ops/slapd-control.ts).
 * The directory is what postfix and dovecot read, so it is the truth of where a user lives now; what
 * a move does from each state of it is planning/quantum/protocol.ts.
 */
import { userDn, valuesOf } from "../../planning/ldap";
import type { LdifEntry } from "../../planning/ldap";
import type { JournalEntry } from "../../planning/quantum/protocol";
import { SlapdControl } from "../slapd-control";
import { sleep } from "../../transports/ldap";

/** The route a moving user's mail takes: postfix's `retry` transport (error(8)) defers it, 4xx. */
export const FROZEN_ROUTE = "retry:mailbox-moving";

export interface DirectoryUser extends JournalEntry {
  /** Every address postfix delivers to the user (mail + aliases), lower-case. */
  readonly addresses: readonly string[];
}

function fromEntry(e: LdifEntry): DirectoryUser | undefined {
  const one = (a: string) => valuesOf(e, a)[0];
  const uid = one("uid");
  const home = one("rplanHome");
  if (!uid || !home) return undefined;
  return {
    uid,
    home,
    frozen: (one("rplanUserState") ?? "").toLowerCase() === "frozen",
    addresses: [...valuesOf(e, "mail"), ...valuesOf(e, "rplanMailAlias")].map((a) => a.toLowerCase()),
  };
}

const ATTRS = ["uid", "rplanHome", "rplanUserState", "mail", "rplanMailAlias"];

/** Every rplan user in this replica, by uid. */
export async function readDirectoryUsers(slapd: SlapdControl, suffix: string): Promise<Map<string, DirectoryUser>> {
  const entries = await slapd.search(`ou=people,${suffix}`, { scope: "one", filter: "(objectClass=rplanUser)", attrs: ATTRS });
  const out = new Map<string, DirectoryUser>();
  for (const e of entries) {
    const u = fromEntry(e);
    if (u) out.set(u.uid, u);
  }
  return out;
}

/** One user as this replica has it (undefined: no such user here). */
export async function readDirectoryUser(slapd: SlapdControl, suffix: string, uid: string): Promise<DirectoryUser | undefined> {
  const [e] = await slapd.search(userDn(suffix, uid), { scope: "base", attrs: ATTRS });
  return e ? fromEntry(e) : undefined;
}

/** Freeze (route to `retry`, refuse logins) or unfreeze the user, on the master. */
export async function setFrozen(master: SlapdControl, suffix: string, uid: string, frozen: boolean): Promise<void> {
  const dn = userDn(suffix, uid);
  const current = await readDirectoryUser(master, suffix, uid);
  if (!current) throw new Error(`[${master.node}] user ${uid} is not in the directory`);
  if (current.frozen === frozen) return;
  await master.modify(
    [
      {
        dn,
        change: "modify",
        mods: frozen
          ? [
              { op: "replace", attr: "rplanUserState", values: ["frozen"] },
              { op: "replace", attr: "rplanMailRoute", values: [FROZEN_ROUTE] },
            ]
          : [
              { op: "replace", attr: "rplanUserState", values: [] },
              { op: "replace", attr: "rplanMailRoute", values: [] },
            ],
      },
    ],
    `${frozen ? "freeze" : "unfreeze"} ${uid}`,
  );
}

/** Write the user's new home on the master. */
export async function setHome(master: SlapdControl, suffix: string, uid: string, home: string): Promise<void> {
  await master.modify([{ dn: userDn(suffix, uid), change: "modify", mods: [{ op: "replace", attr: "rplanHome", values: [home] }] }], `home of ${uid} → ${home}`);
}

/**
 * Promotions in one write on the master: each user's new home, unfrozen (a user a seized home's move
 * had frozen cannot finish that move). One `ldapmodify` for any number of users.
 */
export async function setHomesUnfrozen(master: SlapdControl, suffix: string, users: readonly { uid: string; home: string; frozen: boolean }[]): Promise<void> {
  const unfreeze = [
    { op: "replace" as const, attr: "rplanUserState", values: [] },
    { op: "replace" as const, attr: "rplanMailRoute", values: [] },
  ];
  const records = users.map((u) => ({ dn: userDn(suffix, u.uid), change: "modify" as const, mods: [{ op: "replace" as const, attr: "rplanHome", values: [u.home] }, ...(u.frozen ? unfreeze : [])] }));
  await master.modify(records, `homes of ${users.length} user(s)`);
}

/**
 * Wait until every replica shows each user as `want` says, reading each replica's users in one
 * search per round (many users at once: a promotion).
 */
export async function waitReplicasAll(replicas: readonly SlapdControl[], suffix: string, want: ReadonlyMap<string, { home: string; frozen: boolean }>, timeoutMs = 30_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  const pending = new Set(replicas);
  for (;;) {
    await Promise.all(
      [...pending].map(async (r) => {
        const users = await readDirectoryUsers(r, suffix).catch(() => undefined);
        if (users && [...want].every(([uid, w]) => users.get(uid)?.home === w.home && users.get(uid)?.frozen === w.frozen)) pending.delete(r);
      }),
    );
    if (pending.size === 0) return;
    if (Date.now() > until) throw new Error(`replicas ${[...pending].map((r) => r.node).join(", ")} did not show ${want.size} user(s) on their new homes within ${timeoutMs} ms`);
    await sleep(100);
  }
}

/**
 * Wait until every replica shows the user as `want` says (home, frozen). A replica that still has
 * the old state could route a message to the old home after its final sync: the move waits.
 */
export async function waitReplicas(replicas: readonly SlapdControl[], suffix: string, uid: string, want: { home: string; frozen: boolean }, timeoutMs = 30_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  const pending = new Set(replicas);
  for (;;) {
    await Promise.all(
      [...pending].map(async (r) => {
        const u = await readDirectoryUser(r, suffix, uid).catch(() => undefined);
        if (u && u.home === want.home && u.frozen === want.frozen) pending.delete(r);
      }),
    );
    if (pending.size === 0) return;
    if (Date.now() > until) {
      throw new Error(`replicas ${[...pending].map((r) => r.node).join(", ")} did not show ${uid} on ${want.home}${want.frozen ? " (frozen)" : ""} within ${timeoutMs} ms`);
    }
    await sleep(50);
  }
}
