/**
 * HostFiles: a set of files on one node, written atomically, plus the commands that make a daemon
 * pick them up. Generic (tinc now; LDAP and mail later).
 *
 * - Only files whose content, mode or owner differ on the host are written (SshConnection.writeFile:
 *   temp file in the same directory, mode and owner set before content, rename).
 * - Files this resource listed before and no longer lists are deleted, and so is any file in a
 *   `prune` directory that it does not list: a directory it owns outright (tinc's hosts/) holds
 *   exactly the files it says, so a removed peer's key file cannot linger.
 * - `reload` commands run, in order, only when something changed — on the host, or in the
 *   resource's recorded files (so an `up` interrupted between writing and reloading still reloads
 *   when re-run).
 * - Files inside the node's encrypted mount (secrets) are written behind the landing fragment
 *   (planning/key-landing.ts): in the same remote step, the real path is proved to be on the
 *   encrypted filesystem, without a symlink, in a 0700 directory of the writer's own. Refresh
 *   reports such a file found off the encrypted filesystem as missing (drift), and lists it in
 *   `landedOn` for the policy pack.
 * - Deleting the resource leaves the host alone: it may be a revoked node in hostile hands, which
 *   is never contacted. Files are removed from a live node by listing fewer of them.
 */
import type { SshEndpointInput } from "../../planning/config";
import * as crypto from "crypto";
import type * as pulumi from "@pulumi/pulumi";
import { EncryptedMount, isInsideMount, normalizePosix } from "../../planning/encrypted-mount";
import { requireUnlocked } from "../../ops/unlock";
import { LandedOn, landedArgv, parseLanded, PROBE_LANDING, WRITE_KEY_FILE } from "../../planning/key-landing";
import { SshConnection, SshError, sshConnection } from "../../transports/ssh";
import { underSystemctlLock } from "../../planning/services/systemctl-lock";
import { diffKeys, stableJson } from "./diff";
import { isUnknown, sshTarget } from "./common";

export interface HostFile {
  readonly path: string;
  readonly content: string;
  /** Octal, default "0644". */
  readonly mode?: string;
  /** "user:group", default "root:root". */
  readonly owner?: string;
}

export interface HostFilesInputs {
  readonly node: string;
  readonly ssh: SshEndpointInput;
  /** When given, files inside it are written only once it is verified to be an unlocked encrypted mount. */
  readonly encryptedMount?: EncryptedMount;
  readonly files: HostFile[];
  /** Directories owned outright: files there that `files` does not list are removed. */
  readonly prune?: string[];
  /** argv lists run in order after a change. */
  readonly reload?: string[][];
}

export interface HostFilesOutputs extends HostFilesInputs {
  /** What the last create/update did on the host (for reviewers, tests and benchmarks). */
  readonly lastApply?: { written: string[]; removed: string[]; reloaded: boolean };
  /** Where the files inside the encrypted mount really land (refresh). */
  readonly landedOn?: LandedOn[];
}

const BUSINESS = ["node", "ssh", "encryptedMount", "files", "prune", "reload"];
const MODE = /^0?[0-7]{3}$|^[0-7]{4}$/;
const OWNER = /^[a-z_][a-z0-9_-]{0,31}:[a-z_][a-z0-9_-]{0,31}$/;
const PATH_CHARS = /^\/[A-Za-z0-9._@+,=:/-]*$/;

/** Every problem with the inputs (unknown values, as in preview, are skipped). */
export function validateHostFiles(news: HostFilesInputs): pulumi.dynamic.CheckFailure[] {
  const failures: pulumi.dynamic.CheckFailure[] = [];
  const bad = (property: string, reason: string) => failures.push({ property, reason });
  if (!isUnknown(news.node) && (typeof news.node !== "string" || news.node === "")) bad("node", "node must name the node");
  const okPath = (p: unknown) => typeof p === "string" && PATH_CHARS.test(p) && normalizePosix(p) === p && p !== "/";
  if (!isUnknown(news.files)) {
    if (!Array.isArray(news.files)) bad("files", "files must be a list of {path, content, mode?, owner?}");
    else {
      const seen = new Set<string>();
      news.files.forEach((f, i) => {
        if (isUnknown(f) || !f) return;
        if (!isUnknown(f.path)) {
          if (!okPath(f.path)) bad("files", `files[${i}].path ${JSON.stringify(f.path)} must be a normalized absolute path of safe characters`);
          else if (seen.has(f.path)) bad("files", `files[${i}].path ${f.path} is listed twice`);
          else seen.add(f.path);
        }
        if (!isUnknown(f.content) && typeof f.content !== "string") bad("files", `files[${i}].content must be a string`);
        if (f.mode !== undefined && !isUnknown(f.mode) && !(typeof f.mode === "string" && MODE.test(f.mode))) bad("files", `files[${i}].mode ${JSON.stringify(f.mode)} must be octal like 0644`);
        if (f.owner !== undefined && !isUnknown(f.owner) && !(typeof f.owner === "string" && OWNER.test(f.owner))) bad("files", `files[${i}].owner ${JSON.stringify(f.owner)} must be "user:group"`);
      });
    }
  }
  if (news.prune !== undefined && !isUnknown(news.prune)) {
    if (!Array.isArray(news.prune)) bad("prune", "prune must be a list of directories");
    else
      news.prune.forEach((d, i) => {
        if (isUnknown(d)) return;
        // Two levels at least: a prune of / or /etc would be a disaster, not a configuration.
        if (!okPath(d) || d.split("/").length < 4) bad("prune", `prune[${i}] ${JSON.stringify(d)} must be a normalized absolute directory at least three levels deep`);
      });
  }
  if (news.reload !== undefined && !isUnknown(news.reload)) {
    if (!Array.isArray(news.reload) || news.reload.some((c) => !isUnknown(c) && (!Array.isArray(c) || c.length === 0 || c.some((a) => typeof a !== "string" && !isUnknown(a))))) {
      bad("reload", "reload must be a list of non-empty argv lists");
    }
  }
  return failures;
}

