/**
 * The resource conventions the rules rely on (documented in docs/policy.md): which resources
 * belong to a node, which encrypted mount they claim, which paths they write and where their
 * content is, and how command resources reach a host.
 */
import { normalizePosix } from "../../planning/encrypted-mount";
import { ResourceDesc } from "./types";
import { ASSET_SIG, at, isObject, isUnknown, SIG_KEY } from "./values";

export const NODE_HOST = "pulumi-nodejs:dynamic/rplan:NodeHost";
export const HOST_FILES = "pulumi-nodejs:dynamic/rplan:HostFiles";
export const NODE_KEY = "pulumi-nodejs:dynamic/rplan:NodeKey";
export const SERVICE_TLS_KEY = "pulumi-nodejs:dynamic/rplan:ServiceTlsKey";
/** A node's DKIM signing key, generated in its mount like ServiceTlsKey (`<node>-dkim-key`). */
export const DKIM_KEY = "pulumi-nodejs:dynamic/rplan:DkimKey";
export const DNS_CHECK = "pulumi-nodejs:dynamic/rplan:DnsCheck";
export const REMOTE_COMMAND = "command:remote:Command";
export const LOCAL_COMMAND = "command:local:Command";
export const COPY_TO_REMOTE = "command:remote:CopyToRemote";
export const COPY_FILE = "command:remote:CopyFile";
export const TLS_PRIVATE_KEY = "tls:index/privateKey:PrivateKey";
/** Outputs of a tls PrivateKey that are private key material. */
export const TLS_PRIVATE_OUTPUTS = ["privateKeyPem", "privateKeyOpenssh", "privateKeyPemPkcs8"];

export function isDynamic(type: string): boolean {
  return type.startsWith("pulumi-nodejs:dynamic");
}

export function isTls(type: string): boolean {
  return type.startsWith("tls:");
}

/** A place a resource writes: a file, a copied file or tree, a generated key, a key directory. */
export interface Write {
  /** Property path of the destination path (for messages and unknowns). */
  readonly pathAt: string[];
  /** The destination as given: a string, UNKNOWN, or something malformed. */
  readonly path: unknown;
  /** Property path of the content written there; absent for generated keys and key directories. */
  readonly contentAt?: string[];
  readonly content?: unknown;
  /** Generated keys and key directories must be inside the mount whatever their content. */
  readonly keyGeneration: boolean;
  readonly what: string;
}

export type Shape =
  /** NodeHost: the node itself; its key directories are key-generation targets. */
  | { readonly kind: "node-host"; readonly node: unknown; readonly mount: unknown; readonly keyGeneration: Write[] }
  /** A resource of ours on a node that claims the node's mount and writes there. */
  | { readonly kind: "node-resource"; readonly node: unknown; readonly mount: unknown; readonly writes: Write[]; readonly keyGeneration: Write[] }
  /** A command: remote (reaches `connection`) or local. */
  | { readonly kind: "command"; readonly remote: boolean }
  /** A remote copy: writes `write` on the host named by `connection`. */
  | { readonly kind: "copy"; readonly write: Write }
  | { readonly kind: "tls" }
  /** A dynamic resource of no known shape: carrying key material is a violation (fail closed). */
  | { readonly kind: "unknown-dynamic" }
  /** Anything else (components, providers, the stack, random, ...). */
  | { readonly kind: "other" };

/** How the rules see a resource. */
export function shapeOf(r: ResourceDesc): Shape {
  const p = r.props;
  if (r.type === NODE_HOST) {
    return { kind: "node-host", node: p.node, mount: p.encryptedMount, keyGeneration: keyDirWrites(p) };
  }
  if (r.type === REMOTE_COMMAND || r.type === LOCAL_COMMAND) return { kind: "command", remote: r.type === REMOTE_COMMAND };
  if (r.type === COPY_TO_REMOTE) {
    return { kind: "copy", write: { pathAt: ["remotePath"], path: p.remotePath, contentAt: ["source"], content: p.source, keyGeneration: false, what: "copy" } };
  }
  if (r.type === COPY_FILE) {
    const content = isUnknown(p.localPath) ? p.localPath : { [SIG_KEY]: ASSET_SIG, path: p.localPath };
    return { kind: "copy", write: { pathAt: ["remotePath"], path: p.remotePath, contentAt: ["localPath"], content, keyGeneration: false, what: "copy" } };
  }
  if (isTls(r.type)) return { kind: "tls" };
  if (isDynamic(r.type)) {
    const writes = fileWrites(p);
    const keyGeneration = [...keyPathWrites(p), ...keyDirWrites(p)];
    if ("node" in p && "encryptedMount" in p && (writes.length > 0 || keyGeneration.length > 0 || r.type === HOST_FILES || r.type === NODE_KEY || r.type === SERVICE_TLS_KEY || r.type === DKIM_KEY)) {
      return { kind: "node-resource", node: p.node, mount: p.encryptedMount, writes, keyGeneration };
    }
    return { kind: "unknown-dynamic" };
  }
  return { kind: "other" };
}

