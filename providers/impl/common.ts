/** What every provider implementation shares: Pulumi's preview-time unknown, and reaching a node. */
import { requireUnlocked } from "../../ops/unlock";
import { EncryptedMount, isInsideMount } from "../../planning/encrypted-mount";
import { SshConnection, sshConnection, SshError, SshTarget } from "../../transports/ssh";

/** The value Pulumi gives `check`/`diff` in preview for an input not known yet (pulumi/pulumi#791). */
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
export const isUnknown = (v: unknown): boolean => v === UNKNOWN;
/** Present and known: worth validating now (unknowns are checked again at `up`, when they are known). */
export const known = (v: unknown): boolean => v !== UNKNOWN && v !== undefined;

/** The SSH target of a node as the providers' inputs carry it (`node` + `ssh`). */
export function sshTarget(ref: { readonly node: string; readonly ssh: Omit<SshTarget, "node"> }): SshTarget {
  return { node: ref.node, ...ref.ssh };
}

/**
 * The connection a key-handling provider works on: every path it will write must lie inside the
 * node's encrypted mount (check refused others already; this holds for state written by older
 * code too), and the mount must be unlocked. Nothing is contacted when a path is outside.
 */
export async function connectForKeys(
  inputs: { readonly node: string; readonly ssh: Omit<SshTarget, "node">; readonly encryptedMount: EncryptedMount },
  keyPaths: readonly string[],
  what: string,
): Promise<SshConnection> {
  for (const p of keyPaths) {
    if (!isInsideMount(inputs.encryptedMount, p)) {
      throw new SshError(`[${inputs.node}] refusing to keep the ${what} outside the encrypted mount ${inputs.encryptedMount.path}: ${p}`, inputs.node);
    }
  }
  const conn = await sshConnection(sshTarget(inputs));
  await requireUnlocked(conn, inputs.encryptedMount);
  return conn;
}
