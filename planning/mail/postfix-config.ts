/**
 * postfix's whole configuration on one node — main.cf, master.cf and the lookup tables features
 * add under /etc/postfix/rplan/ — rendered from Debian 12's defaults (postfix 3.7) plus what every
 * feature contributes. One resource per node writes these files (`<node>-postfix-config`), so a
 * hand edit (`postconf -e` included) shows as drift in a refresh. Pure: no Pulumi, no I/O.
 */
import { DaemonConfigError, DaemonContribution, DaemonFile, featureProblems, MasterService, mergeFiles, mergeSettings, Owned } from "./contribution";

export const POSTFIX_MAIN_CF = "/etc/postfix/main.cf";
export const POSTFIX_MASTER_CF = "/etc/postfix/master.cf";
/** Files features add (ldap_table definitions…): rplan owns this directory; strays are removed. */
export const POSTFIX_RPLAN_DIR = "/etc/postfix/rplan";
/** Written by the resource this one replaced (TLS settings applied with a side command): removed. */
export const POSTFIX_RETIRED_FILES = ["/etc/postfix/rplan-tls.cf"];

/** What HostFiles writes for a daemon, and what it runs after a change. */
export interface RenderedDaemon {
  readonly files: DaemonFile[];
  /** Directories rplan owns outright (files it does not list there are removed). */
  readonly prune: string[];
  /** argv lists run in order after a change: check the configuration, then reload. */
  readonly reload: string[][];
}

/** The node-specific facts the defaults need. */
export interface PostfixNode {
  readonly name: string;
  /** The cluster's domain (`myhostname` is `<node>.<domain>`). */
  readonly domain: string;
}

/**
 * main.cf of a fresh Debian 12 install (`main_mailer_type` Internet Site), with per-node names
 * instead of the image's shared ones and without the snakeoil TLS files (the TLS feature points
 * postfix at the node's own key). Contributions may override any of these.
 */
export function postfixDefaults(node: PostfixNode): Record<string, string> {
  return {
    smtpd_banner: "$myhostname ESMTP $mail_name (Debian/GNU)",
    biff: "no",
    append_dot_mydomain: "no",
    readme_directory: "no",
    compatibility_level: "3.6",
    smtp_tls_CApath: "/etc/ssl/certs",
    smtp_tls_security_level: "may",
    smtp_tls_session_cache_database: "btree:${data_directory}/smtp_scache",
    smtpd_relay_restrictions: "permit_mynetworks permit_sasl_authenticated defer_unauth_destination",
    myhostname: `${node.name}.${node.domain}`,
    mydomain: node.domain,
    myorigin: "$mydomain",
    alias_maps: "hash:/etc/aliases",
    alias_database: "hash:/etc/aliases",
    mydestination: "$myhostname, localhost.$mydomain, localhost",
    relayhost: "",
    mynetworks: "127.0.0.0/8 [::ffff:127.0.0.0]/104 [::1]/128",
    mailbox_size_limit: "0",
    recipient_delimiter: "+",
    inet_interfaces: "all",
    inet_protocols: "all",
  };
}

const svc = (service: string, type: MasterService["type"], priv: string, unpriv: string, chroot: string, wakeup: string, maxproc: string, command: string, options?: Record<string, string>): MasterService => ({
  service,
  type,
  private: priv,
  unpriv,
  chroot,
  wakeup,
  maxproc,
  command,
  ...(options ? { options } : {}),
});

/** A cleanup service of its own (Debian's `cleanup` line under another name), with its `-o` options. */
export const cleanupService = (name: string, options: Record<string, string>): MasterService => svc(name, "unix", "n", "-", "y", "-", "0", "cleanup", options);

