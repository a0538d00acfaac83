/**
 * A stand-in for a node's encrypted mount when running the landing fragment locally: /dev/shm (a
 * tmpfs mount point on every Linux machine, writable without root) is the "encrypted" mount root,
 * and the fragment is told to expect its fs type instead of fuse.gocryptfs. Everything else (the
 * symlink walk, the device comparison) runs exactly as on a node.
 */
import * as fs from "fs";
import * as path from "path";
import type { EncryptedMount } from "../../planning/encrypted-mount";

export const FAKE_ROOT = "/dev/shm";
export const FAKE_MOUNT: EncryptedMount = { kind: "gocryptfs", path: FAKE_ROOT, cipherDir: "/nonexistent" };

/** A fresh directory below the fake mount root. */
export function fakeMountDir(prefix: string): string {
  return fs.mkdtempSync(path.join(FAKE_ROOT, prefix));
}

/** Landing argv (from landedArgv) with the fake root's fs type expected in place of fuse.gocryptfs. */
export function onFakeMount(argv: string[], fsType = "tmpfs"): string[] {
  if (argv[5] !== FAKE_ROOT || argv[6] !== "fuse.gocryptfs") throw new Error(`not a landing argv for ${FAKE_ROOT}: ${argv.slice(4, 9).join(" ")}`);
  return [...argv.slice(0, 6), fsType, ...argv.slice(7)];
}
