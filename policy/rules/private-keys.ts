/**
 * Rule: no private key material is written outside the target node's encrypted mount.
 *
 * - `checkPrivateKeysResource` (validateResource, inputs, before each step): files our node
 *   resources write are judged against the mount they claim; commands never carry keys; anything
 *   else carrying key material outside a known write position is refused (fail closed).
 * - `checkPrivateKeysStack` (validateStack, all resources): claimed mounts must be the node's;
 *   remote copies are judged against the mount of the node their connection reaches; every
 *   consumer of a @pulumi/tls private key (by propertyDependencies) may put it only in files inside
 *   its node's mount.
 */
import { isInsideMount, normalizePosix } from "../../planning/encrypted-mount";
import { KeyScan, scanKeyMaterial, ScanContext } from "./key-material";
import { NodeIndex, sameMount, showMount } from "./nodes";
import { contentPaths, endpointOf, isTls, mountProblem, shapeOf, TLS_PRIVATE_KEY, TLS_PRIVATE_OUTPUTS, Write } from "./shapes";
import { idOf, labelOf, Report, ResourceDesc, RuleOutput } from "./types";
import { isUnknown, showPath } from "./values";

const ADVICE = "generate keys on the node (NodeKey) or write them with HostFiles inside the node's encrypted mount";

export function checkPrivateKeysResource(r: ResourceDesc, ctx: ScanContext = {}): RuleOutput {
  const rep = new Report();
  const shape = shapeOf(r);
  if (shape.kind === "tls") return rep; // a tls resource's own key outputs: judged where they are consumed (stack rule)
  if (shape.kind === "node-resource") {
    const problem = mountProblem(shape.mount);
    for (const w of shape.writes) judgeWrite(rep, r, w, problem ? undefined : shape.mount, problem, ctx, `its encrypted mount`);
  }
  if (shape.kind === "copy") {
    const scan = scanKeyMaterial(shape.write.content, ctx, shape.write.contentAt);
    const path = shape.write.path;
    if (carries(scan) && !isUnknown(path) && (typeof path !== "string" || normalizePosix(path) === undefined)) {
      rep.violation(r, `${labelOf(r)} copies ${what(scan)} to ${JSON.stringify(path ?? null)}, which is not an absolute path inside an encrypted mount`);
    }
  }
  blanketScan(rep, r, contentPaths(shape), ctx, shape.kind);
  return rep;
}

export function checkPrivateKeysStack(resources: readonly ResourceDesc[], ctx: ScanContext = {}): RuleOutput {
  const rep = new Report();
  const nodes = new NodeIndex(resources);
  const byId = new Map(resources.map((r) => [idOf(r), r]));
  const tlsCtx: ScanContext = { ...ctx, knownSecrets: [...(ctx.knownSecrets ?? []), ...tlsSecrets(resources)] };
  for (const r of resources) {
    const shape = shapeOf(r);
    if (shape.kind === "node-resource" && shape.keyGeneration.length === 0) {
      // Key-generating resources are cross-checked by the key-generation rule.
      const n = nodes.byName(shape.node);
      if ("missing" in n) rep.violation(r, `${labelOf(r)} targets node ${JSON.stringify(shape.node)}, which has no NodeHost in this stack (unknown or revoked)`);
      else if ("found" in n && !sameMount(shape.mount, n.found.mount)) {
        rep.violation(r, `${labelOf(r)} claims encrypted mount ${showMount(shape.mount)} but node ${n.found.name} declares ${showMount(n.found.mount)}`);
      } else if ("unknown" in n) rep.unknown(r, ["node"], "which node it targets");
    }
    if (shape.kind === "copy") {
      const scan = scanKeyMaterial(shape.write.content, tlsCtx, shape.write.contentAt);
      if (carries(scan) || scan.unknown.length > 0) {
        const ep = endpointOf(r);
        const n = nodes.byEndpoint(ep?.host, ep?.port);
        if ("found" in n) judgeWrite(rep, r, shape.write, n.found.mount, mountProblem(n.found.mount), tlsCtx, `node ${n.found.name}'s encrypted mount`);
        else if ("unknown" in n) rep.unknown(r, ["connection"], "which node it copies to");
        else if (carries(scan)) rep.violation(r, `${labelOf(r)} copies ${what(scan)} to host ${JSON.stringify(ep?.host ?? null)}, which is no node of this stack: keys may only go to a node's encrypted mount`);
      }
    }
    tlsConsumers(rep, r, byId, nodes, tlsCtx);
  }
  return rep;
}

