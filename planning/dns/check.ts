/**
 * Proving what the name servers really serve: from one node, `dig` asks every server for the names
 * that matter and the answers are judged against the zone the stack planned. Used after every zone
 * change (the DnsCheck provider) and by the lab tests. Pure: the probe's argv, its parser and the
 * judge; running it over SSH is the caller's.
 *
 * Every server must answer the SOA with the serial just written: that proves the new zone is loaded,
 * so an empty answer elsewhere means "withdrawn", not "no zone here" (a server without the zone
 * answers REFUSED, which +short would show as empty too). A revoked node's name must be NXDOMAIN and
 * its address absent from NS, MX, the round-robin names and SPF, on every server.
 */
import { ipFamily, SERVICE_NAMES } from "./validate";
import { dkimRecord, dkimSelector, type ZoneInput, type ZoneNode } from "./zone";
import { isLive, isRevoked, sendsMail, servesClients, servesDns, servesMail } from "../node-roles";

export interface DnsQuery {
  /** Absolute, without the trailing dot. */
  readonly name: string;
  readonly type: "SOA" | "NS" | "MX" | "A" | "AAAA" | "TXT";
}

/** One server's answer to one query, as dig reported it. */
export interface DnsAnswer {
  /** dig's exit code (9: no reply). */
  readonly code: number;
  /** NOERROR, NXDOMAIN, REFUSED, SERVFAIL… (undefined without a reply). */
  readonly status?: string;
  /** rdata of the answer records of the asked type, as dig prints them. */
  readonly records: readonly string[];
}

export interface DnsFinding {
  /** Where the query ran. */
  readonly from: string;
  /** The server asked (its public address). */
  readonly server: string;
  readonly message: string;
  /** Set when the finding is a revoked (or departed) node still being served. */
  readonly revoked?: string;
}

/** The names every server is asked for. */
export function dnsQueries(input: ZoneInput): DnsQuery[] {
  const d = input.domain;
  const q: DnsQuery[] = [
    { name: d, type: "SOA" },
    { name: d, type: "NS" },
    { name: d, type: "MX" },
    { name: d, type: "TXT" },
    { name: `_dmarc.${d}`, type: "TXT" },
  ];
  for (const owner of [d, ...SERVICE_NAMES.map((s) => `${s}.${d}`)]) q.push({ name: owner, type: "A" }, { name: owner, type: "AAAA" });
  for (const n of [...input.nodes].sort((a, b) => (a.name < b.name ? -1 : 1))) {
    q.push({ name: `${n.name}.${d}`, type: ipFamily(n.publicAddress) === 6 ? "AAAA" : "A" }, { name: `${dkimSelector(n.name)}._domainkey.${d}`, type: "TXT" });
  }
  return q;
}

/**
 * The probe run on one node: `dig` (bind9-dnsutils, a client independent of the knot that serves)
 * against every server, without recursion — ONE dig per server carrying every query (one process
 * and one round of UDP per question instead of a process per question: the check runs after every
 * zone change, and a revocation waits for it). Per server a line `S server exit`, then dig's
 * header, question and answer lines prefixed with `R`; the question line ties each reply to its
 * query. Arguments travel as argv, never spliced into the script.
 */
export function dnsProbeArgv(servers: readonly string[], queries: readonly DnsQuery[]): string[] {
  const script = [
    'n=$1; shift; i=0; servers=""',
    'while [ "$i" -lt "$n" ]; do servers="$servers $1"; shift; i=$((i+1)); done',
    "for s in $servers; do",
    '  out=$(dig +noall +comments +question +answer +norecurse +time=1 +tries=2 "@$s" "$@" 2>&1); rc=$?',
    '  printf "S\\t%s\\t%s\\n" "$s" "$rc"',
    '  printf "%s\\n" "$out" | sed -e "/^$/d" -e "s/^/R\\t/"',
    "done",
  ].join("\n");
  return ["sh", "-c", script, "sh", String(servers.length), ...servers, ...queries.flatMap((q) => [q.name, q.type])];
}

