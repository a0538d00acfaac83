/**
 * dovecot's whole configuration on one node — /etc/dovecot/dovecot.conf and the files features add
 * under /etc/dovecot/rplan/ — rendered from Debian 12's defaults (dovecot 2.3.19) plus what every
 * feature contributes. rplan owns dovecot.conf outright and does not include Debian's conf.d: a
 * drop-in could override settings but never remove a section, and Debian's 10-auth.conf adds a
 * PAM passdb that must not answer logins here. One resource per node writes these files
 * (`<node>-dovecot-config`), so a hand edit shows as drift in a refresh. Pure: no Pulumi, no I/O.
 */
import { appended, DaemonConfigError, DaemonContribution, DovecotSection, featureProblems, mergeFiles, mergeSettings, Owned } from "./contribution";
import type { RenderedDaemon } from "./postfix-config";

export const DOVECOT_CONF = "/etc/dovecot/dovecot.conf";
/** Files features add (LDAP args files…): rplan owns this directory; strays are removed. */
export const DOVECOT_RPLAN_DIR = "/etc/dovecot/rplan";
/** Written by the resource this one replaced: removed (dovecot.conf no longer reads conf.d anyway). */
export const DOVECOT_RETIRED_FILES = ["/etc/dovecot/conf.d/99-rplan-tls.conf"];
/** A systemd drop-in ordering dovecot after the units features name (written only when one does). */
export const DOVECOT_DROP_IN = "/etc/systemd/system/dovecot.service.d/rplan.conf";

/** Top-level settings of Debian 12's dovecot (`doveconf -n` of a fresh install), TLS left to the TLS feature. */
export const DOVECOT_DEFAULTS: Readonly<Record<string, string>> = {
  protocols: "imap pop3 lmtp",
  mail_location: "mbox:~/mail:INBOX=/var/mail/%u",
  mail_privileged_group: "mail",
  // Without the TLS feature nothing may be served in the clear with a password.
  ssl: "no",
  ssl_client_ca_dir: "/etc/ssl/certs",
};

const special = (name: string, use: string): DovecotSection => ({ name: `mailbox ${name}`, settings: { special_use: `\\${use}` } });

/** Debian 12's sections: the INBOX namespace with its special-use mailboxes, system users' passdb/userdb. */
export const DOVECOT_DEFAULT_SECTIONS: readonly DovecotSection[] = [
  {
    name: "namespace inbox",
    settings: { inbox: "yes" },
    sections: [special("Drafts", "Drafts"), special("Junk", "Junk"), special("Sent", "Sent"), special('"Sent Messages"', "Sent"), special("Trash", "Trash")],
  },
  { name: "passdb", settings: { driver: "pam" } },
  { name: "userdb", settings: { driver: "passwd" } },
];

