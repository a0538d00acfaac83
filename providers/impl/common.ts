/** What every provider implementation shares: Pulumi's preview-time unknown, and reaching a node. */
import type { SshTarget } from "../../transports/ssh";

/** The value Pulumi gives `check`/`diff` in preview for an input not known yet (pulumi/pulumi#791). */
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
export const isUnknown = (v: unknown): boolean => v === UNKNOWN;
/** Present and known: worth validating now (unknowns are checked again at `up`, when they are known). */
export const known = (v: unknown): boolean => v !== UNKNOWN && v !== undefined;

/** The SSH target of a node as the providers' inputs carry it (`node` + `ssh`). */
export function sshTarget(ref: { readonly node: string; readonly ssh: Omit<SshTarget, "node"> }): SshTarget {
  return { node: ref.node, ...ref.ssh };
}
