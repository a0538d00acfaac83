/**
 * Rule: no key or secret is found off its node's encrypted filesystem. A path prefix proves nothing
 * on a host (a directory can be a symlink), so the providers resolve the real path on the node when
 * they write a key and again at every refresh, and report it as `landedOn: [{path, resolved,
 * fsType, encrypted}]` in their outputs (planning/key-landing.ts). This stack rule reads those
 * facts: a key that sat on tmpfs or the plain disk is exposed, whatever the inputs say.
 */
import { labelOf, Report, ResourceDesc, RuleOutput } from "./types";
import { isUnknown } from "./values";

export function checkLandedStack(resources: readonly ResourceDesc[]): RuleOutput {
  const rep = new Report();
  for (const r of resources) {
    const landed = r.props.landedOn;
    if (landed === undefined) continue;
    if (isUnknown(landed)) {
      rep.unknown(r, ["landedOn"], "where its keys land");
      continue;
    }
    if (!Array.isArray(landed)) {
      rep.violation(r, `${labelOf(r)} reports landedOn that is not a list: cannot tell where its keys land`);
      continue;
    }
    for (const l of landed as Record<string, unknown>[]) {
      if (l?.encrypted === true) continue;
      rep.violation(
        r,
        `${labelOf(r)}: ${String(l?.path)} resolves to ${String(l?.resolved)} on ${String(l?.fsType || "?")}, off its node's encrypted filesystem; ` +
          `a key there is exposed: remove what redirects the path (a symlink or a mount), then run up again (the key is replaced by a fresh one)`,
      );
    }
  }
  return rep;
}
