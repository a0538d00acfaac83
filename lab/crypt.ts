/**
 * Each node's gocryptfs mount (/srv/crypt over /srv/.crypt-cipher), the lab's stand-in for a LUKS
 * partition. The passphrase lives only in /var/lib/rplan-lab/secrets/<node>.pass and travels over stdin.
 */
import * as crypto from "crypto";
import * as fs from "fs";
import { shq, writeFileAtomic } from "./exec";
import { labSshTarget, sshRun, SshTarget } from "./ssh";
import { LAB_MOUNT } from "./stack-config";
import { SECRETS_DIR, secretFile } from "./state";
// Swap for the lead's ops/unlock.ts once it exists (same signature).
import { unlockEncryptedMount } from "./unlock";

function readSecret(name: string): string {
  return fs.readFileSync(secretFile(name), "utf8").trim();
}

/** Creates the passphrase and the cipher dir on first use (a new passphrase means a fresh cipher dir), then unlocks. */
export async function setupNodeCrypt(name: string): Promise<void> {
  const target = labSshTarget(name);
  let fresh = false;
  if (!fs.existsSync(secretFile(name))) {
    fs.mkdirSync(SECRETS_DIR, { recursive: true, mode: 0o700 });
    writeFileAtomic(secretFile(name), crypto.randomBytes(24).toString("base64url") + "\n", 0o600);
    fresh = true;
  }
  const c = shq(LAB_MOUNT.cipherDir);
  const p = shq(LAB_MOUNT.path);
  // Master key output goes to /dev/null: it must not reach any log.
  const script = `set -e
if ${fresh ? "true" : "false"}; then fusermount3 -u ${p} 2>/dev/null || true; rm -rf ${c}; fi
if [ ! -e ${c}/gocryptfs.conf ]; then mkdir -p ${c} ${p}; gocryptfs -init -q -passfile /dev/stdin ${c} >/dev/null; fi`;
  await sshRun(target, script, readSecret(name) + "\n");
  await unlockEncryptedMount(target, LAB_MOUNT, readSecret(name));
}

export async function isUnlocked(target: SshTarget): Promise<boolean> {
  const res = await sshRun(target, `findmnt -n -o FSTYPE --mountpoint ${shq(LAB_MOUNT.path)}`, undefined, false);
  return res.stdout.trim() === "fuse.gocryptfs";
}

/** Test helper: lock a node's mount as after a reboot. */
export async function lockNode(name: string): Promise<void> {
  await sshRun(labSshTarget(name), `fusermount3 -u ${shq(LAB_MOUNT.path)}`);
}

export async function unlockNode(name: string): Promise<void> {
  await unlockEncryptedMount(labSshTarget(name), LAB_MOUNT, readSecret(name));
}