/** server → "name type" → answer (a query without a reply is absent; `EXIT` holds dig's exit code). */
export type ProbeResult = Map<string, Map<string, DnsAnswer>>;
export const EXIT = " exit";

export function parseDnsProbe(stdout: string): ProbeResult {
  const out: ProbeResult = new Map();
  let server: Map<string, DnsAnswer> | undefined;
  let reply: { code: number; status?: string; records: string[] } | undefined;
  let asked: { name: string; type: string } | undefined;
  for (const line of stdout.split("\n")) {
    const f = line.split("\t");
    if (f[0] === "S" && f.length >= 3) {
      server = new Map([[EXIT, { code: Number(f[2]), records: [] }]]);
      out.set(f[1], server);
      reply = asked = undefined;
      continue;
    }
    if (f[0] !== "R" || !server) continue;
    const text = f.slice(1).join("\t");
    const status = /^;;.*status: ([A-Z]+)/.exec(text);
    const question = /^;([^;\s]\S*)\s+IN\s+(\S+)\s*$/.exec(text);
    if (status) {
      // each reply starts with its header; its question names the query it answers
      reply = { code: 0, status: status[1], records: [] };
      asked = undefined;
    } else if (question && reply) {
      asked = { name: question[1].replace(/\.$/, "").toLowerCase(), type: question[2] };
      server.set(`${asked.name} ${asked.type}`, reply);
    } else if (!text.startsWith(";") && reply && asked) {
      // name TTL class type rdata…; only the records of the asked name and type (not a CNAME chain)
      const m = /^(\S+)\s+\d+\s+IN\s+(\S+)\s+(.*)$/.exec(text);
      if (m && m[2] === asked.type && m[1].replace(/\.$/, "").toLowerCase() === asked.name) reply.records.push(m[3].trim());
    }
  }
  return out;
}

const sorted = (xs: readonly string[]) => [...xs].sort();
const same = (a: readonly string[], b: readonly string[]) => JSON.stringify(sorted(a)) === JSON.stringify(sorted(b));
const show = (xs: readonly string[]) => (xs.length ? xs.join(", ") : "nothing");
/** dig prints TXT rdata as quoted strings; receivers concatenate them. */
const txtValue = (rdata: string) => [...rdata.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) => m[1]).join("");

/**
 * Every problem with what `server` answered to `from`: the zone must be `input` at `serial`.
 * `gone` are nodes that must appear nowhere (revoked, or removed from the config since the last check).
 */