/** Lines of the body of every known @pulumi/tls private key: found in a value, they are that key. */
function tlsSecrets(resources: readonly ResourceDesc[]): string[] {
  const out: string[] = [];
  for (const r of resources) {
    if (r.type !== TLS_PRIVATE_KEY) continue;
    for (const k of TLS_PRIVATE_OUTPUTS) {
      const v = r.props[k];
      if (typeof v !== "string" || isUnknown(v)) continue;
      for (const line of v.split("\n")) if (line.length >= 40 && !line.startsWith("-----")) out.push(line.trim());
    }
  }
  return out;
}

/** Every resource whose properties come from a tls PrivateKey may put it only in files inside its node's mount. */
function tlsConsumers(rep: Report, r: ResourceDesc, byId: Map<string, ResourceDesc>, nodes: NodeIndex, ctx: ScanContext): void {
  if (isTls(r.type)) return; // certificates and requests sign with the key; nothing is written anywhere
  const shape = shapeOf(r);
  for (const [prop, deps] of Object.entries(r.propertyDependencies ?? {})) {
    const keys = deps.map((d) => byId.get(d)).filter((d): d is ResourceDesc => d?.type === TLS_PRIVATE_KEY);
    if (keys.length === 0) continue;
    const from = `tls PrivateKey ${keys.map((k) => k.name).join(", ")}`;
    const writes = shape.kind === "node-resource" ? shape.writes : shape.kind === "copy" ? [shape.write] : [];
    const fed = writes.filter((w) => w.contentAt?.[0] === prop);
    if (fed.length === 0) {
      // Not a file's content: the property may carry the key only if it visibly does not.
      const scan = scanKeyMaterial(r.props[prop], ctx, [prop]);
      if (carries(scan)) {
        rep.violation(r, `${labelOf(r)} takes the private key of ${from} in ${prop}, which is not a file written inside a node's encrypted mount (${what(scan)}); ${ADVICE}`);
      } else if (scan.unknown.length > 0) rep.unknown(r, scan.unknown[0], `whether ${prop} carries the private key of ${from}`);
      continue;
    }
    let mount: unknown;
    let where = "its node's encrypted mount";
    if (shape.kind === "copy") {
      const ep = endpointOf(r);
      const n = nodes.byEndpoint(ep?.host, ep?.port);
      if ("unknown" in n) {
        rep.unknown(r, ["connection"], `which node receives data derived from ${from}`);
        continue;
      }
      mount = "found" in n ? n.found.mount : undefined;
      if ("found" in n) where = `node ${n.found.name}'s encrypted mount`;
    } else if (shape.kind === "node-resource") {
      const n = nodes.byName(shape.node);
      mount = "found" in n ? n.found.mount : shape.mount;
      if ("found" in n) where = `node ${n.found.name}'s encrypted mount`;
    }
    for (const w of fed) {
      const scan = scanKeyMaterial(w.content, ctx, w.contentAt);
      const path = w.path;
      const inside = mount !== undefined && !mountProblem(mount) && typeof path === "string" && !isUnknown(path) && isInsideMount(mount as { path: string }, path);
      if (inside) continue;
      if (carries(scan)) {
        rep.violation(r, `${labelOf(r)} writes the private key of ${from} (${what(scan)}) to ${JSON.stringify(path ?? null)}, outside ${where}${mount === undefined ? " (the host is no node of this stack)" : ` ${showMount(mount)}`}`);
      } else if (scan.unknown.length > 0 || isUnknown(path)) {
        rep.unknown(r, isUnknown(path) ? w.pathAt : scan.unknown[0], `whether ${JSON.stringify(isUnknown(path) ? "(unknown path)" : path)} outside ${where} receives the private key of ${from}`);
      }
      // Known content without key material (a public key, a certificate) may go anywhere.
    }
  }
}

