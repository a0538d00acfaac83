/**
 * Keys are checked where they land. A path prefix proves nothing on a host where a directory can be
 * a symlink (`keys/tinc -> /tmp`) or another filesystem mounted inside the mount, and `install -d`,
 * `mktemp` and `mkdir -p` all follow symlinks. So every writer of a private key, certificate key or
 * secret runs its body behind one shell fragment, rendered here (pure, no I/O), that in the SAME
 * remote script:
 *   1. proves the mount root is the declared encrypted filesystem (fuse.gocryptfs, or the dm-crypt
 *      mapper with a LUKS header) and that its own path holds no symlink;
 *   2. walks from the root to the key directory one component at a time: a symlink anywhere is
 *      refused, missing components are created (mkdir does not follow a symlink), and after each
 *      `cd` the directory's device must be the mount root's device (another filesystem mounted
 *      below the root is refused too);
 *   3. leaves the body in that directory, so it creates files by relative name: nothing can be
 *      swapped in above it between the check and the write.
 * Refusals exit 65 and name the node, the path and what it resolved to.
 *
 * `land_probe` is the read side (refresh): where a key's path really lands, as a `landed` line.
 */
import type { EncryptedMount } from "./encrypted-mount";

/** Where a key's path really lands on its node, as refresh reports it. */
export interface LandedOn {
  readonly path: string;
  /** The path with every symlink resolved. */
  readonly resolved: string;
  /** The type of the filesystem holding the resolved path. */
  readonly fsType: string;
  /** The path has no symlink below the root and lies on the mount root's encrypted filesystem. */
  readonly encrypted: boolean;
}

const FUNCTIONS = `
land_fail() { printf '[%s] refusing to write keys to %s: %s; keys go only on the encrypted filesystem mounted at %s\\n' "$land_node" "$land_target" "$*" "$land_root" >&2; exit 65; }
land_fs() { findmnt -n -o FSTYPE,TARGET --target "$1" 2>/dev/null | head -n1 | sed 's/  */ at /'; }
land_mount() {
  cd -P -- "$land_root" 2>/dev/null || land_fail "the mount point $land_root does not exist"
  [ "$(pwd -P)" = "$land_root" ] || land_fail "the mount point $land_root resolves to $(pwd -P)"
  m=$(findmnt -n -o FSTYPE,SOURCE --mountpoint "$land_root" 2>/dev/null | head -n1)
  [ -n "$m" ] || land_fail "nothing is mounted at $land_root (locked: unlock it first)"
  fs=\${m%% *}; src=\${m##* }
  [ -z "$land_fstype" ] || [ "$fs" = "$land_fstype" ] || land_fail "$land_root is $fs, not $land_fstype"
  [ -z "$land_source" ] || [ "$src" = "$land_source" ] || land_fail "$land_root is mounted from $src, not $land_source"
  if [ -n "$land_mapper" ]; then cryptsetup status "$land_mapper" 2>/dev/null | grep -Eq '^ *type: *LUKS[12]$' || land_fail "$land_mapper is not an open LUKS device"; fi
  land_dev=$(stat -c %d .)
}
land_dir() {
  land_mount
  case "$1" in "$land_root"/?*) ;; *) land_fail "$1 is not inside $land_root" ;; esac
  land_mode=\${2:-0700}
  set -f; land_ifs=$IFS; IFS=/; set -- \${1#"$land_root"/}; IFS=$land_ifs; set +f
  for c; do
    case "$c" in ''|.|..) land_fail "the path is not normalized" ;; esac
    land_subdir "$c"
    cd -P -- "$c"
  done
  land_mode=0700
}
land_subdir() {
  if [ -L "$1" ]; then land_fail "$(pwd -P)/$1 is a symlink to $(readlink -- "$1"), which resolves to $(readlink -f -- "$1" || echo '?') on $(land_fs "$(readlink -f -- "$1")")"; fi
  [ -e "$1" ] || mkdir -m "\${land_mode:-0700}" -- "$1" || land_fail "cannot create $(pwd -P)/$1"
  if [ -L "$1" ] || [ ! -d "$1" ]; then land_fail "$(pwd -P)/$1 is not a directory"; fi
  [ "$(stat -c %d -- "$1")" = "$land_dev" ] || land_fail "$(pwd -P)/$1 is on $(land_fs "$1"), another filesystem"
}
land_own() {
  chmod 0700 .
  [ "$(stat -c %u .)" = "$(id -u)" ] || land_fail "$(pwd -P) belongs to uid $(stat -c %u .), not to $(id -un)"
}
land_file() {
  if [ -L "$1" ]; then land_fail "$(pwd -P)/$1 is a symlink to $(readlink -- "$1"), which resolves to $(readlink -f -- "$1" || echo '?')"; fi
  if [ -e "$1" ] && [ ! -f "$1" ]; then land_fail "$(pwd -P)/$1 is not a regular file"; fi
}
land_check() {
  land_file "$1"
  [ "$(stat -c %d -- "$1")" = "$land_dev" ] || land_fail "$(pwd -P)/$1 is on $(land_fs "$1")"
}
land_probe() {
  r=$(readlink -f -- "$1" 2>/dev/null) || r=""
  e=\${r:-/}; while [ ! -e "$e" ]; do e=$(dirname -- "$e"); done
  ok=yes; [ "$r" = "$1" ] || ok=no; [ "$(stat -c %d -- "$e")" = "$land_dev" ] || ok=no
  printf 'landed\\t%s\\t%s\\t%s\\t%s\\n' "$1" "\${r:-?}" "$(findmnt -n -o FSTYPE --target "$e" 2>/dev/null | head -n1)" "$ok"
}
`.trim();

