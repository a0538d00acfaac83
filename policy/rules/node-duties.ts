/**
 * Rules: what every active node must do (issue #14 item 7), read from the resources the program
 * registers for it. An active node that doesn't serve the zone breaks the round-robin names that
 * point at it; one that sends unsigned mail is marked as spam; one whose submission or logs keep
 * client addresses gives them away with the server. Each is a stack rule (it needs the whole set of
 * resources to see that one is missing), advisory by default and mandatory in
 * policy/prod-config.json.
 *
 * Resources are found by the names the program gives them (index.ts and components/): a rename
 * there must be made here too, and these rules' tests fail until it is. Draining nodes are left
 * out (they serve no zone and accept no mail); revoked nodes have no NodeHost.
 */
import { KNOT_CONF, KNOT_STORAGE } from "../../planning/dns/knot";
import { JOURNALD_DROP_IN, RSYSLOG_DROP_IN } from "../../planning/logs/anonymity";
import { SUBMISSION_CLEANUP, SUBMISSION_HEADER_CHECKS } from "../../planning/mail/anonymity";
import { POSTFIX_MAIN_CF, POSTFIX_MASTER_CF } from "../../planning/mail/postfix-config";
import { RSPAMD_MILTER, RSPAMD_PROXY_CONF } from "../../planning/mail/spam";
import { DUTY_NAMES } from "../../planning/services";
import { generationPlaceProblem } from "./key-generation";
import { NodeIndex, NodeInfo, sameMount, showMount } from "./nodes";
import { DKIM_KEY, DNS_CHECK, HOST_FILES, mountProblem } from "./shapes";
import { Report, ResourceDesc, RuleOutput } from "./types";
import { at, isUnknown } from "./values";
import { isNodeState, servesClients } from "../../planning/node-roles";

/** The names the program registers for each service's duties (planning/services: their descriptors name them). */
export { DUTY_NAMES };

/** The active nodes; a node whose name or state isn't known yet is reported as unknown and skipped. */
function activeNodes(resources: readonly ResourceDesc[], rep: Report, what: string): NodeInfo[] {
  const out: NodeInfo[] = [];
  for (const n of new NodeIndex(resources).nodes) {
    if (isUnknown(n.desc.props.node) || isUnknown(n.state)) rep.unknown(n.desc, [isUnknown(n.desc.props.node) ? "node" : "state"], `whether a node is active (and so must ${what})`);
    else if (isNodeState(n.state) && servesClients(n.state)) out.push(n);
  }
  return out;
}

type Files = { readonly unknown: true } | { readonly files: ReadonlyMap<string, unknown> };

/**
 * The HostFiles `name` on `node`, and its files by path (content as given: a string or unknown).
 * Returns a sentence saying what is wrong instead when it is missing or isn't that node's.
 */
function hostFiles(resources: readonly ResourceDesc[], name: string, node: string, rep: Report): { r: ResourceDesc; f: Files } | string {
  const r = resources.find((x) => x.name === name);
  if (!r) return `no HostFiles ${name}`;
  if (r.type !== HOST_FILES) return `${name} is a ${r.type}, not a HostFiles`;
  if (isUnknown(r.props.node)) {
    rep.unknown(r, ["node"], `which node HostFiles ${name} writes to`);
    return "";
  }
  if (r.props.node !== node) return `HostFiles ${name} writes to node ${JSON.stringify(r.props.node ?? null)}, not ${node}`;
  const files = r.props.files;
  if (isUnknown(files)) return { r, f: { unknown: true } };
  if (!Array.isArray(files)) return `HostFiles ${name} has no list of files`;
  const byPath = new Map<string, unknown>();
  for (const file of files) {
    const path = at(file, ["path"]);
    if (isUnknown(path)) return { r, f: { unknown: true } };
    if (typeof path === "string") byPath.set(path, at(file, ["content"]));
  }
  return { r, f: { files: byPath } };
}

/** Report a missing/foreign resource (a sentence), or hand over its files. "" means already reported as unknown. */
function filesOrReport(rep: Report, node: NodeInfo, found: ReturnType<typeof hostFiles>, why: string, unknownWhat: string): ReadonlyMap<string, unknown> | undefined {
  if (typeof found === "string") {
    if (found) rep.violation(node.desc, `active node ${node.name}: ${found} (${why})`);
    return undefined;
  }
  if ("unknown" in found.f) {
    rep.unknown(found.r, ["files"], unknownWhat);
    return undefined;
  }
  return found.f.files;
}

