/**
 * What a feature (TLS, mail routing, later anonymity and lists) contributes to the configuration
 * of the mail daemons, and how contributions are merged. Each daemon's configuration is rendered
 * by one renderer (./postfix-config.ts, ./dovecot-config.ts) from Debian's defaults plus every
 * contribution, and written by one resource per node: no feature edits a daemon's files as the side
 * effect of another resource, so a refresh sees every hand edit. Pure: no Pulumi, no I/O.
 *
 * Merging rules: a contribution may override a Debian default; two contributions that set the same
 * setting, service, section setting or file differently are a conflict — every conflict is reported
 * at once and nothing is rendered (the stack stops at preview).
 */

/** One service line of postfix's master.cf (`-` fields keep postfix's default). */
export interface MasterService {
  /** Service name (`smtp`, `submission`, `127.0.0.1:10025`). */
  readonly service: string;
  readonly type: "inet" | "unix" | "unix-dgram" | "fifo" | "pass";
  readonly private?: string;
  readonly unpriv?: string;
  readonly chroot?: string;
  readonly wakeup?: string;
  readonly maxproc?: string;
  /** The command and its arguments (`smtpd`, `pipe flags=… argv=…`). */
  readonly command: string;
  /** `-o name=value` overrides, one per line (values must not contain spaces). */
  readonly options?: Readonly<Record<string, string>>;
}

/** A whole file a daemon reads beside its main configuration (an ldap_table, a dovecot LDAP args file). */
export interface DaemonFile {
  readonly path: string;
  readonly content: string;
  /** Octal, default "0644". */
  readonly mode?: string;
  /** "user:group", default "root:root". */
  readonly owner?: string;
}

/** A dovecot configuration section: `name { settings… sections… }` (`service lmtp`, `passdb`, `protocol imap`). */
export interface DovecotSection {
  readonly name: string;
  readonly settings?: Readonly<Record<string, string>>;
  readonly sections?: readonly DovecotSection[];
}

export interface PostfixContribution {
  /** Lines for the files' headers: why the settings are what they are. */
  readonly notes?: readonly string[];
  /** main.cf `name = value`. */
  readonly main?: Readonly<Record<string, string>>;
  readonly master?: readonly MasterService[];
  readonly files?: readonly DaemonFile[];
  /** argv lists run after the files change, before `postfix check` and the reload (e.g. move the queue). */
  readonly commands?: readonly (readonly string[])[];
  /** systemd drop-ins for postfix's instance unit (`/etc/systemd/system/postfix@-.service.d/*.conf`). */
  readonly dropIns?: readonly DaemonFile[];
}

export interface DovecotContribution {
  /** Lines for the file's header: why the settings are what they are. */
  readonly notes?: readonly string[];
  /** Debian's default sections this feature replaces outright (`passdb`: the PAM passdb of system users). */
  readonly removesDefaults?: readonly string[];
  /** systemd units dovecot must start after (a listener on an address another unit brings up). */
  readonly startAfter?: readonly string[];
  /** argv lists run after the files change, before the check and reload (e.g. create the mail store). */
  readonly commands?: readonly (readonly string[])[];
  /** Top-level `name = value`. */
  readonly settings?: Readonly<Record<string, string>>;
  readonly sections?: readonly DovecotSection[];
  readonly files?: readonly DaemonFile[];
}

/** What one feature contributes to one node's mail daemons. */
export interface DaemonContribution {
  /** Who contributes (`tls`, `mail-routing`): named in the rendered files and in conflicts. */
  readonly feature: string;
  readonly postfix?: PostfixContribution;
  readonly dovecot?: DovecotContribution;
}

/** Contributions that cannot be merged (or are malformed): every problem at once. */
export class DaemonConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`the mail daemons' configuration cannot be rendered (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n` + problems.map((p) => `  - ${p}`).join("\n"));
    this.name = "DaemonConfigError";
  }
}

/** A value that was set, and by whom. */
export interface Owned<T> {
  readonly value: T;
  readonly feature: string;
}

const FEATURE = /^[a-z][a-z0-9-]{0,31}$/;

/** Every problem with the contributions' names (a feature twice would make conflicts unreadable). */
export function featureProblems(contributions: readonly DaemonContribution[]): string[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const c of contributions) {
    if (!FEATURE.test(c.feature)) problems.push(`feature name ${JSON.stringify(c.feature)} must match ${FEATURE}`);
    else if (seen.has(c.feature)) problems.push(`feature ${c.feature} contributes twice`);
    seen.add(c.feature);
    for (const n of [...(c.postfix?.notes ?? []), ...(c.dovecot?.notes ?? [])]) if (/[\r\n]/.test(n)) problems.push(`${c.feature}: a note must be one line`);
  }
  return problems;
}

/**
 * Merge `name → value` maps: defaults first (any contribution may override one), then each
 * feature's; the same name set differently by two features is a conflict (`what` names the place).
 */
export function mergeSettings(
  what: string,
  defaults: Readonly<Record<string, string>>,
  contributed: readonly { readonly feature: string; readonly settings?: Readonly<Record<string, string>> }[],
  problems: string[],
): Map<string, Owned<string>> {
  const out = new Map<string, Owned<string>>(Object.entries(defaults).map(([k, v]) => [k, { value: v, feature: "debian" }]));
  for (const { feature, settings } of contributed) {
    for (const [k, v] of Object.entries(settings ?? {})) {
      const had = out.get(k);
      const joined = had && had.feature !== "debian" ? appended(k, had.value, v) : undefined;
      if (joined !== undefined) out.set(k, { value: joined, feature: had!.feature });
      else if (had && had.feature !== "debian" && had.value !== v) problems.push(`${what}: ${k} is set by ${had.feature} (${JSON.stringify(had.value)}) and by ${feature} (${JSON.stringify(v)})`);
      else if (!had || had.feature === "debian") out.set(k, { value: v, feature });
    }
  }
  return out;
}

/**
 * Two features that each only append to a list setting (`mail_plugins = $mail_plugins quota`) do
 * not conflict: both lists are kept, in order, each item once. Anything else is no append.
 */
export function appended(key: string, a: string, b: string): string | undefined {
  const items = (v: string) => {
    const words = v.trim().split(/\s+/);
    return words[0] === `$${key}` ? words.slice(1) : undefined;
  };
  const [x, y] = [items(a), items(b)];
  return x && y ? [`$${key}`, ...new Set([...x, ...y])].join(" ") : undefined;
}

/** Merge whole files by path: the same path with different content from two features is a conflict. */
export function mergeFiles(what: string, contributed: readonly { readonly feature: string; readonly files?: readonly DaemonFile[] }[], problems: string[]): DaemonFile[] {
  const out = new Map<string, Owned<DaemonFile>>();
  for (const { feature, files } of contributed) {
    for (const f of files ?? []) {
      const had = out.get(f.path);
      if (!had) out.set(f.path, { value: f, feature });
      else if (had.value.content !== f.content || had.value.mode !== f.mode || had.value.owner !== f.owner) problems.push(`${what}: ${f.path} is written by ${had.feature} and differently by ${feature}`);
    }
  }
  return [...out.values()].map((o) => o.value).sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
