/**
 * What postfix's `postqueue -j` says, read (one JSON object per queued message and line). Pure; run
 * by ops/quantum/mailbox-copy.ts before a move's final sync.
 */

/**
 * Queue IDs of messages for `addresses` that a queue manager is delivering right now (queue_name
 * "active"): a delivery in flight to the old home must land before the final sync, or it would be
 * left behind in the old copy.
 */
export function activeDeliveries(postqueueJson: string, addresses: readonly string[]): string[] {
  const wanted = new Set(addresses.map((a) => a.toLowerCase()));
  const ids: string[] = [];
  for (const line of postqueueJson.split("\n")) {
    if (line.trim() === "") continue;
    const m = JSON.parse(line) as { queue_name?: string; queue_id?: string; recipients?: { address?: string }[] };
    if (m.queue_name !== "active") continue;
    if ((m.recipients ?? []).some((r) => wanted.has(String(r.address ?? "").toLowerCase()))) ids.push(String(m.queue_id));
  }
  return ids;
}

/** `postqueue -j` → queue id → the recipients not yet delivered (lower-case). */
export function parsePendingRecipients(out: string): Map<string, string[]> {
  const pending = new Map<string, string[]>();
  for (const line of out.split("\n")) {
    if (!line.trim()) continue;
    try {
      const m = JSON.parse(line) as { queue_id?: string; recipients?: { address?: string }[] };
      if (m.queue_id) pending.set(m.queue_id, (m.recipients ?? []).map((r) => (r.address ?? "").toLowerCase()));
    } catch {
      // A line postqueue did not finish: its message is treated as not queued (ops/quantum/held.ts then looks for it on the new home).
    }
  }
  return pending;
}
