/**
 * A promotion's last step: the spare copies every surviving MX kept (planning/mail/held.ts) of the
 * promoted users' mail are handed to the new homes where the standby copy lacks them — mail that
 * reached the seized home after the standby's last round. Read first on each survivor: its spares
 * and its queue; then, on each new home, the Message-IDs its mailboxes hold (after the queues were
 * read, so a message the queue delivers in between is found there, never handed over twice).
 */
import { HELD_DELIVERY_HEADERS, HELD_DOMAIN, heldDecision, HeldCopy, HeldDecision, parseHeldListing, parseMessageIds, presentSince } from "../../planning/mail/held";
import { parsePendingRecipients } from "../../planning/mail/postqueue";
import { MAIL_USER } from "../../planning/mail/routing";
import type { MoveContext, MoveNode } from "./node";

export interface PromotedUser {
  readonly uid: string;
  /** The new home (a live node). */
  readonly to: string;
  /** Every address the user receives mail at (lower-case). */
  readonly addresses: readonly string[];
}

export type HeldCounts = Record<HeldDecision, number>;

/**
 * Lists each spare (`<uid>/new/<file>`, or `<uid>/<epoch>.<queue id>` kept the old way) with its
 * Message-ID and the queue id of the MX's own Received line, the header's first (one awk for every
 * file, each read to the end of its header), then the queue (`postqueue -j`).
 */
export const HELD_LISTING_SCRIPT = `held="$1"; shift
cd "$held" 2>/dev/null && for uid in "$@"; do for f in "$uid"/[0-9]* "$uid"/new/[0-9]*; do [ -f "$f" ] && printf "%s\\n" "$f"; done; done |
  xargs -r -d '\\n' awk '
    FNR == 1 { print FILENAME "\\t"; mid = ""; qid = ""; h = ""; received = 0 }
    /^\\r?$/ { print FILENAME "\\t" mid "\\t" qid; nextfile }
    /^[^ \\t]/ { h = tolower($0); sub(/:.*/, "", h); if (h == "received") received++ }
    h == "message-id" && mid == "" { v = $0; if (v ~ /^[^ \\t]/) sub(/^[^:]*:/, "", v); sub(/^[ \\t]+/, "", v); sub(/[ \\t\\r]+$/, "", v); mid = v }
    h == "received" && received == 1 && qid == "" && match($0, /[ \\t]id [0-9A-Za-z]+/) { qid = substr($0, RSTART + 4, RLENGTH - 4) }'
echo "--queue--"
postqueue -j 2>/dev/null || true`;

/** A sed script taking the lines `virtual` put above a spare's own header (HELD_DELIVERY_HEADERS) off again. */
export const HELD_STRIP_SED = `1,/^\\r\\?$/{/^\\(${HELD_DELIVERY_HEADERS.join("\\|")}\\): [^ ]*@${HELD_DOMAIN.replace(/\./g, "\\.")}\\r\\?$/d}`;

/** Hands the promoted users' spares over; returns how many went which way. Failures are logged, not thrown: the promotion itself is done. */
export async function handOverHeldCopies(ctx: MoveContext, users: readonly PromotedUser[]): Promise<HeldCounts> {
  const started = Date.now();
  const counts: HeldCounts = { "wait for the queue": 0, "already there": 0, "hand over": 0 };
  const byUid = new Map(users.map((u) => [u.uid, u]));
  // A node whose state predates spare copies has no path for them: nothing to read there.
  const survivors = [...ctx.nodes.values()].filter((n) => n.heldPath !== undefined);
  const listings = await Promise.all(
    survivors.map(async (n) => {
      const r = await n.conn.run(["sh", "-c", HELD_LISTING_SCRIPT, "sh", n.heldPath!, ...users.map((u) => u.uid)], { allowFailure: true, label: "spare copies" });
      const [spares, queue = ""] = r.stdout.split("--queue--\n");
      return { node: n, copies: parseHeldListing(spares).filter((c) => byUid.has(c.uid)), pending: parsePendingRecipients(queue) };
    }),
  );
  const withCopies = new Set(listings.flatMap((l) => l.copies.map((c) => c.uid)));
  if (withCopies.size === 0) return counts;
  // Where the time goes (ms), in the last log line, as the promotion's own line does.
  const listed = Date.now() - started;
  const present = await messageIdsOnNewHomes(ctx, users.filter((u) => withCopies.has(u.uid)), presentSince(listings.flatMap((l) => l.copies)));
  const read = Date.now() - started - listed;
  const handedOver = new Map<string, Set<string>>();
  for (const l of listings) {
    const done: HeldCopy[] = [];
    const give = new Map<string, HeldCopy[]>();
    for (const c of l.copies) {
      const u = byUid.get(c.uid)!;
      const seen = handedOver.get(u.uid) ?? new Set<string>();
      // The same message kept twice (a sender that retried through another MX) is handed over once.
      const decision = c.messageId !== "" && seen.has(c.messageId) ? "already there" : heldDecision(c, u.addresses, l.pending, present.get(u.uid) ?? new Set());
      counts[decision]++;
      if (decision === "already there") done.push(c);
      if (decision !== "hand over") continue;
      if (c.messageId !== "") handedOver.set(u.uid, seen.add(c.messageId));
      give.set(u.to, [...(give.get(u.to) ?? []), c]);
    }
    for (const [to, copies] of give) {
      const saved = await handOver(l.node, ctx.nodes.get(to)!, copies).catch((e: Error) => (ctx.log(`[promote] spare copies on ${l.node.name} could not be handed to ${to}: ${e.message}`), []));
      if (saved.length < copies.length) ctx.log(`[promote] ${copies.length - saved.length} spare copies on ${l.node.name} not handed to ${to}: left in ${l.node.heldPath} on ${l.node.name} for an hour: save them by hand (doveadm save -u <uid>)`);
      done.push(...saved);
    }
    // The list on stdin: an hour of spares may be more names than one command line holds.
    if (done.length > 0) await l.node.conn.run(["sh", "-c", 'cd "$1" && xargs -r -d "\\n" rm -f --', "sh", l.node.heldPath!], { stdin: done.map((c) => `${c.uid}/${c.file}\n`).join(""), allowFailure: true, label: "spare copies handed over" });
  }
  ctx.log(`[promote] spare copies: ${counts["hand over"]} handed over (on no standby), ${counts["already there"]} already there, ${counts["wait for the queue"]} still queued for the new home (${Date.now() - started} ms: spares and queues listed ${listed}, Message-IDs on the new homes ${read}, handed over ${Date.now() - started - listed - read})`);
  return counts;
}