/** `files: [{path, content}]` and `path` + `content`. */
function fileWrites(p: Readonly<Record<string, unknown>>): Write[] {
  const out: Write[] = [];
  if (isUnknown(p.files)) out.push({ pathAt: ["files"], path: p.files, contentAt: ["files"], content: p.files, keyGeneration: false, what: "files" });
  else if (Array.isArray(p.files)) {
    p.files.forEach((f, i) => {
      const base = ["files", String(i)];
      out.push({ pathAt: [...base, "path"], path: at(f, ["path"]), contentAt: [...base, "content"], content: at(f, ["content"]), keyGeneration: false, what: "file" });
    });
  }
  if ("path" in p) out.push({ pathAt: ["path"], path: p.path, contentAt: ["content"], content: p.content, keyGeneration: false, what: "file" });
  return out;
}

/**
 * `privateKeyPath`: a key generated there; with it, `certPath`: the certificate generated beside
 * the key (ServiceTlsKey), held to the same place — it is written by the same generation, in the
 * same key directory.
 */
function keyPathWrites(p: Readonly<Record<string, unknown>>): Write[] {
  if (!("privateKeyPath" in p)) return [];
  const out: Write[] = [{ pathAt: ["privateKeyPath"], path: p.privateKeyPath, keyGeneration: true, what: "generated private key" }];
  if ("certPath" in p) out.push({ pathAt: ["certPath"], path: p.certPath, keyGeneration: true, what: "generated certificate" });
  return out;
}

/** `keyDir` / `keyDirs: {service: dir}`: directories keys are generated in. */
function keyDirWrites(p: Readonly<Record<string, unknown>>): Write[] {
  const out: Write[] = [];
  if ("keyDir" in p) out.push({ pathAt: ["keyDir"], path: p.keyDir, keyGeneration: true, what: "key directory" });
  if (isUnknown(p.keyDirs)) out.push({ pathAt: ["keyDirs"], path: p.keyDirs, keyGeneration: true, what: "key directories" });
  else if (isObject(p.keyDirs)) {
    for (const [service, dir] of Object.entries(p.keyDirs)) out.push({ pathAt: ["keyDirs", service], path: dir, keyGeneration: true, what: `key directory for ${service}` });
  } else if ("keyDirs" in p) out.push({ pathAt: ["keyDirs"], path: p.keyDirs, keyGeneration: true, what: "key directories (malformed)" });
  return out;
}

/** Property paths that hold content a rule judges by destination (excluded from the blanket scan). */
export function contentPaths(shape: Shape): string[][] {
  if (shape.kind === "node-resource") return shape.writes.flatMap((w) => (w.contentAt ? [w.contentAt] : []));
  if (shape.kind === "copy") return shape.write.contentAt ? [shape.write.contentAt] : [];
  return [];
}

/** A declared encrypted mount usable for an inside check: `{kind, path}` with a normalized absolute path other than /. */
export function mountProblem(mount: unknown): string | undefined {
  if (!isObject(mount)) return "declares no encrypted mount";
  const path = mount.path;
  if (typeof path !== "string") return `declares an encrypted mount without a path (got ${JSON.stringify(path ?? null)})`;
  if (normalizePosix(path) !== path || path === "/") return `declares encrypted mount path ${JSON.stringify(path)}, which is not a normalized absolute path other than /`;
  if (mount.kind !== "luks" && mount.kind !== "gocryptfs") return `declares an encrypted mount of unknown kind ${JSON.stringify(mount.kind ?? null)}`;
  return undefined;
}

/** The SSH endpoint a resource connects to: our `ssh` or a command's `connection`. */
export function endpointOf(r: ResourceDesc): { readonly at: string; readonly host: unknown; readonly port: unknown; readonly hostKeys: unknown; readonly single: boolean } | undefined {
  const p = r.props;
  if (r.type === REMOTE_COMMAND || r.type === COPY_TO_REMOTE || r.type === COPY_FILE) {
    const c = p.connection;
    if (isUnknown(c)) return { at: "connection", host: c, port: c, hostKeys: c, single: true };
    const conn = isObject(c) ? c : {};
    return { at: "connection", host: conn.host, port: conn.port, hostKeys: conn.hostKey, single: true };
  }
  if (isDynamic(r.type) && "ssh" in p) {
    const s = p.ssh;
    if (isUnknown(s)) return { at: "ssh", host: s, port: s, hostKeys: s, single: false };
    const ssh = isObject(s) ? s : {};
    return { at: "ssh", host: ssh.host, port: ssh.port, hostKeys: ssh.hostKeys, single: false };
  }
  return undefined;
}
