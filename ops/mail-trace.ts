/**
 * Following a message through the cluster (`npm run mail -- trace <message-id>`): which node
 * accepted it, where it was routed and where it was delivered, from every live node's postfix and
 * dovecot lines in its one log, /var/log/rplan.log (rotated files included; the journal keeps
 * nothing). That log masks every mail address (`*@domain`) and zeroes every IP address but keeps
 * Message-IDs whole (docs/anonymity.md): a message is found by its Message-ID, never by its
 * recipient. Reading and matching the log lines is pure and tested; only `collectMailLogs` contacts
 * nodes (over SSH, never a revoked node).
 */
import { HELD_TRANSPORT } from "../planning/mail/held";
import type { ClusterConfig } from "../planning/config";
import { logSinceCommand } from "../planning/logs";
import { sshConnection } from "../transports/ssh";
import { isLive } from "../planning/node-roles";

/** One line of the log (RSYSLOG_FileFormat): `<time> <host> <ident>[<pid>]: <text>` (dovecot's without `[<pid>]`). */
export interface LogLine {
  readonly node: string;
  readonly time: string;
  readonly ident: string;
  readonly text: string;
}

export interface TraceRow {
  readonly node: string;
  readonly time: string;
  /** postfix queue id (or `-` for a refusal before queueing, or dovecot's delivery). */
  readonly queueId: string;
  readonly event: "accepted" | "refused" | "routed" | "deferred" | "delivered" | "bounced" | "queued";
  readonly detail: string;
}

// dovecot logs through syslog without its pid (`dovecot: lmtp(*)…`), postfix with it.
const LINE = /^(\S+)\s+\S+\s+([A-Za-z0-9/_.-]+)(?:\[\d+\])?:\s+(.*)$/;
const QUEUE_ID = /^([0-9A-F]{6,}|[0-9B-DF-HJ-NP-TV-Zb-df-hj-np-tv-z]{10,}):\s+(.*)$/;

/** The lines of one node's log, parsed (lines of other shapes are skipped). */
export function parseLog(node: string, text: string): LogLine[] {
  const out: LogLine[] = [];
  for (const raw of text.split("\n")) {
    const m = LINE.exec(raw);
    if (m) out.push({ node, time: m[1], ident: m[2], text: m[3] });
  }
  return out;
}

const field = (text: string, name: string) => new RegExp(`(?:^|[ ,])${name}=<([^>]*)>`).exec(text)?.[1];
const bare = (s: string) => s.replace(/^<|>$/g, "").toLowerCase();

/**
 * The rows of every message matching `query` — a Message-ID (with or without angle brackets) or a
 * recipient address — on every node, in time order. The nodes' logs mask recipients, so on them only
 * a Message-ID matches; an address matches only lines that still hold it whole.
 */
