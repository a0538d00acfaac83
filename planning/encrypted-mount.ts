/**
 * Encrypted partitions are checked, never assumed. Pure helpers: what to ask a host about its
 * declared mount, and how to judge the answer. Used by providers (before any key work), by
 * `npm run unlock` and by the lab.
 */

/** A node's encrypted mount as declared in the stack config. */
export type EncryptedMount =
  | { readonly kind: "gocryptfs"; readonly path: string; readonly cipherDir: string }
  | { readonly kind: "luks"; readonly path: string; readonly device: string; readonly mapper: string };

export type MountVerdict =
  | { readonly state: "unlocked"; readonly fsType: string; readonly source: string }
  | { readonly state: "locked"; readonly message: string }
  | { readonly state: "not-encrypted"; readonly message: string };

/** The admin command that unlocks a node (the passphrase is asked for interactively). */
export function unlockHint(node: string): string {
  return `npm run unlock -- ${node}`;
}

/**
 * A shell script (argv for `sh -c`) that prints `findmnt` facts for the mount point and, for LUKS,
 * the dm-crypt status of the mapper. Exit code is always 0; the judge reads the text.
 */
export function mountProbeArgv(mount: EncryptedMount): string[] {
  const script =
    'findmnt -n -o FSTYPE,SOURCE --mountpoint "$1" 2>/dev/null | head -n1 | sed "s/^/mount /"; ' +
    'if [ -n "$2" ]; then cryptsetup status "$2" 2>/dev/null | sed -n "s/^ *type: */crypt /p"; fi; true';
  return ["sh", "-c", script, "sh", mount.path, mount.kind === "luks" ? mount.mapper : ""];
}

/** Judge the probe's output: is the declared mount an unlocked encrypted filesystem? */
export function judgeMount(node: string, mount: EncryptedMount, probeOutput: string): MountVerdict {
  const lines = probeOutput.split("\n");
  const mountLine = lines.find((l) => l.startsWith("mount "));
  const [fsType, source] = (mountLine ?? "").slice("mount ".length).trim().split(/\s+/);
  const cryptType = lines.find((l) => l.startsWith("crypt "))?.slice("crypt ".length).trim();
  if (!mountLine || !fsType) {
    return {
      state: "locked",
      message:
        `encrypted mount ${mount.path} on node ${node} is locked (nothing is mounted there). ` +
        `Unlock it with \`${unlockHint(node)}\` — it asks for the passphrase — then run the update again.`,
    };
  }
  if (mount.kind === "gocryptfs" && fsType === "fuse.gocryptfs") return { state: "unlocked", fsType, source };
  const mapperPath = mount.kind === "luks" ? `/dev/mapper/${mount.mapper}` : "";
  if (mount.kind === "luks" && source === mapperPath && /^LUKS[12]$/.test(cryptType ?? "")) {
    return { state: "unlocked", fsType, source };
  }
  const expected = mount.kind === "gocryptfs" ? "a fuse.gocryptfs filesystem" : `${mapperPath} backed by a LUKS dm-crypt device`;
  return {
    state: "not-encrypted",
    message:
      `${mount.path} on node ${node} is ${fsType} from ${source}, not ${expected}: ` +
      `refusing to put keys there. Check the node's encryptedMount in the stack config.`,
  };
}

/** The directory inside the encrypted mount where a service's private keys live. */
export function keyDir(mount: EncryptedMount, service: string): string {
  return `${mount.path}/keys/${service}`;
}

/** True when `path` is the mount itself or lies inside it (no `..` tricks: paths are normalized first). */
export function isInsideMount(mount: { readonly path: string }, path: string): boolean {
  const norm = normalizePosix(path);
  const root = normalizePosix(mount.path);
  return norm !== undefined && root !== undefined && (norm === root || norm.startsWith(root + "/"));
}

/** Normalize an absolute POSIX path; undefined for relative paths or paths escaping the root. */
export function normalizePosix(path: string): string | undefined {
  if (!path.startsWith("/")) return undefined;
  const out: string[] = [];
  for (const part of path.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      if (out.length === 0) return undefined;
      out.pop();
    } else out.push(part);
  }
  return "/" + out.join("/");
}
