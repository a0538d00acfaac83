/**
 * Rule: every node's SSH host key is pinned, and everything that connects to a node pins that
 * node's key.
 *
 * - `checkHostKeysResource` (inputs): a NodeHost (and any dynamic resource of ours with `ssh`)
 *   carries a non-empty `ssh.hostKeys` of OpenSSH public-key lines; a `command:remote:*`
 *   resource's `connection.hostKey`, when given, is such a line.
 * - `checkHostKeysStack`: a resource on node N connects to N's endpoint with keys N pins; a
 *   `command:remote:*` resource reaches a node of the stack (whose NodeHost pins its keys — the
 *   executor pins them: the stack runner's command stand-in takes them from the stack config) and,
 *   if it names a `connection.hostKey`, that key is one the node pins. A remote command to any
 *   other host would have no pinned key at all.
 */
import { NodeIndex } from "./nodes";
import { endpointOf, LOCAL_COMMAND, NODE_HOST, shapeOf } from "./shapes";
import { labelOf, Report, ResourceDesc, RuleOutput } from "./types";
import { isUnknown } from "./values";

const HOST_KEY = /^(ssh-ed25519|ecdsa-sha2-nistp256|ecdsa-sha2-nistp384|ecdsa-sha2-nistp521|ssh-rsa|sk-ssh-ed25519@openssh\.com|sk-ecdsa-sha2-nistp256@openssh\.com) ([A-Za-z0-9+/]+={0,2})( \S+)?$/;

/** "type base64" of an OpenSSH public key line whose blob names the same type; undefined if it is not one. */
export function hostKeyId(line: unknown): string | undefined {
  if (typeof line !== "string") return undefined;
  const m = HOST_KEY.exec(line.trim());
  if (!m) return undefined;
  const blob = Buffer.from(m[2], "base64");
  if (blob.length < 4 || blob.subarray(4, 4 + blob.readUInt32BE(0)).toString() !== m[1]) return undefined;
  return `${m[1]} ${m[2]}`;
}

export function checkHostKeysResource(r: ResourceDesc): RuleOutput {
  const rep = new Report();
  if (r.type === LOCAL_COMMAND) return rep;
  const ep = endpointOf(r);
  if (!ep) {
    if (r.type === NODE_HOST) rep.violation(r, `${labelOf(r)} has no ssh endpoint, so its host key cannot be pinned`);
    return rep;
  }
  const field = ep.single ? `${ep.at}.hostKey` : `${ep.at}.hostKeys`;
  const host = isUnknown(ep.host) ? "its host" : JSON.stringify(ep.host ?? null);
  if (isUnknown(ep.hostKeys)) {
    rep.unknown(r, [ep.at, ep.single ? "hostKey" : "hostKeys"], "its pinned host keys");
    return rep;
  }
  const keys = ep.single ? (ep.hostKeys === undefined || ep.hostKeys === null ? [] : [ep.hostKeys]) : Array.isArray(ep.hostKeys) ? ep.hostKeys : [];
  if (keys.length === 0 && ep.single) return rep; // a command's key comes from its node's NodeHost (stack rule)
  if (keys.length === 0) {
    rep.violation(r, `${labelOf(r)} connects to ${host} without a pinned SSH host key (${field} is empty): rplan never trusts on first use`);
    return rep;
  }
  keys.forEach((k, i) => {
    if (isUnknown(k)) rep.unknown(r, [ep.at, ep.single ? "hostKey" : `hostKeys`, ...(ep.single ? [] : [String(i)])], "a pinned host key");
    else if (!hostKeyId(k)) rep.violation(r, `${labelOf(r)}: ${field}${ep.single ? "" : `[${i}]`} ${JSON.stringify(k)} is not an OpenSSH public host key line ("ssh-ed25519 AAAA...")`);
  });
  return rep;
}

export function checkHostKeysStack(resources: readonly ResourceDesc[]): RuleOutput {
  const rep = new Report();
  const nodes = new NodeIndex(resources);
  for (const r of resources) {
    if (r.type === NODE_HOST) continue;
    const ep = endpointOf(r);
    if (!ep || isUnknown(ep.hostKeys)) continue;
    const shape = shapeOf(r);
    const n = shape.kind === "node-resource" ? nodes.byName(shape.node) : nodes.byEndpoint(ep.host, ep.port);
    if ("unknown" in n) {
      rep.unknown(r, [ep.at], "which node it connects to");
      continue;
    }
    if ("missing" in n) {
      // A resource of ours naming an unknown node is refused by the key-placement rules.
      if (ep.single) rep.violation(r, `${labelOf(r)} connects to ${String(ep.host)}:${String(ep.port ?? 22)}, which is no node of this stack, so no pinned SSH host key covers it`);
      continue;
    }
    const node = n.found;
    if (shape.kind === "node-resource" && !isUnknown(ep.host) && (ep.host !== node.host || (ep.port ?? 22) !== node.port)) {
      rep.violation(r, `${labelOf(r)} is on node ${node.name} but connects to ${String(ep.host)}:${String(ep.port ?? 22)}, not the node's ${String(node.host)}:${String(node.port)}`);
    }
    const pinned = new Set((Array.isArray(node.hostKeys) ? node.hostKeys : []).map(hostKeyId).filter((k): k is string => !!k));
    const keys = ep.single ? [ep.hostKeys] : Array.isArray(ep.hostKeys) ? ep.hostKeys : [];
    for (const k of keys) {
      if (isUnknown(k)) continue;
      const id = hostKeyId(k);
      if (id && !pinned.has(id)) rep.violation(r, `${labelOf(r)} pins host key ${id.slice(0, 40)}… for node ${node.name}, which is not one of the keys node ${node.name} pins`);
    }
  }
  return rep;
}
