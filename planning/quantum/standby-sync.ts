/**
 * The standby copy of every user's mailbox, kept by its home: one-way replication home → standby over
 * the VPN, on the channel moves already use (`doveadm backup` to the standby's doveadm server,
 * planning/mail/move-channel.ts). Pure renderers: the dovecot settings that report each change, the
 * replicator (a shell loop run by systemd), its settings and the map of standbys. Docs: docs/seizure.md.
 *
 * Why not dovecot's own replicator: it runs `doveadm sync`, two-way, so a change written on a seized
 * standby would flow back into the home; and dovecot 2.4 removed it. What is kept of it is its
 * trigger: the `replication` plugin writes `<user>\t<priority>` into `<base_dir>/replication-notify-fifo`
 * 0.5 s after every change a user makes or a delivery brings (never for a dsync's own writes), and
 * rplan's replicator reads that fifo instead of dovecot's aggregator. A periodic pass over every user
 * homed here catches what a notification missed (a fifo that was full, a standby that was down).
 *
 * Lag: per user, from the first change not yet on the standby to the end of the backup that carried
 * it; each user's status line is written into the state directory (inside the encrypted mount).
 */
import type { DaemonContribution, DaemonFile } from "../mail/contribution";
import { DOVEADM_PORT } from "../mail/move-channel";
import { ldapiUrl, MAIL_USER } from "../mail/routing";
import { NODE_NAME, USER_ID } from "../names";

export const STANDBY_SCRIPT = "/usr/local/lib/rplan/standby-sync";
export const STANDBY_CONF = "/etc/rplan/standby.conf";
export const STANDBY_MAP = "/etc/rplan/standby.map";
/** dsync states and status lines: in memory (planning/quantum/standby-sync.sh says why). */
export const STANDBY_STATE_DIR = "/run/rplan-standby";
/** dovecot's base_dir (Debian) and the plugin's fixed name in it. */
export const NOTIFY_FIFO = "/run/dovecot/replication-notify-fifo";
/** Seconds between passes over every user homed here. */
export const DEFAULT_PASS_SECONDS = 300;

/**
 * What the home's dovecot adds: every change of a user's mail is reported on the fifo, and the
 * replicator runs as dovecot's `aggregator` service. Dovecot defines that service (and its
 * replicator) built in, listening on the very fifo the plugin writes: left alone, it reads half the
 * notifications and hands them to a `doveadm sync` that fails (seen on the lab: "-N parameter requires
 * syncing with remote host"). So rplan's replicator takes its place: dovecot keeps one running
 * (`process_min_avail`), starts it after the mount is unlocked and stops it with dovecot.
 */
export function standbyNotifyContribution(): DaemonContribution {
  return {
    feature: "standby",
    dovecot: {
      notes: ["every change of a mailbox is reported to rplan's standby replicator, run as the aggregator service (docs/seizure.md)"],
      // Any non-empty mail_replica turns the plugin on; the replicator reads the target from its map.
      settings: { mail_plugins: "$mail_plugins notify replication" },
      sections: [
        { name: "plugin", settings: { mail_replica: "rplan-standby" } },
        {
          name: "service aggregator",
          settings: { executable: STANDBY_SCRIPT, user: "root", chroot: "", process_min_avail: "1", process_limit: "1", client_limit: "1" },
          sections: [{ name: "fifo_listener replication-notify-fifo", settings: { mode: "0600", user: MAIL_USER } }],
        },
      ],
    },
  };
}

export interface StandbySyncInput {
  /** This node. */
  readonly self: string;
  readonly suffix: string;
  readonly ldapiSocket: string;
  /** Where the replicator keeps dsync states and status lines (STANDBY_STATE_DIR, a tmpfs). */
  readonly stateDir: string;
  /** Where users' mailboxes are on this node (`<store>/<uid>`). */
  readonly storePath: string;
  /** uid → standby node, for every placed user (the replicator acts only for users the directory homes here). */
  readonly standbys: Readonly<Record<string, string>>;
  /** Node name → VPN address, for every node a standby may name. */
  readonly vpnAddresses: Readonly<Record<string, string>>;
  readonly passSeconds?: number;
  /** The replicator's text (planning/quantum/standby-sync.sh, read by the component: this module does no I/O). */
  readonly script: string;
}

