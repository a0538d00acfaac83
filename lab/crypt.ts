/**
 * Each node's gocryptfs mount (/srv/crypt over /srv/.crypt-cipher), the lab's stand-in for a LUKS
 * partition. The passphrase lives only in /var/lib/rplan-lab/secrets/<node>.pass and travels over
 * the SSH channel's stdin; unlocking is the same code path admins use (ops/unlock.ts).
 */
import * as crypto from "crypto";
import * as fs from "fs";
import { lockEncryptedMount, probeMount, unlockEncryptedMount } from "../ops/unlock";
import { sshConnection } from "../transports/ssh";
import { writeFileAtomic } from "./exec";
import { labSshTarget } from "./ssh";
import { LAB_MOUNT } from "./stack-config";
import { SECRETS_DIR, secretFile } from "./state";

const readSecret = (name: string) => fs.readFileSync(secretFile(name), "utf8").trim();

/** Creates the passphrase and the cipher dir on first use (a new passphrase means a fresh cipher dir), then unlocks. */
export async function setupNodeCrypt(name: string): Promise<void> {
  const target = labSshTarget(name);
  let fresh = false;
  if (!fs.existsSync(secretFile(name))) {
    fs.mkdirSync(SECRETS_DIR, { recursive: true, mode: 0o700 });
    writeFileAtomic(secretFile(name), crypto.randomBytes(24).toString("base64url") + "\n", 0o600);
    fresh = true;
  }
  // Master key output goes to /dev/null: it must not reach any log.
  const script = `set -e; c=$1; p=$2
if [ "$3" = fresh ]; then fusermount3 -u "$p" 2>/dev/null || true; rm -rf "$c"; fi
if [ ! -e "$c/gocryptfs.conf" ]; then mkdir -p "$c" "$p"; gocryptfs -init -q -passfile /dev/stdin "$c" >/dev/null; fi`;
  const conn = await sshConnection(target);
  await conn.run(["sh", "-c", script, "sh", LAB_MOUNT.cipherDir, LAB_MOUNT.path, fresh ? "fresh" : "keep"], {
    stdin: readSecret(name) + "\n",
    label: `init gocryptfs ${LAB_MOUNT.cipherDir}`,
  });
  await unlockEncryptedMount(target, LAB_MOUNT, readSecret(name));
}

export async function isUnlocked(name: string): Promise<boolean> {
  return (await probeMount(await sshConnection(labSshTarget(name)), LAB_MOUNT)).state === "unlocked";
}

/** Test helper: lock a node's mount as after a reboot. */
export const lockNode = (name: string) => lockEncryptedMount(labSshTarget(name), LAB_MOUNT);

export const unlockNode = (name: string) => unlockEncryptedMount(labSshTarget(name), LAB_MOUNT, readSecret(name));
