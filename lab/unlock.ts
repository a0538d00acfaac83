/**
 * Stand-in for ops/unlock.ts (the lead's, not written yet): same signature, via OpenSSH. Idempotent:
 * an already unlocked mount is left alone.
 */
import { shq } from "./exec";
import { sshRun, SshTarget } from "./ssh";

export interface EncryptedMount {
  kind: "gocryptfs" | "luks";
  path: string;
  cipherDir?: string;
  device?: string;
}

export async function unlockEncryptedMount(target: SshTarget, mount: EncryptedMount, passphrase: string): Promise<void> {
  if (mount.kind !== "gocryptfs" || !mount.cipherDir) throw new Error(`${target.node}: the lab unlocks only gocryptfs mounts with a cipherDir`);
  const p = shq(mount.path);
  const script = `set -e
findmnt -n --mountpoint ${p} >/dev/null && exit 0
mkdir -p ${p}
exec gocryptfs -q -passfile /dev/stdin ${shq(mount.cipherDir)} ${p}`;
  const res = await sshRun(target, script, passphrase + "\n", false);
  if (res.code === 12) throw new Error(`${target.node}: wrong passphrase for ${mount.path}`);
  if (res.code !== 0) throw new Error(`${target.node}: unlocking ${mount.path} failed (exit ${res.code}): ${res.stderr.trim()}`);
}
