/** What every node must have, whatever its country: pure facts used by the Node component. */
import { EncryptedMount, keyDir } from "./encrypted-mount";
import { KEY_SERVICES, SERVICE_PACKAGES } from "./services";

/** The tools that open a node's encrypted mount, by its kind. */
export function mountPackages(kind: EncryptedMount["kind"]): string[] {
  return kind === "gocryptfs" ? ["gocryptfs", "fuse3"] : ["cryptsetup"];
}

/** The Debian packages a node needs: every service's (planning/services), the encrypted-mount tools, and the config's extras. */
export function nodePackages(mount: EncryptedMount, extra: readonly string[]): string[] {
  return [...new Set([...SERVICE_PACKAGES, ...mountPackages(mount.kind), ...extra])].sort();
}

/** Service → key directory inside the node's encrypted mount (config overrides win; they are validated). */
export function nodeKeyDirs(mount: EncryptedMount, overrides: Readonly<Record<string, string>> = {}): Record<string, string> {
  return Object.fromEntries(KEY_SERVICES.map((s) => [s, overrides[s] ?? keyDir(mount, s)]));
}
