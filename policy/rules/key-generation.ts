/**
 * Rule: key-generating resources target a directory inside the node's encrypted mount.
 *
 * - `checkKeyGenerationResource` (inputs): a NodeHost declares a usable encrypted mount and every
 *   key directory inside it; a NodeKey or ServiceTlsKey (or any dynamic resource of ours with
 *   `privateKeyPath` (+ `certPath`), `keyDir` or `keyDirs`) generates inside the mount it claims;
 *   a ServiceTlsKey declares all of `keyDir`, `privateKeyPath` and `certPath`.
 * - `checkKeyGenerationStack` (outputs): that claimed mount is the node's own (its NodeHost's),
 *   and a key generator returns no private key material (only public halves come back).
 */
import { isInsideMount, normalizePosix } from "../../planning/encrypted-mount";
import { scanKeyMaterial, ScanContext } from "./key-material";
import { NodeIndex, sameMount, showMount } from "./nodes";
import { DKIM_KEY, isDynamic, mountProblem, SERVICE_TLS_KEY, shapeOf, Write } from "./shapes";
import { labelOf, Report, ResourceDesc, RuleOutput } from "./types";
import { isUnknown, showPath } from "./values";

/** The paths each known generator writes to: each must be declared, to be judged (fail closed). */
const GENERATOR_PATHS: Readonly<Record<string, readonly string[]>> = {
  [SERVICE_TLS_KEY]: ["keyDir", "privateKeyPath", "certPath"],
  [DKIM_KEY]: ["privateKeyPath"],
};

export function checkKeyGenerationResource(r: ResourceDesc): RuleOutput {
  const rep = new Report();
  const shape = shapeOf(r);
  if (shape.kind === "node-resource" && r.type in GENERATOR_PATHS) {
    for (const k of GENERATOR_PATHS[r.type]) if (r.props[k] === undefined || r.props[k] === null) rep.violation(r, `${labelOf(r)} declares no ${k}, so nothing shows where it generates its key (fail closed)`);
  }
  if (shape.kind === "node-host" || (shape.kind === "node-resource" && shape.keyGeneration.length > 0)) {
    const problem = mountProblem(shape.mount);
    if (problem) {
      if (isUnknown(shape.mount)) rep.unknown(r, ["encryptedMount"], "its encrypted mount");
      else rep.violation(r, `${labelOf(r)} ${problem}: keys must be generated inside an encrypted mount`);
      return rep;
    }
    for (const w of shape.keyGeneration) judge(rep, r, w, shape.mount as { path: string });
  } else if (shape.kind === "unknown-dynamic" && isDynamic(r.type) && ["privateKeyPath", "keyDir", "keyDirs"].some((k) => k in r.props)) {
    rep.violation(r, `${labelOf(r)} generates keys but declares no node and encryptedMount, so nothing shows its keys stay inside an encrypted mount (fail closed)`);
  }
  return rep;
}

function judge(rep: Report, r: ResourceDesc, w: Write, mount: { path: string }): void {
  if (isUnknown(w.path)) return void rep.unknown(r, w.pathAt, `where its ${w.what} is`);
  const problem = generationPlaceProblem(mount, w.path, w.pathAt);
  if (problem) rep.violation(r, `${labelOf(r)} puts its ${w.what}${problem}`);
}

/**
 * Why a key generated at `path` is not strictly inside `mount` (after normalizing: `..` cannot
 * climb out, the mount point itself holds no key), as the end of "… puts its <what>…"; undefined
 * when it is inside. Shared by every rule that places a generated key (also the DKIM rule).
 */
export function generationPlaceProblem(mount: { readonly path: string }, path: unknown, pathAt: readonly string[]): string | undefined {
  if (typeof path !== "string" || normalizePosix(path) === undefined) {
    return ` (${showPath(pathAt)}) at ${JSON.stringify(path ?? null)}, which is not an absolute path inside its encrypted mount ${mount.path}`;
  }
  if (isInsideMount(mount, path) && normalizePosix(path) !== normalizePosix(mount.path)) return undefined;
  const norm = normalizePosix(path);
  const shown = norm !== path ? `${path} (that is ${norm})` : path;
  const where = norm === normalizePosix(mount.path) ? "the mount point itself, not a directory inside" : "outside";
  return ` at ${shown}, ${where} its encrypted mount ${mount.path}`;
}

export function checkKeyGenerationStack(resources: readonly ResourceDesc[], ctx: ScanContext = {}): RuleOutput {
  const rep = new Report();
  const nodes = new NodeIndex(resources);
  for (const r of resources) {
    const shape = shapeOf(r);
    if (shape.kind !== "node-resource" || shape.keyGeneration.length === 0) continue;
    const n = nodes.byName(shape.node);
    if ("missing" in n) rep.violation(r, `${labelOf(r)} generates keys on node ${JSON.stringify(shape.node)}, which has no NodeHost in this stack (unknown or revoked)`);
    else if ("unknown" in n) rep.unknown(r, ["node"], "which node it generates keys on");
    else if (!sameMount(shape.mount, n.found.mount)) {
      rep.violation(r, `${labelOf(r)} claims encrypted mount ${showMount(shape.mount)} but node ${n.found.name} declares ${showMount(n.found.mount)}`);
    }
    const scan = scanKeyMaterial(r.props, ctx);
    for (const h of scan.hits) rep.violation(r, `${labelOf(r)} returns ${h.kind} in ${showPath(h.path)}: a key generated on the node stays there; only its public half may come back`);
  }
  return rep;
}