/**
 * A whole script: the fragment, its five arguments (landingArgs) shifted off, then `body`, which
 * sees its own arguments as $1… and calls `land_target=PATH; land_dir DIR [MODE]` (then it is in
 * DIR; MODE for the components it creates), `land_own` (DIR is the writer's own, 0700),
 * `land_subdir NAME` (a directory there, made 0700 if missing), `land_file NAME` before and
 * `land_check NAME` after writing NAME, and `land_mount; land_probe PATH` to report.
 */
export function landingScript(body: string): string {
  return ["set -eu", FUNCTIONS, 'land_node=$1; land_root=$2; land_fstype=$3; land_source=$4; land_mapper=$5; land_target=$2; shift 5', body].join("\n");
}

/** The fragment's arguments: what the node's declared mount must be. */
export function landingArgs(node: string, mount: EncryptedMount): string[] {
  return mount.kind === "gocryptfs" ? [node, mount.path, "fuse.gocryptfs", "", ""] : [node, mount.path, "", `/dev/mapper/${mount.mapper}`, mount.mapper];
}

/** argv for `conn.run` (or `sh` locally): the body behind the fragment, with its own arguments. */
export function landedArgv(node: string, mount: EncryptedMount, body: string, args: readonly string[]): string[] {
  return ["sh", "-c", landingScript(body), "sh", ...landingArgs(node, mount), ...args];
}

/** Writes stdin to one file ($1, mode $2, owner $3) in a key directory of its own. */
export const WRITE_KEY_FILE = [
  'f=$1; mode=$2; owner=$3; name=${f##*/}',
  'land_target=$f; land_dir "${f%/*}"; land_own; land_file "$name"',
  "t=$(mktemp ./.rplan.XXXXXX); trap 'rm -f -- \"$t\"' EXIT",
  // Retried: the lab's gocryptfs 2.3 refuses root a chmod or chown now and then (rfjakob/gocryptfs#892);
  // the tenth try runs plainly, so a lasting refusal still fails with its message.
  'n=0; until chmod "$mode" "$t" 2>/dev/null && chown "$owner" "$t" 2>/dev/null; do n=$((n+1)); if [ $n -ge 10 ]; then chmod "$mode" "$t"; chown "$owner" "$t"; break; fi; sleep 0.1; done',
  'cat > "$t"',
  // -T: a directory (or a symlink to one) named like the file is never moved into.
  'mv -fT -- "$t" "$name"; trap - EXIT',
  'land_check "$name"',
].join("\n");

/** Prints a `landed` line for each argument (a path inside the mount). */
export const PROBE_LANDING = 'land_mount; for p; do land_probe "$p"; done';

/** The `landed` lines of a script's output. */
export function parseLanded(stdout: string): LandedOn[] {
  return stdout
    .split("\n")
    .filter((l) => l.startsWith("landed\t"))
    .map((l) => {
      const [, path, resolved, fsType, ok] = l.split("\t");
      return { path, resolved, fsType, encrypted: ok === "yes" };
    });
}

/** The output lines that are not `landed` lines. */
export function withoutLanded(stdout: string): string {
  return stdout
    .split("\n")
    .filter((l) => !l.startsWith("landed\t"))
    .join("\n");
}
