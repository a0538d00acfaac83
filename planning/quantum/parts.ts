/**
 * What a user's quantum is made of: the parts a move carries from the old home to the new one
 * (planning/quantum/protocol.ts), each saying how it is copied while the user works and once more
 * while the user is frozen, how both copies are found equal before the switch, and what must be
 * idle before the last copy. Pure description; each built part has its copier in ops/quantum/
 * (mail: mailbox-copy.ts, its store on a node: mail-store.ts).
 *
 * Today a quantum is its mailbox. Sites and lists join it (docs/ARCHITECTURE.md: planning/sites/,
 * planning/lists/); each is one more part here, with its copier beside the mailbox's, and the
 * protocol's steps stay as they are: every part is bulk-copied before the freeze, synced and
 * compared in the final sync, and the switch waits for all of them.
 */
import { userStoreDir } from "../mail/move-channel";

export type PartName = "mail" | "site-files" | "site-db" | "lists";

export interface QuantumPart {
  readonly name: PartName;
  readonly what: string;
  /** The bulk copy and the final sync. */
  readonly copiedBy: string;
  /** How the move knows both copies are equal before the switch. */
  readonly comparedBy: string;
  /** What must be idle before the final sync, besides the freeze itself. */
  readonly idleWhen: string;
  /** Whether a move carries it today. */
  readonly built: boolean;
}

/** The user's mailbox: what a move carries today. */
export const MAIL: QuantumPart = {
  name: "mail",
  what: "the user's mail directory on its home: <store>/<uid> (dovecot's home: the Maildir and the sieve scripts below it; the store is <encrypted mount>/mail)",
  copiedBy: "`doveadm backup` (dsync) from the old home to the new one's doveadm server over the VPN (planning/mail/move-channel.ts), flags and UIDs kept, the sieve scripts and which one is active with them (Pigeonhole's doveadm plugin), repeated until clean; the final sync goes on from the state the bulk copy printed",
  comparedBy: "`doveadm mailbox status` on both copies: messages, UIDNEXT, UIDVALIDITY and GUID per folder, from the index alone (planning/mail/doveadm.ts)",
  idleWhen: "no queue manager on any node is delivering to the user (`postqueue -j`, planning/mail/postqueue.ts) and the user's IMAP/POP sessions are ended",
  built: true,
};

/** Every part of a quantum, those to come included (not built: no move carries them yet). */
export const QUANTUM_PARTS: readonly QuantumPart[] = [
  MAIL,
  {
    name: "site-files",
    what: "the user's web site files, served by the home (other nodes redirect to it)",
    copiedBy: "rsync over the VPN while the site serves, once more while frozen",
    comparedBy: "both trees' file lists with sizes and modification times",
    idleWhen: "no upload or deployment to the site is running",
    built: false,
  },
  {
    name: "site-db",
    what: "the site's database",
    copiedBy: "a dump on the old home loaded on the new one while frozen (a bulk copy first if the database is big)",
    comparedBy: "per-table row counts and checksums of both",
    idleWhen: "the site is frozen (read-only) so nothing writes the database",
    built: false,
  },
  {
    name: "lists",
    what: "the user's mailing lists: their configuration and archives (active on one node at a time; membership lives in the directory and does not move)",
    copiedBy: "like site files (rsync over the VPN, once more while frozen)",
    comparedBy: "both trees' file lists with sizes and modification times",
    idleWhen: "no list delivery is in flight (the list's mail is deferred like a mailbox's)",
    built: false,
  },
];

/** The parts a move carries today. */
export const MOVED_PARTS: readonly QuantumPart[] = QUANTUM_PARTS.filter((p) => p.built);

/** Where the mail part of a user's quantum lies in a node's mail store. */
export const mailDir = userStoreDir;