/** 1. Every active node serves the zone: knot.conf and the zone file are written there, and the DNS check runs. */
export function checkZoneServed(resources: readonly ResourceDesc[]): RuleOutput {
  const rep = new Report();
  const active = activeNodes(resources, rep, "serve the zone");
  for (const n of active) {
    const why = "an active node serves the zone: NS and the round-robin names point at it";
    const zone = filesOrReport(rep, n, hostFiles(resources, DUTY_NAMES.zone(n.name), n.name, rep), why, `the files of ${n.name}'s zone`);
    if (zone) {
      // components/dns.ts writes the zone to knot's storage as `<domain>.zone` (planning/dns/knot.ts
      // zoneFilePath). Its content is DnsZone's text, not judged here: dns-check verifies what is served.
      if (![...zone.keys()].some((p) => p.startsWith(`${KNOT_STORAGE}/`) && p.endsWith(".zone"))) {
        rep.violation(n.desc, `active node ${n.name}: HostFiles ${DUTY_NAMES.zone(n.name)} writes no zone file (${KNOT_STORAGE}/<domain>.zone), so its knot serves nothing`);
      }
    }
    const conf = filesOrReport(rep, n, hostFiles(resources, DUTY_NAMES.knotConf(n.name), n.name, rep), why, `the files of ${n.name}'s knot.conf`);
    if (conf && !conf.has(KNOT_CONF)) rep.violation(n.desc, `active node ${n.name}: HostFiles ${DUTY_NAMES.knotConf(n.name)} writes no ${KNOT_CONF}, so knot is stopped there`);
  }
  if (active.length > 0 && !resources.some((r) => r.type === DNS_CHECK && r.name === DUTY_NAMES.dnsCheck)) {
    rep.violation(undefined, `active nodes ${active.map((n) => n.name).join(", ")}: no DnsCheck ${DUTY_NAMES.dnsCheck}, so nothing verifies after an update that they serve the current zone`);
  }
  return rep;
}

/** 2. Every active node signs with a DKIM key generated inside its own encrypted mount. */
export function checkDkimKeys(resources: readonly ResourceDesc[]): RuleOutput {
  const rep = new Report();
  const keys = resources.filter((r) => r.type === DKIM_KEY);
  const someNodeUnknown = keys.some((k) => isUnknown(k.props.node));
  for (const n of activeNodes(resources, rep, "sign its mail")) {
    const mine = keys.filter((k) => k.props.node === n.name);
    if (mine.length === 0) {
      if (someNodeUnknown) rep.unknown(undefined, ["node"], `which DkimKey is ${n.name}'s`);
      else rep.violation(n.desc, `active node ${n.name}: no DkimKey (${DUTY_NAMES.dkimKey(n.name)}), so the mail it sends goes out unsigned`);
      continue;
    }
    for (const k of mine) {
      const mount = k.props.encryptedMount;
      const path = k.props.privateKeyPath;
      if (isUnknown(mount) || isUnknown(path)) {
        rep.unknown(k, [isUnknown(mount) ? "encryptedMount" : "privateKeyPath"], `where ${n.name}'s DKIM key is generated`);
        continue;
      }
      const bad = mountProblem(mount);
      if (bad) {
        rep.violation(k, `active node ${n.name}: DkimKey ${k.name} ${bad}, so nothing shows its DKIM key stays encrypted`);
        continue;
      }
      if (!sameMount(mount, n.mount)) rep.violation(k, `active node ${n.name}: DkimKey ${k.name} claims encrypted mount ${showMount(mount)} but the node's is ${showMount(n.mount)}`);
      const place = generationPlaceProblem(mount as { path: string }, path, ["privateKeyPath"]);
      if (place) rep.violation(k, `active node ${n.name}: DkimKey ${k.name} puts its private key${place}`);
      // A created key (its public half known) must say where it really landed (keys-landed-on-encrypted-filesystem judges it).
      if (typeof k.props.publicKey === "string" && !isUnknown(k.props.publicKey) && k.props.landedOn === undefined) {
        rep.violation(k, `active node ${n.name}: DkimKey ${k.name} reports no landedOn, so nothing shows its key landed on the encrypted filesystem`);
      }
    }
  }
  return rep;
}