/** master.cf of Debian 12, without the pipe transports of packages a node does not have (maildrop, uucp, mailman…). */
export const POSTFIX_DEFAULT_MASTER: readonly MasterService[] = [
  svc("smtp", "inet", "n", "-", "y", "-", "-", "smtpd"),
  svc("pickup", "unix", "n", "-", "y", "60", "1", "pickup"),
  svc("cleanup", "unix", "n", "-", "y", "-", "0", "cleanup"),
  svc("qmgr", "unix", "n", "-", "n", "300", "1", "qmgr"),
  svc("tlsmgr", "unix", "-", "-", "y", "1000?", "1", "tlsmgr"),
  svc("rewrite", "unix", "-", "-", "y", "-", "-", "trivial-rewrite"),
  svc("bounce", "unix", "-", "-", "y", "-", "0", "bounce"),
  svc("defer", "unix", "-", "-", "y", "-", "0", "bounce"),
  svc("trace", "unix", "-", "-", "y", "-", "0", "bounce"),
  svc("verify", "unix", "-", "-", "y", "-", "1", "verify"),
  svc("flush", "unix", "n", "-", "y", "1000?", "0", "flush"),
  svc("proxymap", "unix", "-", "-", "n", "-", "-", "proxymap"),
  svc("proxywrite", "unix", "-", "-", "n", "-", "1", "proxymap"),
  svc("smtp", "unix", "-", "-", "y", "-", "-", "smtp"),
  svc("relay", "unix", "-", "-", "y", "-", "-", "smtp", { syslog_name: "postfix/$service_name" }),
  svc("showq", "unix", "n", "-", "y", "-", "-", "showq"),
  svc("error", "unix", "-", "-", "y", "-", "-", "error"),
  svc("retry", "unix", "-", "-", "y", "-", "-", "error"),
  svc("discard", "unix", "-", "-", "y", "-", "-", "discard"),
  svc("local", "unix", "-", "n", "n", "-", "-", "local"),
  svc("virtual", "unix", "-", "n", "n", "-", "-", "virtual"),
  svc("lmtp", "unix", "-", "-", "y", "-", "-", "lmtp"),
  svc("anvil", "unix", "-", "-", "y", "-", "1", "anvil"),
  svc("scache", "unix", "-", "-", "y", "-", "1", "scache"),
  svc("postlog", "unix-dgram", "n", "-", "n", "-", "1", "postlogd"),
];

const PARAM = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;
const SERVICE = /^[A-Za-z0-9_.:[\]/-]{1,64}$/;
const FIELD = /^[-yn]$|^\d+\??$|^-$/;
const ONE_LINE = /^[^\r\n]*$/;
const OPTION_VALUE = /^[^\s]*$/;
const FILE = /^\/etc\/postfix\/rplan\/[A-Za-z0-9._-]{1,64}$/;
/** Where postfix's systemd drop-ins go: Debian's per-instance unit. */
const DROP_IN_DIR = "/etc/systemd/system/postfix@-.service.d";
const DROP_IN = /^\/etc\/systemd\/system\/postfix@-\.service\.d\/[A-Za-z0-9_-]{1,64}\.conf$/;

function masterProblems(feature: string, s: MasterService): string[] {
  const p: string[] = [];
  const where = `${feature}: master.cf ${s.service}/${s.type}`;
  if (!SERVICE.test(s.service)) p.push(`${where}: service name ${JSON.stringify(s.service)} has characters master.cf cannot hold`);
  for (const f of ["private", "unpriv", "chroot", "wakeup", "maxproc"] as const) if (s[f] !== undefined && !FIELD.test(s[f]!)) p.push(`${where}: ${f} ${JSON.stringify(s[f])} must be -, y, n or a number`);
  if (!s.command || !ONE_LINE.test(s.command)) p.push(`${where}: command must be one non-empty line`);
  for (const [k, v] of Object.entries(s.options ?? {})) {
    if (!PARAM.test(k)) p.push(`${where}: option name ${JSON.stringify(k)} is not a postfix parameter`);
    if (!OPTION_VALUE.test(v)) p.push(`${where}: option ${k} value ${JSON.stringify(v)} must not contain white space (write it in main.cf and refer to it as $name)`);
  }
  return p;
}

/** Merge master.cf: a contribution may replace a Debian line; two features defining the same service/type differently conflict. */
function mergeMaster(contributions: readonly DaemonContribution[], problems: string[]): Owned<MasterService>[] {
  const key = (s: MasterService) => `${s.service}/${s.type}`;
  const out = new Map<string, Owned<MasterService>>(POSTFIX_DEFAULT_MASTER.map((s) => [key(s), { value: s, feature: "debian" }]));
  for (const c of contributions) {
    for (const s of c.postfix?.master ?? []) {
      problems.push(...masterProblems(c.feature, s));
      const had = out.get(key(s));
      if (had && had.feature !== "debian" && JSON.stringify(had.value) !== JSON.stringify(s)) problems.push(`master.cf: ${key(s)} is defined by ${had.feature} and differently by ${c.feature}`);
      else if (!had || had.feature === "debian") out.set(key(s), { value: s, feature: c.feature });
    }
  }
  return [...out.values()];
}