export function traceMessages(lines: readonly LogLine[], query: string): TraceRow[] {
  const q = bare(query);
  const byQueue = new Map<string, LogLine[]>(); // node/queueId → lines
  const messageIds = new Map<string, string>(); // node/queueId → message-id
  const rows: TraceRow[] = [];
  for (const l of lines) {
    const m = QUEUE_ID.exec(l.text);
    if (!m || !l.ident.startsWith("postfix/")) continue;
    const key = `${l.node}/${m[1]}`;
    byQueue.set(key, [...(byQueue.get(key) ?? []), l]);
    const id = field(m[2], "message-id");
    if (id !== undefined) messageIds.set(key, bare(id));
  }
  const wanted = new Set<string>();
  for (const [key, ls] of byQueue) {
    if (messageIds.get(key) === q || ls.some((l) => [field(l.text, "to"), field(l.text, "orig_to")].some((a) => a !== undefined && bare(a) === q))) wanted.add(key);
  }
  const ids = new Set([...wanted].map((k) => messageIds.get(k)).filter((x): x is string => !!x));
  if (ids.size === 0 && q.length > 0) ids.add(q);

  for (const key of wanted) {
    const queueId = key.slice(key.indexOf("/") + 1);
    for (const l of byQueue.get(key)!) {
      const text = l.text.slice(queueId.length + 2);
      const base = { node: l.node, time: l.time, queueId };
      if (/^client=/.test(text)) rows.push({ ...base, event: "accepted", detail: `${l.ident.replace(/^postfix\//, "")} ${text}` });
      else if (/^message-id=/.test(text)) rows.push({ ...base, event: "queued", detail: text });
      else if (/ status=/.test(text)) {
        const status = /status=(\w+)/.exec(text)![1];
        const relay = /relay=([^,]+)/.exec(text)?.[1] ?? "?";
        const reason = /status=\w+ \((.*)\)$/.exec(text)?.[1] ?? "";
        const event = status === "sent" ? "routed" : status === "bounced" ? "bounced" : "deferred";
        // The spare copy an MX keeps for an hour (planning/mail/held.ts) is not a route to the user.
        const spare = relay === HELD_TRANSPORT ? " — a spare copy kept on this node for an hour (docs/seizure.md)" : "";
        rows.push({ ...base, event, detail: `to ${field(text, "to")} via ${relay}: ${status}${reason ? ` (${reason})` : ""}${spare}` });
      }
    }
  }
  for (const l of lines) {
    const refused = /^NOQUEUE: reject: RCPT from (\S+): (\d{3} .*?); from=<[^>]*> to=<([^>]*)>/.exec(l.text);
    if (refused && bare(refused[3]) === q) rows.push({ node: l.node, time: l.time, queueId: "-", event: "refused", detail: `${refused[2]} (client ${refused[1]})` });
    // Without a sieve script dovecot says "saved mail to INBOX"; through sieve (rplan's Junk rule runs
    // for every message) "sieve: … stored mail into mailbox 'X'", or a fileinto's, or a discard.
    const saved = /^lmtp\(([^)]+)\).*?msgid=<([^>]*)>: (?:saved mail to (.*)|(?:fileinto action: )?stored mail into mailbox '(.*)'|(marked message to be discarded).*)$/.exec(l.text);
    if (l.ident === "dovecot" && saved && ids.has(bare(saved[2]))) {
      rows.push({ node: l.node, time: l.time, queueId: "-", event: "delivered", detail: saved[5] ? `discarded by ${saved[1]}'s sieve filter` : `into ${saved[1]}'s ${saved[3] ?? saved[4]}` });
    }
  }
  return rows.sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : 0));
}

/** The trace as a table. */
export function formatTrace(rows: readonly TraceRow[]): string {
  if (rows.length === 0) {
    return "no node has a record of that message. A recipient cannot be traced: the logs keep no full mail address (`*@domain`, docs/anonymity.md); trace the message by its Message-ID";
  }
  const head = ["NODE", "TIME", "QUEUE ID", "EVENT", "DETAIL"];
  const cells = rows.map((r) => [r.node, r.time, r.queueId, r.event, r.detail]);
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  return [head, ...cells].map((c) => c.map((v, i) => (i === c.length - 1 ? v : v.padEnd(widths[i]))).join("  ")).join("\n");
}

/** postfix's programs, under any service name (`submission/smtpd`, `clean_submission/cleanup`, `rplan-lmtp/lmtp`, `rplan_held/virtual` — the spares). */
const MAIL_PROGRAMS = ["smtpd", "cleanup", "qmgr", "smtp", "lmtp", "bounce", "error", "retry", "pipe", "virtual"];

/** postfix and dovecot lines of the last `days` days (rotated files included), in a form `parseLog` reads. */
export const LOG_COMMAND = (days: number) => `${logSinceCommand(`${days} days ago`)} | grep -E '^[^ ]+ [^ ]+ (dovecot|postfix/([A-Za-z0-9_.-]+/)?(${MAIL_PROGRAMS.join("|")}))(\\[[0-9]+\\])?: ' || true`;

/** Every live node's mail log (a node that cannot be reached is named in `unreachable`). */
export async function collectMailLogs(cluster: ClusterConfig, days = 7): Promise<{ lines: LogLine[]; unreachable: string[] }> {
  const live = cluster.nodes.filter(isLive);
  const unreachable: string[] = [];
  const parts = await Promise.all(
    live.map(async (n) => {
      try {
        const conn = await sshConnection({ node: n.name, ...n.ssh });
        const r = await conn.exec(LOG_COMMAND(days), { allowFailure: true });
        return parseLog(n.name, r.stdout);
      } catch {
        unreachable.push(n.name);
        return [];
      }
    }),
  );
  return { lines: parts.flat(), unreachable };
}
