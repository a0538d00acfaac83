/**
 * What the lab's name servers really answer, asked with kdig (knot-dnsutils) on a lab node over SSH:
 * a client of its own, not the `dig` the DnsCheck provider runs, so the tests do not share the code
 * they check. One SSH command per asking node.
 */
import { promises as dnsPromises } from "dns";
import { dkimVerify } from "mailauth/lib/dkim/verify";
import type { SshConnection } from "../../transports/ssh";

export interface Answer {
  /** NOERROR, NXDOMAIN, REFUSED…; "no reply" when kdig got none. */
  readonly status: string;
  /** rdata of the answer's records of the asked type, sorted. */
  readonly records: string[];
}

/** server → "name TYPE" → answer. */
export type Served = Record<string, Record<string, Answer>>;

const SCRIPT = [
  'n=$1; shift; i=0; servers=""',
  'while [ "$i" -lt "$n" ]; do servers="$servers $1"; shift; i=$((i+1)); done',
  'for s in $servers; do for q in "$@"; do',
  '  printf "Q %s %s\\n" "$s" "$q"',
  '  kdig +noall +header +answer +norecurse +timeout=1 +retry=1 "@$s" ${q% *} ${q#* } 2>&1 | sed -e "/^$/d" -e "s/^/R /"',
  "done; done",
].join("\n");

/** Ask every server in `servers` each of `queries` ("name TYPE") from `conn`'s node. */
export async function kdigAll(conn: SshConnection, servers: readonly string[], queries: readonly string[]): Promise<Served> {
  const r = await conn.run(["sh", "-c", SCRIPT, "sh", String(servers.length), ...servers, ...queries], { label: "kdig the zone" });
  const out: Served = {};
  let cur: { status: string; records: string[]; type: string } | undefined;
  for (const line of r.stdout.split("\n")) {
    const q = /^Q (\S+) (\S+) (\S+)$/.exec(line);
    if (q) {
      cur = { status: "no reply", records: [], type: q[3] };
      (out[q[1]] ??= {})[`${q[2]} ${q[3]}`] = cur;
      continue;
    }
    if (!cur || !line.startsWith("R ")) continue;
    const text = line.slice(2);
    const status = /status: ([A-Z]+)/.exec(text);
    if (status) cur.status = status[1];
    const rr = /^\S+\s+\d+\s+IN\s+(\S+)\s+(.*)$/.exec(text);
    if (rr && rr[1] === cur.type) cur.records.push(rr[2].trim());
  }
  for (const byQuery of Object.values(out)) for (const a of Object.values(byQuery)) a.records.sort();
  return out;
}

/** A TXT answer's strings joined, as receivers read SPF and DMARC. */
export const txt = (rdata: string) => [...rdata.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) => m[1]).join("");

/** The queries the tests ask: SOA, NS, MX, SPF, DMARC, the round-robin names and each node's name. */
export function zoneQueries(domain: string, nodes: readonly string[]): string[] {
  return [
    `${domain} SOA`,
    `${domain} NS`,
    `${domain} MX`,
    `${domain} TXT`,
    `_dmarc.${domain} TXT`,
    ...["", "mail.", "imap.", "smtp.", "www."].map((s) => `${s}${domain} A`),
    ...nodes.map((n) => `${n}.${domain} A`),
  ];
}

/** The serial in an SOA answer. */
export const serialOf = (a: Answer | undefined) => Number(a?.records[0]?.split(/\s+/)[2]);

/** A resolver asking only `server` (from this machine, over the lab bridge), in mailauth's shape. */
export function servedBy(server: string): (name: string, type: string) => Promise<string[][]> {
  const resolver = new dnsPromises.Resolver({ timeout: 2000, tries: 2 });
  resolver.setServers([server]);
  return (name, type) => resolver.resolve(name, type) as Promise<string[][]>;
}

/** mailauth's DKIM verdicts on `message`, its keys looked up in the zone `server` serves. */
export async function dkimResults(message: Buffer, server: string): Promise<{ status: { result: string; comment?: string }; selector: string; signingDomain: string }[]> {
  const { results } = await dkimVerify(message, { resolver: servedBy(server) });
  return results as never;
}