export function judgeDnsProbe(input: ZoneInput, serial: number, from: string, server: string, answers: ReadonlyMap<string, DnsAnswer> | undefined, gone: readonly ZoneNode[] = []): DnsFinding[] {
  const d = input.domain;
  const findings: DnsFinding[] = [];
  const bad = (message: string, revoked?: string) => findings.push({ from, server, message, ...(revoked ? { revoked } : {}) });
  const get = (name: string, type: string) => answers?.get(`${name.toLowerCase()} ${type}`);
  const soa = get(d, "SOA");
  if (!soa || soa.code !== 0 || soa.status === undefined) return [{ from, server, message: `no answer from the name server (dig exit ${soa?.code ?? answers?.get(EXIT)?.code ?? "not run"})` }];
  if (soa.status !== "NOERROR" || soa.records.length !== 1) return [{ from, server, message: `does not serve ${d} (SOA: ${soa.status}${soa.records.length ? "" : ", no record"})` }];
  const served = Number(soa.records[0].split(/\s+/)[2]);
  if (served !== serial) bad(`serves serial ${served}, expected ${serial} (the new zone is not loaded)`);

  const nameServers = input.nodes.filter(servesDns);
  const mailServers = input.nodes.filter(servesMail);
  const serviceNodes = input.nodes.filter(servesClients);
  const named = input.nodes.filter(isLive);
  const senders = input.nodes.filter(sendsMail);
  const dead = [...input.nodes.filter(isRevoked), ...gone];
  const addrs = (nodes: readonly ZoneNode[], family: 4 | 6) => nodes.filter((n) => ipFamily(n.publicAddress) === family).map((n) => n.publicAddress);
  const expectSet = (name: string, type: string, want: string[]) => {
    const a = get(name, type);
    const got = a?.records ?? [];
    if (!a || a.code !== 0) bad(`${name} ${type}: no answer`);
    else if (!same(got, want)) {
      const stale = dead.find((n) => got.some((r) => r === n.publicAddress || r.endsWith(` ${n.name}.${d}.`) || r === `${n.name}.${d}.`));
      bad(`${name} ${type}: serves ${show(sorted(got))}, expected ${show(sorted(want))}`, stale?.name);
    }
  };
  expectSet(d, "NS", nameServers.map((n) => `${n.name}.${d}.`));
  expectSet(d, "MX", mailServers.map((n) => `10 ${n.name}.${d}.`));
  for (const owner of [d, ...SERVICE_NAMES.map((s) => `${s}.${d}`)]) {
    expectSet(owner, "A", addrs(serviceNodes, 4));
    expectSet(owner, "AAAA", addrs(serviceNodes, 6));
  }
  for (const n of named) expectSet(`${n.name}.${d}`, ipFamily(n.publicAddress) === 6 ? "AAAA" : "A", [n.publicAddress]);
  for (const n of dead) {
    const type = ipFamily(n.publicAddress) === 6 ? "AAAA" : "A";
    const a = get(`${n.name}.${d}`, type);
    if (!a || a.code !== 0) bad(`${n.name}.${d} ${type}: no answer`);
    else if (a.status !== "NXDOMAIN" || a.records.length > 0) bad(`${n.name}.${d} ${type}: ${a.status} ${show(a.records)} (a withdrawn node must be NXDOMAIN)`, n.name);
  }
  // DKIM: a live node's selector serves exactly its current key; a withdrawn node's selector is
  // gone (NXDOMAIN), so mail signed with a seized key stops verifying.
  // Every selector is asked (dnsQueries): a reply missing from the probe is no proof of anything.
  const signing = input.nodes.some((n) => n.dkimPublicKey);
  for (const n of [...senders, ...dead]) {
    const owner = `${dkimSelector(n.name)}._domainkey.${d}`;
    const a = get(owner, "TXT");
    const isDead = dead.includes(n);
    if (!isDead && signing && !n.dkimPublicKey) bad(`${owner} TXT: ${n.name} has no DKIM key in the plan while other nodes sign`);
    if (!a) {
      bad(`${owner} TXT: no answer`, isDead ? n.name : undefined);
      continue;
    }
    const want = !isDead && n.dkimPublicKey ? [dkimRecord(n.dkimPublicKey)] : [];
    const got = a.records.map(txtValue);
    if (a.code !== 0) bad(`${owner} TXT: no answer`);
    else if (isDead && (a.status !== "NXDOMAIN" || got.length > 0)) bad(`${owner} TXT: ${a.status} ${show(got.map((t) => t.slice(0, 40)))} (a withdrawn node's DKIM selector must be NXDOMAIN)`, n.name);
    else if (!same(got, want)) bad(`${owner} TXT: serves ${got.length ? "another DKIM key" : "no DKIM key"}, expected ${want.length ? "the node's current key" : "none"}`);
  }
  const spf = (get(d, "TXT")?.records ?? []).map(txtValue).filter((t) => t.startsWith("v=spf1"));
  if (spf.length !== 1) bad(`${d} TXT: ${spf.length} SPF records, expected 1`);
  else {
    const terms = spf[0].split(" ");
    for (const n of senders) if (!terms.includes(`${ipFamily(n.publicAddress) === 6 ? "ip6" : "ip4"}:${n.publicAddress}`)) bad(`SPF lacks ${n.name} (${n.publicAddress})`);
    for (const n of dead) if (terms.some((t) => t.endsWith(`:${n.publicAddress}`))) bad(`SPF still lists ${n.name} (${n.publicAddress})`, n.name);
  }
  const dmarc = (get(`_dmarc.${d}`, "TXT")?.records ?? []).map(txtValue);
  if (!dmarc.some((t) => t.startsWith("v=DMARC1;"))) bad(`_dmarc.${d} TXT: no DMARC record (${show(dmarc)})`);
  return findings;
}