/** One logical line of master.cf: its fields, continuation lines joined; comments and blank lines dropped. */
export function masterCfServices(text: string): { service: string; type: string; command: string; options: Map<string, string> }[] {
  const logical: string[] = [];
  for (const line of text.split("\n")) {
    if (/^\s*(#|$)/.test(line)) continue;
    if (/^\s/.test(line) && logical.length > 0) logical[logical.length - 1] += " " + line.trim();
    else logical.push(line.trim());
  }
  return logical.map((l) => {
    const f = l.split(/\s+/);
    const args = f.slice(8);
    const options = new Map<string, string>();
    for (let i = 0; i < args.length; i++) {
      // `-o name=value` or `-oname=value`; a later one wins, as in postfix.
      const opt = args[i] === "-o" ? args[++i] : args[i].startsWith("-o") ? args[i].slice(2) : undefined;
      const eq = opt?.indexOf("=") ?? -1;
      if (opt && eq > 0) options.set(opt.slice(0, eq), opt.slice(eq + 1));
    }
    return { service: f[0], type: f[1] ?? "", command: f[7] ?? "", options };
  });
}

/** Ports a submission client talks to (587 and the implicit-TLS 465), by master.cf name or number. */
const SUBMISSION_PORTS = new Set(["submission", "587", "submissions", "smtps", "465"]);
/** `submission`, `587`, `[::1]:submission` → the port part. */
const portOf = (s: { service: string }) => s.service.slice(s.service.lastIndexOf(":") + 1);
const listensForSubmission = (s: { service: string; type: string }) => s.type === "inet" && SUBMISSION_PORTS.has(portOf(s));

/** 3. Every active node anonymises submitted mail's headers (planning/mail/anonymity.ts). */
export function checkHeaderAnonymity(resources: readonly ResourceDesc[]): RuleOutput {
  const rep = new Report();
  for (const n of activeNodes(resources, rep, "anonymise submitted headers")) {
    const name = DUTY_NAMES.postfixConfig(n.name);
    const files = filesOrReport(rep, n, hostFiles(resources, name, n.name, rep), "submitted mail would keep the client's address and headers", `${n.name}'s postfix files`);
    if (!files) continue;
    const problems: string[] = [];
    if (!files.has(SUBMISSION_HEADER_CHECKS)) problems.push(`writes no ${SUBMISSION_HEADER_CHECKS}`);
    const master = files.get(POSTFIX_MASTER_CF);
    if (master === undefined) problems.push(`writes no ${POSTFIX_MASTER_CF}`);
    else if (isUnknown(master)) rep.unknown(n.desc, ["files"], `${n.name}'s master.cf`);
    else if (typeof master !== "string") problems.push(`has a ${POSTFIX_MASTER_CF} that is not text`);
    else {
      const services = masterCfServices(master);
      const submission = services.filter(listensForSubmission);
      if (!submission.some((s) => portOf(s) === "submission" || portOf(s) === "587")) problems.push(`has no submission service in ${POSTFIX_MASTER_CF}`);
      for (const s of submission) {
        const cleanup = s.options.get("cleanup_service_name");
        if (cleanup !== SUBMISSION_CLEANUP) problems.push(`has ${s.service}/inet with ${cleanup === undefined ? "no cleanup_service_name" : `cleanup_service_name=${cleanup}`}, not cleanup_service_name=${SUBMISSION_CLEANUP}`);
      }
      const cleanup = services.find((s) => s.service === SUBMISSION_CLEANUP && s.type === "unix");
      if (!cleanup || cleanup.command !== "cleanup") problems.push(`has no ${SUBMISSION_CLEANUP}/unix cleanup service in ${POSTFIX_MASTER_CF}`);
      else if (!(cleanup.options.get("header_checks") ?? "").split(/[\s,]+/).includes(`pcre:${SUBMISSION_HEADER_CHECKS}`)) {
        problems.push(`has ${SUBMISSION_CLEANUP} without header_checks=pcre:${SUBMISSION_HEADER_CHECKS}`);
      }
    }
    if (problems.length > 0) rep.violation(n.desc, `active node ${n.name}: HostFiles ${name} ${problems.join("; ")}: submitted mail would keep the client's address and headers`);
  }
  return rep;
}

/** The value journald takes for `key` from a drop-in: the last assignment in its [Journal] section. */
export function journaldSetting(text: string, key: string): string | undefined {
  let section = "";
  let value: string | undefined;
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    const head = /^\[(.+)\]$/.exec(line);
    if (head) section = head[1];
    else if (section === "Journal") {
      const m = /^([A-Za-z]+)\s*=\s*(.*)$/.exec(line);
      if (m && m[1] === key) value = m[2].trim();
    }
  }
  return value;
}

/** 4. Every active node anonymises its logs: rsyslog's first rule masks, journald keeps nothing. */
export function checkLogAnonymity(resources: readonly ResourceDesc[]): RuleOutput {
  const rep = new Report();
  for (const n of activeNodes(resources, rep, "anonymise its logs")) {
    const name = DUTY_NAMES.logAnonymity(n.name);
    const files = filesOrReport(rep, n, hostFiles(resources, name, n.name, rep), "its logs would keep client addresses and mail addresses", `${n.name}'s log anonymity files`);
    if (!files) continue;
    const problems: string[] = [];
    const rsyslog = files.get(RSYSLOG_DROP_IN);
    if (rsyslog === undefined) problems.push(`writes no ${RSYSLOG_DROP_IN}`);
    else if (typeof rsyslog === "string" && rsyslog.trim() === "") problems.push(`writes an empty ${RSYSLOG_DROP_IN}`);
    const journald = files.get(JOURNALD_DROP_IN);
    if (journald === undefined) problems.push(`writes no ${JOURNALD_DROP_IN}`);
    else if (isUnknown(journald)) rep.unknown(n.desc, ["files"], `${n.name}'s journald drop-in`);
    else {
      const storage = typeof journald === "string" ? journaldSetting(journald, "Storage") : undefined;
      if (storage !== "none") problems.push(`has ${JOURNALD_DROP_IN} with ${storage === undefined ? "no Storage" : `Storage=${storage}`}, not Storage=none`);
    }
    if (problems.length > 0) rep.violation(n.desc, `active node ${n.name}: HostFiles ${name} ${problems.join("; ")}: its logs would keep client addresses and mail addresses`);
  }
  return rep;
}

/** The value postfix takes for `name` in main.cf text: the last assignment (continuation lines joined). */
function mainCfSetting(text: string, name: string): string | undefined {
  let value: string | undefined;
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const m = new RegExp(`^${name}\\s*=\\s*(.*)$`).exec(lines[i]);
    if (!m) continue;
    value = m[1];
    while (i + 1 < lines.length && /^[ \t]+\S/.test(lines[i + 1])) value += " " + lines[++i].trim();
  }
  return value;
}