export async function check(_olds: unknown, news: HostFilesInputs): Promise<pulumi.dynamic.CheckResult> {
  const failures = validateHostFiles(news);
  return failures.length > 0 ? { inputs: news, failures } : { inputs: news };
}

export async function diff(_id: string, olds: HostFilesOutputs, news: HostFilesInputs): Promise<pulumi.dynamic.DiffResult> {
  return diffKeys(olds as any, news as any, BUSINESS, ["node"]);
}

export async function create(inputs: HostFilesInputs): Promise<pulumi.dynamic.CreateResult> {
  const lastApply = await apply(inputs, undefined);
  return { id: `${inputs.node}:${inputs.files[0]?.path ?? ""}`, outs: { ...inputs, lastApply } };
}

export async function update(_id: string, olds: HostFilesOutputs, news: HostFilesInputs): Promise<pulumi.dynamic.UpdateResult> {
  const lastApply = await apply(news, olds);
  return { outs: { ...news, lastApply } };
}

/**
 * Refresh: the files as they are on the host. A missing or different file, and a stray file in a
 * `prune` directory (listed as if this resource had written it), show as drift that the next
 * update repairs.
 */
export async function read(id: string, props: HostFilesOutputs): Promise<pulumi.dynamic.ReadResult> {
  const conn = await sshConnection(sshTarget(props));
  const listed = new Set(props.files.map((f) => f.path));
  const strays = (await hostState(conn, [], props.prune ?? [])).entries.filter((e) => !listed.has(e));
  const landedOn = await landing(conn, props);
  const off = new Set(landedOn.filter((l) => !l.encrypted).map((l) => l.path));
  const files: HostFile[] = [];
  for (const f of [...props.files, ...strays.map((path) => ({ path, content: "" }))]) {
    const content = off.has(f.path) ? undefined : await conn.readFile(f.path);
    if (content !== undefined) files.push({ ...f, content });
  }
  const { landedOn: _old, ...rest } = props;
  return { id, props: { ...rest, files, ...(landedOn.length > 0 ? { landedOn } : {}) } };
}

export async function delete_(): Promise<void> {
  // Intentionally nothing: see the file comment.
}
export { delete_ as delete };

const sha256 = (s: string) => crypto.createHash("sha256").update(s).digest("hex");
const normMode = (m: string | undefined) => parseInt(m ?? "0644", 8).toString(8);
const owner = (f: HostFile) => f.owner ?? "root:root";

/** One round trip: make parent directories (of the first m), report hash/mode/owner of each file, list prune dirs. */
const STATE_SCRIPT = [
  "set -eu",
  'n=$1; m=$2; shift 2; i=0',
  'while [ "$i" -lt "$n" ]; do f=$1; shift; i=$((i+1))',
  '  if [ "$i" -le "$m" ]; then mkdir -p -- "$(dirname -- "$f")"; fi',
  '  if [ -f "$f" ] && [ ! -L "$f" ]; then printf "file\\t%s\\t%s\\t%s\\n" "$f" "$(sha256sum < "$f" | cut -d" " -f1)" "$(stat -c "%a %U:%G" -- "$f")";',
  '  else printf "file\\t%s\\tmissing\\n" "$f"; fi',
  "done",
  'for d; do [ -d "$d" ] || continue; for f in "$d"/* "$d"/.[!.]*; do if [ -e "$f" ] || [ -L "$f" ]; then printf "entry\\t%s\\n" "$f"; fi; done; done',
].join("\n");

const REMOVE_SCRIPT = 'for f; do if [ -e "$f" ] || [ -L "$f" ]; then rm -f -- "$f"; echo "$f"; fi; done';

