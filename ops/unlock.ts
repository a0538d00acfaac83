/**
 * Unlocking a node's encrypted mount: the one code path used by `npm run unlock` and by the lab.
 * The passphrase travels only on the SSH channel's stdin — never in argv, logs, the stack or state.
 */
import { EncryptedMount, judgeMount, mountProbeArgv, MountVerdict } from "../planning/encrypted-mount";
import { MOUNT_UNITS } from "../planning/services";
import { SshConnection, SshError, sshConnection, SshTarget } from "../transports/ssh";

/** gocryptfs exits 12 on a wrong password; cryptsetup exits 2. */
const WRONG_PASSPHRASE: Record<EncryptedMount["kind"], number> = { gocryptfs: 12, luks: 2 };

/** Ask the host what is mounted at the declared path and judge it. */
export async function probeMount(conn: SshConnection, mount: EncryptedMount): Promise<MountVerdict> {
  const r = await conn.run(mountProbeArgv(mount), { label: `probe encrypted mount ${mount.path}` });
  return judgeMount(conn.target.node, mount, r.stdout);
}

/**
 * Stop unless the node's encrypted mount is unlocked: every key-handling step on a node starts
 * here, and the error tells the admin how to unlock it.
 */
export async function requireUnlocked(conn: SshConnection, mount: EncryptedMount): Promise<void> {
  const m = await probeMount(conn, mount);
  if (m.state !== "unlocked") throw new SshError(m.message, conn.target.node);
}

/** Is the node's mount unlocked already? (Asked before a passphrase is asked for.) */
export async function isUnlocked(target: SshTarget, mount: EncryptedMount): Promise<boolean> {
  return (await probeMount(await sshConnection(target), mount)).state === "unlocked";
}

/**
 * Unlock (mount) the encrypted partition. Returns "already unlocked" (nothing run, no passphrase
 * used) or "unlocked" (mounted, verified, and the services using the mount restarted).
 */
export async function unlockEncryptedMount(target: SshTarget, mount: EncryptedMount, passphrase: string): Promise<"unlocked" | "already unlocked"> {
  const conn = await sshConnection(target);
  const before = await probeMount(conn, mount);
  if (before.state === "unlocked") return "already unlocked";
  if (before.state === "not-encrypted") throw new SshError(before.message, target.node);
  // -allow_other: FUSE otherwise lets only the mounting user (root) in, and slapd runs as openldap.
  // gocryptfs then enforces file modes itself (default_permissions), so 0600/0700 keep holding.
  const argv =
    mount.kind === "gocryptfs"
      ? ["sh", "-c", 'mkdir -p "$2" && exec gocryptfs -q -allow_other "$1" "$2"', "sh", mount.cipherDir, mount.path]
      : ["sh", "-c", 'cryptsetup open --type luks --key-file - "$1" "$2" && mkdir -p "$3" && mount "/dev/mapper/$2" "$3"', "sh", mount.device, mount.mapper, mount.path];
  const r = await conn.run(argv, { stdin: passphrase + "\n", allowFailure: true, label: `unlock ${mount.path}` });
  if (r.code === WRONG_PASSPHRASE[mount.kind]) {
    throw new SshError(`[${target.node}] wrong passphrase for ${mount.path}; nothing was changed`, target.node, r.code);
  }
  if (r.code !== 0) {
    throw new SshError(`[${target.node}] unlocking ${mount.path} failed (exit ${r.code}): ${r.stderr.trim()}`, target.node, r.code);
  }
  const after = await probeMount(conn, mount);
  if (after.state !== "unlocked") throw new SshError(`[${target.node}] ${mount.path} still not unlocked after unlock: ${after.message}`, target.node);
  await restartMountUnits(conn);
  return "unlocked";
}

/** Restart the enabled units that read from the mount, so they pick up their keys and data again. */
async function restartMountUnits(conn: SshConnection): Promise<void> {
  const script = 'for u; do if systemctl is-enabled -q "$u" 2>/dev/null; then systemctl restart "$u" || echo "$u" >&2; fi; done';
  const r = await conn.run(["sh", "-c", script, "sh", ...MOUNT_UNITS], { allowFailure: true, label: "restart services using the encrypted mount" });
  const failed = r.stderr.trim().split("\n").filter((u) => MOUNT_UNITS.includes(u));
  if (failed.length > 0) throw new SshError(`[${conn.target.node}] unlocked, but ${failed.join(", ")} did not restart: see \`journalctl -u ${failed[0]}\` on the node`, conn.target.node);
}

/** Lock (unmount) the encrypted partition: for drills and tests; keys become unreadable. */
export async function lockEncryptedMount(target: SshTarget, mount: EncryptedMount): Promise<void> {
  const conn = await sshConnection(target);
  // As at a shutdown: the services using the mount stop first (slapd keeps its database open there).
  await conn.run(["systemctl", "stop", ...MOUNT_UNITS], { allowFailure: true, label: "stop services using the encrypted mount" });
  const argv =
    mount.kind === "gocryptfs"
      ? ["sh", "-c", 'if findmnt --mountpoint "$1" >/dev/null; then fusermount3 -u "$1"; fi', "sh", mount.path]
      : ["sh", "-c", 'if findmnt --mountpoint "$1" >/dev/null; then umount "$1"; fi; cryptsetup close "$2" 2>/dev/null || true', "sh", mount.path, mount.mapper];
  await conn.run(argv, { label: `lock ${mount.path}` });
}