/** 5. Every active node filters spam on port 25: rspamd configured (<node>-spam-filter), and port 25's smtpd asks it. */
export function checkSpamFilter(resources: readonly ResourceDesc[]): RuleOutput {
  const rep = new Report();
  const why = "its port 25 would take spam that the other nodes refuse";
  for (const n of activeNodes(resources, rep, "filter spam")) {
    const problems: string[] = [];
    const name = DUTY_NAMES.spamFilter(n.name);
    const files = filesOrReport(rep, n, hostFiles(resources, name, n.name, rep), why, `${n.name}'s spam filter files`);
    if (files && !files.has(RSPAMD_PROXY_CONF)) problems.push(`HostFiles ${name} writes no ${RSPAMD_PROXY_CONF}`);
    const postfix = DUTY_NAMES.postfixConfig(n.name);
    const pf = filesOrReport(rep, n, hostFiles(resources, postfix, n.name, rep), why, `${n.name}'s postfix files`);
    const main = pf?.get(POSTFIX_MAIN_CF);
    const master = pf?.get(POSTFIX_MASTER_CF);
    if (pf && (isUnknown(main) || isUnknown(master))) rep.unknown(n.desc, ["files"], `${n.name}'s main.cf and master.cf`);
    else if (pf) {
      const asks = (milters: string | undefined) => (milters ?? "").split(/[\s,]+/).includes(RSPAMD_MILTER);
      if (typeof main !== "string" || !asks(mainCfSetting(main, "smtpd_milters"))) problems.push(`HostFiles ${postfix}'s main.cf does not name ${RSPAMD_MILTER} in smtpd_milters`);
      // port 25's own -o override would win over main.cf
      const smtp = typeof master === "string" ? masterCfServices(master).find((s) => s.type === "inet" && (s.service === "smtp" || portOf(s) === "smtp" || portOf(s) === "25")) : undefined;
      const override = smtp?.options.get("smtpd_milters");
      if (override !== undefined && !asks(override)) problems.push(`HostFiles ${postfix}'s master.cf sets smtpd_milters=${override} on port 25, without ${RSPAMD_MILTER}`);
    }
    if (problems.length > 0) rep.violation(n.desc, `active node ${n.name}: ${problems.join("; ")}: ${why}`);
  }
  return rep;
}