function carries(scan: KeyScan): boolean {
  return scan.hits.length > 0 || scan.opaque.length > 0;
}

function what(scan: KeyScan): string {
  if (scan.hits.length > 0) return `${scan.hits[0].kind} (${showPath(scan.hits[0].path)})`;
  if (scan.opaque.length > 0) return `${scan.opaque[0].what} (it may hold a private key)`;
  return "content";
}

/** A write of possibly-key content: its destination must be inside `mount`. */
function judgeWrite(rep: Report, r: ResourceDesc, w: Write, mount: unknown, problem: string | undefined, ctx: ScanContext, where: string): void {
  const scan = scanKeyMaterial(w.content, ctx, w.contentAt ?? []);
  const has = carries(scan);
  if (!has && scan.unknown.length === 0) return;
  const path = w.path;
  if (problem) {
    if (has) rep.violation(r, `${labelOf(r)} writes ${what(scan)} to ${JSON.stringify(path ?? null)} but ${problem}`);
    else rep.unknown(r, scan.unknown[0], `whether ${JSON.stringify(path ?? null)} receives private key material`);
    return;
  }
  if (isUnknown(path)) {
    rep.unknown(r, w.pathAt, `where ${has ? what(scan) : "possibly private key material"} is written`);
    return;
  }
  if (typeof path !== "string" || normalizePosix(path) === undefined) {
    if (has) rep.violation(r, `${labelOf(r)} writes ${what(scan)} to ${JSON.stringify(path ?? null)}, which is not an absolute path inside ${where}`);
    else rep.unknown(r, scan.unknown[0], `whether ${JSON.stringify(path ?? null)} receives private key material`);
    return;
  }
  const m = mount as { path: string };
  if (isInsideMount(m, path)) return;
  const norm = normalizePosix(path);
  const shown = norm !== path ? `${path} (that is ${norm})` : path;
  if (has) rep.violation(r, `${labelOf(r)} writes ${what(scan)} to ${shown}, outside ${where} ${m.path}; ${ADVICE}`);
  else rep.unknown(r, scan.unknown[0], `whether ${shown}, outside ${where} ${m.path}, receives private key material`);
}

/** Key material anywhere but the write positions judged above. */
function blanketScan(rep: Report, r: ResourceDesc, skip: string[][], ctx: ScanContext, kind: string): void {
  const scan = scanKeyMaterial(r.props, ctx);
  const judged = (p: readonly string[]) => skip.some((s) => s.every((x, i) => p[i] === x));
  const hits = scan.hits.filter((h) => !judged(h.path));
  const opaque = scan.opaque.filter((o) => !judged(o.path));
  for (const h of hits) {
    const where = showPath(h.path);
    if (h.path[0] === "__provider") {
      rep.violation(r, `${labelOf(r)}'s serialized dynamic provider captured ${h.kind}: providers must capture no secrets`);
    } else if (h.path[0] === "connection" && h.path[1] === "privateKey") {
      rep.violation(r, `${labelOf(r)} puts an SSH private key in ${where}: the admin's credentials never enter the stack (use the SSH agent)`);
    } else if (kind === "command") {
      rep.violation(r, `${labelOf(r)} carries ${h.kind} in ${where}: private keys must not travel in commands; ${ADVICE}`);
    } else if (kind === "unknown-dynamic" || kind === "other") {
      rep.violation(r, `${labelOf(r)} carries ${h.kind} in ${where}, and the policy does not know where a ${r.type} puts it (fail closed); ${ADVICE}`);
    } else {
      rep.violation(r, `${labelOf(r)} carries ${h.kind} in ${where}, which is not a file it writes inside its encrypted mount; ${ADVICE}`);
    }
  }
  for (const o of opaque) rep.violation(r, `${labelOf(r)} carries ${o.what} in ${showPath(o.path)}; the policy cannot rule out a private key there (fail closed)`);
  for (const u of scan.unknown.filter((p) => !judged(p))) {
    if (u[0] === "facts") continue; // NodeHost's read-only facts, computed by the provider
    rep.unknown(r, u, `whether ${showPath(u)} carries private key material`);
  }
}