const NAME = /^[a-z][a-z0-9_]{0,63}$/;
const SECTION = /^[a-z][a-z0-9_-]{0,63}( ("[^"\r\n{}]+"|[A-Za-z0-9_./%-]+))?$/;
const VALUE = /^[^\r\n]*$/;
const FILE = /^\/etc\/dovecot\/rplan\/[A-Za-z0-9._-]{1,64}$/;

/** A section after merging: settings and subsections, each with the feature that set it. */
interface Merged {
  readonly settings: Map<string, Owned<string>>;
  readonly sections: Map<string, Merged & { feature: string }>;
}

function sectionProblems(feature: string, path: string, s: DovecotSection, problems: string[]): void {
  const here = `${path}${s.name} { }`;
  if (!SECTION.test(s.name)) problems.push(`${feature}: dovecot section name ${JSON.stringify(s.name)} is not valid`);
  for (const [k, v] of Object.entries(s.settings ?? {})) {
    if (!NAME.test(k)) problems.push(`${feature}: ${here}: ${JSON.stringify(k)} is not a dovecot setting name`);
    if (!VALUE.test(v)) problems.push(`${feature}: ${here}: ${k} must be one line`);
  }
  for (const sub of s.sections ?? []) sectionProblems(feature, `${here} `, sub, problems);
}

/** Merge one section into `into`: Debian's values may be overridden, two features' differing values conflict. */
function mergeSection(into: Merged, s: DovecotSection, feature: string, path: string, problems: string[]): void {
  let target = into.sections.get(s.name);
  if (!target) {
    target = { settings: new Map(), sections: new Map(), feature };
    into.sections.set(s.name, target);
  }
  const where = `dovecot.conf ${path}${s.name}`;
  for (const [k, v] of Object.entries(s.settings ?? {})) {
    const had = target.settings.get(k);
    const joined = had && had.feature !== "debian" && feature !== "debian" ? appended(k, had.value, v) : undefined;
    if (joined !== undefined) target.settings.set(k, { value: joined, feature: had!.feature });
    else if (had && had.feature !== "debian" && feature !== "debian" && had.value !== v) problems.push(`${where}: ${k} is set by ${had.feature} (${JSON.stringify(had.value)}) and by ${feature} (${JSON.stringify(v)})`);
    else if (!had || had.feature === "debian") target.settings.set(k, { value: v, feature });
  }
  for (const sub of s.sections ?? []) mergeSection(target, sub, feature, `${path}${s.name} / `, problems);
}

function renderSection(name: string, m: Merged, indent: string): string {
  const inner = indent + "  ";
  const settings = [...m.settings].map(([k, o]) => `${inner}${k} = ${o.value}\n`).join("");
  const subs = [...m.sections].map(([n, s]) => renderSection(n, s, inner)).join("");
  return `${indent}${name} {\n${settings}${subs}${indent}}\n`;
}

/** dovecot.conf and the files features add, or a DaemonConfigError listing every problem. */
export function renderDovecot(node: string, contributions: readonly DaemonContribution[]): RenderedDaemon {
  const problems = featureProblems(contributions);
  const withDovecot = contributions.filter((c) => c.dovecot);
  for (const c of withDovecot) {
    for (const [k, v] of Object.entries(c.dovecot?.settings ?? {})) {
      if (!NAME.test(k)) problems.push(`${c.feature}: ${JSON.stringify(k)} is not a dovecot setting name`);
      if (!VALUE.test(v)) problems.push(`${c.feature}: dovecot ${k} must be one line`);
    }
    for (const s of c.dovecot?.sections ?? []) sectionProblems(c.feature, "", s, problems);
    for (const f of c.dovecot?.files ?? []) if (!FILE.test(f.path)) problems.push(`${c.feature}: ${f.path} must be a file directly in ${DOVECOT_RPLAN_DIR}`);
  }
  const top = mergeSettings("dovecot.conf", DOVECOT_DEFAULTS, withDovecot.map((c) => ({ feature: c.feature, settings: c.dovecot?.settings })), problems);
  const root: Merged = { settings: new Map(), sections: new Map() };
  const removed = new Set(withDovecot.flatMap((c) => c.dovecot?.removesDefaults ?? []));
  for (const name of removed) if (!DOVECOT_DEFAULT_SECTIONS.some((s) => s.name === name)) problems.push(`dovecot.conf: ${name} is not one of Debian's default sections (${DOVECOT_DEFAULT_SECTIONS.map((s) => s.name).join(", ")})`);
  for (const s of DOVECOT_DEFAULT_SECTIONS) if (!removed.has(s.name)) mergeSection(root, s, "debian", "", problems);
  for (const c of withDovecot) for (const s of c.dovecot?.sections ?? []) mergeSection(root, s, c.feature, "", problems);
  const extra = mergeFiles("dovecot", withDovecot.map((c) => ({ feature: c.feature, files: c.dovecot?.files })), problems);
  if (problems.length > 0) throw new DaemonConfigError(problems);

  const notes = withDovecot.flatMap((c) => (c.dovecot?.notes ?? []).map((n) => `#   ${c.feature}: ${n}\n`)).join("");
  let text =
    `# dovecot.conf for ${node}, generated by rplan (resource ${node}-dovecot-config). Do not edit: the\n` +
    "# next `up` rewrites it, and a refresh reports any edit as drift. Debian's conf.d is not read:\n" +
    `# Debian 12 defaults, then what each feature contributes (${withDovecot.map((c) => c.feature).join(", ") || "none"}).\n` +
    notes;
  for (const g of ["debian", ...withDovecot.map((c) => c.feature)]) {
    const lines = [...top].filter(([, o]) => o.feature === g).map(([k, o]) => `${k} = ${o.value}\n`);
    if (lines.length > 0) text += `\n# ${g === "debian" ? "Debian 12 defaults" : g}\n${lines.join("")}`;
  }
  text += "\n# sections (the feature that opened each is named above it)\n";
  for (const [name, s] of root.sections) text += `# ${s.feature}\n${renderSection(name, s, "")}`;
  const after = [...new Set(withDovecot.flatMap((c) => c.dovecot?.startAfter ?? []))].sort();
  for (const u of after) if (!/^[A-Za-z0-9@._-]+\.(service|target|mount)$/.test(u)) problems.push(`dovecot: ${JSON.stringify(u)} is not a systemd unit name`);
  if (problems.length > 0) throw new DaemonConfigError(problems);
  const dropIn = after.length > 0 ? [{ path: DOVECOT_DROP_IN, content: `# generated by rplan (${node}-dovecot-config)\n[Unit]\nAfter=${after.join(" ")}\n`, mode: "0644", owner: "root:root" }] : [];
  return {
    files: [{ path: DOVECOT_CONF, content: text, mode: "0644", owner: "root:root" }, ...extra, ...dropIn],
    prune: [DOVECOT_RPLAN_DIR],
    reload: [
      ["rm", "-f", "--", ...DOVECOT_RETIRED_FILES],
      ...(dropIn.length > 0 ? [["systemctl", "daemon-reload"]] : []),
      ...withDovecot.flatMap((c) => (c.dovecot?.commands ?? []).map((argv) => [...argv])),
      // doveconf parses the whole configuration: a bad file fails here, before dovecot is reloaded.
      ["doveconf", "-n", "-c", DOVECOT_CONF],
      ["systemctl", "reload-or-restart", "dovecot"],
    ],
  };
}