function header(node: string, file: string, contributions: readonly DaemonContribution[]): string {
  const notes = contributions.flatMap((c) => (c.postfix?.notes ?? []).map((n) => `#   ${c.feature}: ${n}\n`)).join("");
  return (
    `# ${file} for ${node}, generated by rplan (resource ${node}-postfix-config). Do not edit: the next\n` +
    "# `up` rewrites it, and a refresh reports any edit as drift. Debian 12 defaults, then what each\n" +
    `# feature contributes (${contributions.map((c) => c.feature).join(", ") || "none"}), each under its name.\n` +
    notes
  );
}

/** main.cf text: Debian's settings first, then each feature's, every setting once. */
export function renderMainCf(node: string, settings: Map<string, Owned<string>>, contributions: readonly DaemonContribution[]): string {
  const groups = ["debian", ...contributions.map((c) => c.feature)];
  let text = header(node, "main.cf", contributions);
  for (const g of groups) {
    const lines = [...settings].filter(([, o]) => o.feature === g).map(([k, o]) => `${k} = ${o.value}\n`);
    if (lines.length > 0) text += `\n# ${g === "debian" ? "Debian 12 defaults" : g}\n${lines.join("")}`;
  }
  return text;
}

/** master.cf text in postfix's column layout. */
export function renderMasterCf(node: string, services: readonly Owned<MasterService>[], contributions: readonly DaemonContribution[]): string {
  const col = (s: string, w: number) => (s.length >= w ? `${s} ` : s.padEnd(w));
  const lines = services.map(({ value: s, feature }) => {
    const f = (v: string | undefined) => col(v ?? "-", 8);
    const opts = Object.entries(s.options ?? {}).map(([k, v]) => `  -o ${k}=${v}\n`).join("");
    const by = feature === "debian" ? "" : `# ${feature}\n`;
    return `${by}${col(s.service, 10)}${col(s.type, 6)}${f(s.private)}${f(s.unpriv)}${f(s.chroot)}${f(s.wakeup)}${f(s.maxproc)}${s.command}\n${opts}`;
  });
  return header(node, "master.cf", contributions) + "# service type  private unpriv  chroot  wakeup  maxproc command + args\n" + lines.join("");
}

/** Every file of postfix's configuration on `node`, or a DaemonConfigError listing every problem. */
export function renderPostfix(node: PostfixNode, contributions: readonly DaemonContribution[]): RenderedDaemon {
  const problems = featureProblems(contributions);
  const withPostfix = contributions.filter((c) => c.postfix);
  for (const c of withPostfix) {
    for (const [k, v] of Object.entries(c.postfix?.main ?? {})) {
      if (!PARAM.test(k)) problems.push(`${c.feature}: main.cf name ${JSON.stringify(k)} is not a postfix parameter`);
      if (!ONE_LINE.test(v)) problems.push(`${c.feature}: main.cf ${k} must be one line`);
    }
    for (const f of c.postfix?.files ?? []) if (!FILE.test(f.path)) problems.push(`${c.feature}: ${f.path} must be a file directly in ${POSTFIX_RPLAN_DIR}`);
    for (const f of c.postfix?.dropIns ?? []) if (!DROP_IN.test(f.path)) problems.push(`${c.feature}: ${f.path} must be a .conf file directly in ${DROP_IN_DIR}`);
  }
  const main = mergeSettings("main.cf", postfixDefaults(node), withPostfix.map((c) => ({ feature: c.feature, settings: c.postfix?.main })), problems);
  const master = mergeMaster(withPostfix, problems);
  const extra = mergeFiles("postfix", withPostfix.map((c) => ({ feature: c.feature, files: [...(c.postfix?.files ?? []), ...(c.postfix?.dropIns ?? [])] })), problems);
  if (problems.length > 0) throw new DaemonConfigError(problems);
  const hasDropIns = withPostfix.some((c) => (c.postfix?.dropIns ?? []).length > 0);
  return {
    files: [
      { path: POSTFIX_MAIN_CF, content: renderMainCf(node.name, main, withPostfix), mode: "0644", owner: "root:root" },
      { path: POSTFIX_MASTER_CF, content: renderMasterCf(node.name, master, withPostfix), mode: "0644", owner: "root:root" },
      ...extra,
    ],
    prune: [POSTFIX_RPLAN_DIR],
    reload: [
      ["rm", "-f", "--", ...POSTFIX_RETIRED_FILES],
      ...(hasDropIns ? [["systemctl", "daemon-reload"]] : []),
      ...withPostfix.flatMap((c) => (c.postfix?.commands ?? []).map((argv) => [...argv])),
      // `postfix check` refuses a configuration postfix could not run with, before the reload.
      ["postfix", "check"],
      ["systemctl", "reload-or-restart", "postfix"],
    ],
  };
}