export function standbySyncProblems(i: StandbySyncInput): string[] {
  const problems: string[] = [];
  const PATH = /^\/[A-Za-z0-9._/-]+$/;
  if (!NODE_NAME.test(i.self)) problems.push(`standby replicator: ${JSON.stringify(i.self)} is not a node name`);
  if (!/^dc=[a-z0-9-]+(,dc=[a-z0-9-]+)*$/i.test(i.suffix)) problems.push(`standby replicator: suffix ${JSON.stringify(i.suffix)} is not a dc= suffix`);
  for (const [what, p] of [["state directory", i.stateDir], ["store", i.storePath], ["ldapi socket", i.ldapiSocket]] as const) if (!PATH.test(p) || p.split("/").includes("..")) problems.push(`standby replicator: ${what} ${JSON.stringify(p)} is not an absolute path`);
  for (const [u, n] of Object.entries(i.standbys)) {
    if (!USER_ID.test(u)) problems.push(`standby replicator: ${JSON.stringify(u)} is not a user id`);
    if (!Object.hasOwn(i.vpnAddresses, n)) problems.push(`standby replicator: ${u}'s standby ${JSON.stringify(n)} has no VPN address`);
  }
  for (const [n, a] of Object.entries(i.vpnAddresses)) if (!NODE_NAME.test(n) || !/^(\d{1,3}\.){3}\d{1,3}$/.test(a)) problems.push(`standby replicator: ${JSON.stringify(n)} → ${JSON.stringify(a)} is not a node and an IPv4 address`);
  const pass = i.passSeconds ?? DEFAULT_PASS_SECONDS;
  if (!Number.isSafeInteger(pass) || pass < 5 || pass > 86400) problems.push(`standby replicator: passSeconds must be 5..86400 (got ${pass})`);
  return problems;
}

/** The map: `uid standby-node standby-vpn-address`, one user per line, sorted (small diffs). */
export function renderStandbyMap(i: Pick<StandbySyncInput, "standbys" | "vpnAddresses">): string {
  const lines = Object.keys(i.standbys)
    .sort()
    .map((u) => `${u} ${i.standbys[u]} ${i.vpnAddresses[i.standbys[u]]}`);
  return `# uid standby vpn-address — generated by rplan from the placement file; read by ${STANDBY_SCRIPT}\n${lines.join("\n")}${lines.length ? "\n" : ""}`;
}

/** The replicator's files on one node (the map is written apart: ./standby-sync.ts renderStandbyMap, by the placement). */
export function renderStandbySync(i: Omit<StandbySyncInput, "standbys">): { files: DaemonFile[]; reload: string[][] } {
  const problems = standbySyncProblems({ ...i, standbys: {} });
  if (problems.length > 0) throw new Error(`invalid standby replicator input:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
  const conf =
    `# generated by rplan: the standby replicator of ${i.self} (docs/seizure.md)\n` +
    `SELF=${i.self}\nSUFFIX=${i.suffix}\nLDAPI=${ldapiUrl(i.ldapiSocket)}\nSTATE_DIR=${i.stateDir}\nSTORE=${i.storePath}\n` +
    `MAP=${STANDBY_MAP}\nFIFO=${NOTIFY_FIFO}\nPORT=${DOVEADM_PORT}\nPASS_SECONDS=${i.passSeconds ?? DEFAULT_PASS_SECONDS}\nMAIL_USER=${MAIL_USER}\n`;
  return {
    files: [
      { path: STANDBY_SCRIPT, content: i.script, mode: "0755" },
      { path: STANDBY_CONF, content: conf },
    ],
    // A reload makes dovecot start a new replicator (new script, new settings); the old one sees it and leaves.
    reload: [["systemctl", "try-reload-or-restart", "dovecot"]],
  };
}