async function apply(news: HostFilesInputs, olds: HostFilesOutputs | undefined): Promise<{ written: string[]; removed: string[]; reloaded: boolean }> {
  const conn = await sshConnection(sshTarget(news));
  const mount = news.encryptedMount;
  const secret = (f: HostFile) => !!mount && isInsideMount(mount, f.path);
  if (mount && news.files.some(secret)) await requireUnlocked(conn, mount);
  const prune = news.prune ?? [];
  // Parents of files inside the mount are made by the landing fragment, never by mkdir -p.
  const { current, entries } = await hostState(conn, news.files.map((f) => f.path), prune, news.files.filter((f) => !secret(f)).map((f) => f.path));
  const toWrite = news.files.filter((f) => {
    const c = current.get(f.path);
    return !c || c.hash !== sha256(f.content) || c.mode !== normMode(f.mode) || c.owner !== owner(f);
  });
  await Promise.all(
    toWrite.map((f) =>
      secret(f)
        ? conn.run(landedArgv(news.node, mount!, WRITE_KEY_FILE, [f.path, f.mode ?? "0644", owner(f)]), { stdin: f.content, label: `write ${f.path} on the encrypted filesystem` })
        : conn.writeFile(f.path, f.content, { mode: f.mode ?? "0644", owner: owner(f) }),
    ),
  );

  const wanted = new Set(news.files.map((f) => f.path));
  const stale = new Set<string>();
  for (const f of olds?.files ?? []) if (!wanted.has(f.path)) stale.add(f.path);
  for (const e of entries) if (!wanted.has(e)) stale.add(e);
  let removed: string[] = [];
  if (stale.size > 0) {
    const r = await conn.run(["sh", "-c", REMOVE_SCRIPT, "sh", ...[...stale].sort()], { label: "remove files no longer listed" });
    removed = r.stdout.split("\n").filter(Boolean);
  }

  // A new release's new commands run too, the files being as they were (e.g. a step it added).
  const recorded = olds !== undefined && (stableJson(olds.files) !== stableJson(news.files) || stableJson(olds.prune ?? []) !== stableJson(prune) || stableJson(olds.reload ?? []) !== stableJson(news.reload ?? []));
  const changed = toWrite.length > 0 || removed.length > 0 || recorded;
  if (changed) for (const argv of news.reload ?? []) await runReload(conn, argv);
  return { written: toWrite.map((f) => f.path), removed, reloaded: changed && (news.reload ?? []).length > 0 };
}

/** Hash, mode and owner of each path (parents created), and the entries of the prune directories. */
async function hostState(conn: SshConnection, paths: string[], prune: string[], mkdirFor: string[] = []): Promise<{ current: Map<string, { hash: string; mode?: string; owner?: string }>; entries: string[] }> {
  const all = [...mkdirFor, ...paths.filter((p) => !mkdirFor.includes(p))];
  const state = await conn.run(["sh", "-c", STATE_SCRIPT, "sh", String(all.length), String(mkdirFor.length), ...all, ...prune], { label: "read the current files" });
  const current = new Map<string, { hash: string; mode?: string; owner?: string }>();
  const entries: string[] = [];
  for (const line of state.stdout.split("\n")) {
    const [kind, path, hash, modeOwner] = line.split("\t");
    if (kind === "file") {
      const [mode, own] = (modeOwner ?? "").split(" ");
      current.set(path, { hash, mode, owner: own });
    } else if (kind === "entry" && path) entries.push(path);
  }
  return { current, entries };
}

/** Where each listed file inside the encrypted mount really lands (none listed: no probe). */
async function landing(conn: SshConnection, props: HostFilesInputs): Promise<LandedOn[]> {
  const mount = props.encryptedMount;
  const inside = mount ? props.files.map((f) => f.path).filter((p) => isInsideMount(mount, p)) : [];
  if (!mount || inside.length === 0) return [];
  const r = await conn.run(landedArgv(props.node, mount, PROBE_LANDING, inside), { label: "check where the secret files land" });
  return parseLanded(r.stdout);
}

async function runReload(conn: SshConnection, argv: readonly string[]): Promise<void> {
  try {
    // The argv in the inputs stays as planned (a release adding the lock changes no resource).
    await conn.run(underSystemctlLock(argv), { label: argv.join(" ") });
  } catch (e) {
    const unit = systemctlUnit(argv);
    if (unit === undefined || !(e instanceof SshError)) throw e;
    // systemctl only says "see journalctl -xeu <unit>": the error carries those lines itself, so the
    // admin reading the failed `up` (and a CI log) sees why the daemon did not come back.
    const journal = await conn.run(["journalctl", "-u", unit, "-n", String(JOURNAL_LINES), "--no-pager", "-o", "short-precise"], { allowFailure: true }).catch(() => undefined);
    const lines = journal?.code === 0 ? journal.stdout.trim() : "";
    if (lines === "") throw e;
    throw new SshError(`${e.message}\nthe last lines ${unit} logged:\n${lines}`, e.node, e.code);
  }
}

const JOURNAL_LINES = 15;

/** The unit a `systemctl start|restart|reload|try-restart|reload-or-restart <unit>` acts on. */
function systemctlUnit(argv: readonly string[]): string | undefined {
  const [cmd, verb, unit, ...rest] = argv;
  const verbs = ["start", "restart", "reload", "try-restart", "reload-or-restart"];
  return cmd === "systemctl" && verbs.includes(verb) && unit !== undefined && rest.length === 0 ? unit : undefined;
}
