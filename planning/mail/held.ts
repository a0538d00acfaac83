/**
 * "Delivered twice" (the R*Plan): the standby copy trails its home by the replication lag, so a
 * message that reached a home moments before the home was seized may be on no standby yet. Every
 * MX therefore keeps, inside its encrypted mount, a spare copy of each message it accepts for a user
 * homed on another node, for HELD_MINUTES. When a revocation promotes a seized home's users, each
 * surviving node hands over the spares the new home lacks (ops/quantum/held.ts), so no message a
 * survivor acknowledged is lost to the lag. Pure: the postfix settings, the script that keeps a copy,
 * and the decision of what a promotion does with each spare.
 *
 * How a spare is made: `recipient_bcc_maps` adds `<uid>@held.rplan.invalid` for a recipient homed
 * elsewhere (looked up in the node's own replica), the transport map sends that domain to the
 * `rplan_held` pipe, which writes `<mount>/held/<uid>/<epoch>.<queue id>` as the mail user.
 * Postfix gives automatic BCC recipients no delivery notifications, and the script never fails a
 * delivery: a spare that cannot be kept is logged and the message itself goes on to its home.
 */
import type { DaemonFile, MasterService } from "./contribution";

/** The address domain of spare copies: never a real domain (RFC 2606 `.invalid`). */
export const HELD_DOMAIN = "held.rplan.invalid";
export const HELD_TRANSPORT = "rplan_held";
/** How long a spare is kept: far above the replication lag (seconds; a failing standby is reported). */
export const HELD_MINUTES = 60;
export const HELD_SCRIPT = "/etc/postfix/rplan/keep-held-copy";

/** Where a node keeps its spares: beside the queue and the store, inside the encrypted mount. */
export function heldDirOf(mountPath: string): string {
  return `${mountPath}/held`;
}

/** The pipe that keeps a spare: one recipient per run (`${user}` is the uid), run as the mail user. */
export function heldTransport(mountPath: string, mailUser: string): MasterService {
  return {
    service: HELD_TRANSPORT,
    type: "unix",
    unpriv: "n",
    chroot: "n",
    command: `pipe flags=R user=${mailUser} argv=${HELD_SCRIPT} ${heldDirOf(mountPath)} \${user} \${queue_id}`,
  };
}

/** main.cf settings of the spares: the BCC map, one recipient per pipe run. */
export function heldMainSettings(bccMap: string): Record<string, string> {
  return { recipient_bcc_maps: bccMap, [`${HELD_TRANSPORT}_destination_recipient_limit`]: "1" };
}

/** The transport table entry that sends every spare to the pipe (listed before the directory's). */
export const HELD_TRANSPORT_MAP = `inline:{ ${HELD_DOMAIN}=${HELD_TRANSPORT}: }`;

/**
 * The script the pipe runs. It must never fail the delivery (exit 0 always, stdin always read): the
 * spare is a second copy, the message goes to its home whatever happens here. It writes only while
 * the encrypted mount is mounted, never onto the plain disk, and prunes spares older than
 * HELD_MINUTES at most once a minute.
 */
export function keepHeldCopyScript(): DaemonFile {
  const content = `#!/bin/sh
# rplan: keep a spare copy of a message accepted for a user homed on another node, for ${HELD_MINUTES} minutes
# (planning/mail/held.ts, docs/seizure.md "Delivered twice"). Run by postfix's ${HELD_TRANSPORT} pipe as the mail user.
held="$1"; uid="$2"; qid="$3"
mount="\${held%/*}"
dir="$held/$uid"
if mountpoint -q "$mount" && mkdir -p "$dir" && cat > "$dir/.$qid.tmp" && mv "$dir/.$qid.tmp" "$dir/$(date +%s).$qid"; then
  :
else
  cat > /dev/null
  rm -f "$dir/.$qid.tmp" 2>/dev/null
  logger -t rplan-held "no spare copy kept for queue id $qid" 2>/dev/null
fi
if mountpoint -q "$mount" && [ -z "$(find "$held/.pruned" -mmin -1 2>/dev/null)" ]; then
  touch "$held/.pruned"
  find "$held" -mindepth 2 -type f -mmin +${HELD_MINUTES} -delete 2>/dev/null
  find "$held" -mindepth 1 -maxdepth 1 -type d -empty -delete 2>/dev/null
fi
exit 0
`;
  return { path: HELD_SCRIPT, content, mode: "0755" };
}

/** One spare on a surviving node, as its listing reads it. */
export interface HeldCopy {
  readonly uid: string;
  /** The file's name in `<held>/<uid>/`: `<epoch>.<queue id>`. */
  readonly file: string;
  /** The accepting MX's queue id (the same queue file delivered the message to its home). */
  readonly queueId: string;
  /** The message's Message-ID, "" when it has none. */
  readonly messageId: string;
}

export type HeldDecision = "wait for the queue" | "already there" | "hand over";

/**
 * What a promotion does with one spare on a surviving node:
 * - the node's queue still holds the message for the user (`pendingFor`: queue id → the addresses
 *   not yet delivered): the queue delivers it to the new home — the spare is not needed;
 * - the new home's mailbox already has its Message-ID (`present`, read after the queue): it was
 *   replicated in time — nothing to do;
 * - otherwise the message reached the seized home only: the spare is handed to the new home. A
 *   message without a Message-ID cannot be recognised, so it is handed over too: a duplicate is
 *   better than a loss.
 */
export function heldDecision(copy: HeldCopy, userAddresses: readonly string[], pendingFor: ReadonlyMap<string, readonly string[]>, present: ReadonlySet<string>): HeldDecision {
  const pending = pendingFor.get(copy.queueId) ?? [];
  if (pending.some((a) => userAddresses.includes(a.toLowerCase()))) return "wait for the queue";
  if (copy.messageId !== "" && present.has(copy.messageId)) return "already there";
  return "hand over";
}

/**
 * Parses the listing ops/quantum/held.ts prints: `<uid>/<file>\t` when a spare's file is opened, then
 * `<uid>/<file>\t<message-id>` once its Message-ID is found (the last line of a file wins).
 */
export function parseHeldListing(out: string): HeldCopy[] {
  const ids = new Map<string, string>();
  for (const l of out.split("\n")) {
    const tab = l.indexOf("\t");
    if (tab < 0) continue;
    ids.set(l.slice(0, tab), l.slice(tab + 1).trim());
  }
  return [...ids]
    .filter(([name]) => /^[^/]+\/\d+\.[^/]+$/.test(name))
    .map(([name, messageId]) => {
      const [uid, file] = name.split("/");
      return { uid, file, queueId: file.slice(file.indexOf(".") + 1), messageId };
    });
}

/** `grep -h -i -m 1 '^message-id:'` over a user's Maildir files → the Message-IDs (one `Message-ID: <…>` line per message). */
export function parseMessageIds(out: string): Set<string> {
  return new Set(
    out
      .split("\n")
      .map((l) => /^message-id:(.*)$/i.exec(l.trim())?.[1]?.trim() ?? "")
      .filter((m) => m !== ""),
  );
}