/**
 * Prints `--user <uid>`, then the first Message-ID line of each message file (`cur/`, `new/`, every
 * folder) in the user's Maildir delivered since epoch second $2: a file's mtime is its delivery.
 * Index and cache files, which quote headers too, and half-written files in `tmp/` are not read.
 */
export const NEW_HOME_MESSAGE_IDS_SCRIPT = `store="$1"; since="$2"; shift 2
for u in "$@"; do
  echo "--user $u"
  find "$store/$u/Maildir" -type f \\( -path '*/cur/*' -o -path '*/new/*' \\) -newermt "@$since" -print0 2>/dev/null | xargs -0 -r grep -h -i -m 1 "^message-id:"
done`;

/** uid → the Message-IDs in every folder of its mailbox on its new home since `since` (one command per new home). */
async function messageIdsOnNewHomes(ctx: MoveContext, users: readonly PromotedUser[], since: number): Promise<Map<string, Set<string>>> {
  const out = new Map<string, Set<string>>();
  const byHome = new Map<string, string[]>();
  for (const u of users) byHome.set(u.to, [...(byHome.get(u.to) ?? []), u.uid]);
  await Promise.all(
    [...byHome].map(async ([home, uids]) => {
      // Read from the Maildir files' headers (each file up to its first Message-ID line), of the last
      // hour or so only: a doveadm per user costs a tenth of a second, and a mailbox may hold years.
      const node = ctx.nodes.get(home)!;
      const r = await node.conn.run(["sh", "-c", NEW_HOME_MESSAGE_IDS_SCRIPT, "sh", node.storePath, String(since), ...uids], { allowFailure: true, label: "Message-IDs on the new home" });
      for (const part of r.stdout.split("--user ").slice(1)) {
        const nl = part.indexOf("\n");
        out.set(part.slice(0, nl === -1 ? undefined : nl).trim(), parseMessageIds(part.slice(nl + 1)));
      }
    }),
  );
  return out;
}

/**
 * Spares from one survivor into their users' INBOXes on one new home, in one command on each side:
 * written the way Maildir takes mail from any deliverer (a file in `tmp/`, renamed into `new/`, owned
 * by the mail user), which dovecot indexes at its next look — no re-sending, no signature, about a
 * millisecond a message. A user without a Maildir there yet (an empty start) gets `doveadm save`,
 * which creates it. Carried as base64, one message per line: a message may hold 8-bit text in any
 * charset. Returns the spares saved.
 */
async function handOver(from: MoveNode, to: MoveNode, copies: readonly HeldCopy[]): Promise<HeldCopy[]> {
  // Without the lines `virtual` put above the spare's own header (HELD_STRIP_SED).
  const read = 'cd "$1" && while read -r f; do printf "%s " "${f%%/*}"; LC_ALL=C sed -e "$2" -- "$f" | base64 -w 0; echo; done';
  const msgs = await from.conn.run(["sh", "-c", read, "sh", from.heldPath!, HELD_STRIP_SED], { stdin: copies.map((c) => `${c.uid}/${c.file}\n`).join(""), label: `${copies.length} spare copies` });
  const save = [
    'store="$1"; owner="$2"; i=0; now=$(date +%s)',
    'while read -r u b; do',
    '  d="$store/$u/Maildir"; f="$now.R$i-$$.rplan-spare"',
    '  if [ -d "$d/new" ] && [ -d "$d/tmp" ]; then',
    '    printf "%s" "$b" | base64 -d > "$d/tmp/$f" && chown "$owner:$owner" "$d/tmp/$f" && mv "$d/tmp/$f" "$d/new/$f" && echo "saved $i"',
    '  elif printf "%s" "$b" | base64 -d | doveadm save -u "$u" -m INBOX; then echo "saved $i"; fi',
    '  i=$((i+1))',
    'done',
  ].join("\n");
  const r = await to.conn.run(["sh", "-c", save, "sh", to.storePath, MAIL_USER], { stdin: msgs.stdout, allowFailure: true, label: `${copies.length} spare copies into INBOXes` });
  const saved = new Set(r.stdout.split("\n").filter((l) => l.startsWith("saved ")).map((l) => Number(l.slice(6))));
  return copies.filter((_, i) => saved.has(i));
}
