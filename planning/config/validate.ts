/**
 * The config schema: turns the raw `rplan:*` stack config into a ClusterConfig, or throws one
 * ConfigError listing every problem. Runs at program evaluation, so bad input stops at preview
 * before any host is touched.
 */
import { isIP } from "net";
import { NODE_NAME } from "../names";
import { EncryptedMount, isInsideMount, normalizePosix } from "../encrypted-mount";
import { KEY_SERVICES } from "../services";
import { countryName } from "./countries";
import { parseDns, zoneNameProblems } from "./dns";
import { parseSpam } from "./spam";
import { cidrContains, cidrsOverlap, ipv4ToInt, parseCidr } from "./ipv4";
import { ClusterConfig, ConfigError, isLdapSuffix, LDAP_ACCESS_LEVELS, LdapAccess, LdapSettings, NODE_STATES, NodeConfig, NodeState } from "./types";
import { mayBeLdapMaster } from "../node-roles";

export { NODE_NAME };
const HOSTNAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i;
const SAFE_PATH = /^\/[A-Za-z0-9._/-]*$/;
const UNIX_USER = /^[a-z_][a-z0-9_-]{0,31}$/;
const PACKAGE = /^[a-z0-9][a-z0-9+.-]+$/;
const HOST_KEY = /^(ssh-ed25519|ecdsa-sha2-nistp256|ecdsa-sha2-nistp384|ecdsa-sha2-nistp521|ssh-rsa) ([A-Za-z0-9+/]+={0,2})( [^\s]+)?$/;

type Raw = Record<string, unknown>;
const isObj = (v: unknown): v is Raw => typeof v === "object" && v !== null && !Array.isArray(v);

/** Validate the raw config (the values of the `rplan:` namespace, keys without the prefix). */
export function validateClusterConfig(raw: Raw): ClusterConfig {
  const problems: string[] = [];
  const bad = (p: string) => problems.push(p);

  const domain = raw.domain;
  if (typeof domain !== "string" || !HOSTNAME.test(domain) || !domain.includes(".") || domain !== domain.toLowerCase()) bad(`rplan:domain must be a lower-case DNS domain like example.org (got ${show(domain)})`);

  const rings = parseRings(raw.rings, bad);
  const nodes = Array.isArray(raw.nodes) ? raw.nodes : [];
  if (!Array.isArray(raw.nodes) || nodes.length === 0) bad("rplan:nodes must be a non-empty list of nodes");
  const parsed = nodes.map((n, i) => parseNode(n, i, rings, bad));
  checkUniqueness(parsed, bad);
  zoneNameProblems(parsed, bad);
  // Each node's TLS certificates name it <node>.<domain>, and a certificate's CN holds 64 characters.
  if (typeof domain === "string") for (const n of parsed) if (`${n.name}.${domain}`.length > 64) bad(`rplan:domain: ${n.name}.${domain} is longer than the 64 characters a certificate name may have`);

  const policy = isObj(raw.policy) ? raw.policy : {};
  unknownKeys(policy, ["minCountries", "countryExceptions"], "rplan:policy", bad);
  const minCountries = policy.minCountries ?? 1;
  if (!Number.isInteger(minCountries) || (minCountries as number) < 1) bad(`rplan:policy.minCountries must be a positive integer (got ${show(minCountries)})`);
  const exceptions = Array.isArray(policy.countryExceptions) ? policy.countryExceptions : [];
  for (const c of exceptions) if (typeof c !== "string" || !countryName(c)) bad(`rplan:policy.countryExceptions: ${show(c)} is not an ISO 3166-1 alpha-2 country code`);

  let ldap: ClusterConfig["ldap"];
  if (raw.ldap !== undefined) {
    const l = isObj(raw.ldap) ? raw.ldap : {};
    unknownKeys(l, ["master", "suffix", "ringAccess", "serverIds"], "rplan:ldap", bad);
    const active = parsed.filter(mayBeLdapMaster).map((n) => n.name);
    if (typeof l.master !== "string" || !active.includes(l.master)) bad(`rplan:ldap.master must name an active node (got ${show(l.master)}; active: ${active.join(", ") || "none"})`);
    if (!isLdapSuffix(l.suffix)) bad(`rplan:ldap.suffix must look like dc=example,dc=org (got ${show(l.suffix)})`);
    ldap = { master: String(l.master), suffix: String(l.suffix), ...parseLdapExtras(l, [...rings.keys()], parsed.map((n) => n.name), bad) };
  }

  const placementFile = raw.placement;
  if (placementFile !== undefined && !isPlacementPath(placementFile)) bad(`rplan:placement must be the path of a .yaml file inside the project directory, relative to it, without ".." (e.g. placement.prod.yaml; got ${show(placementFile)})`);

  const dns = parseDns(raw.dns, bad);
  const spam = parseSpam(raw.spam, bad);

  if (problems.length > 0) throw new ConfigError(problems);
  return {
    domain: domain as string,
    rings: Object.fromEntries([...rings].map(([k, v]) => [k, v.text])),
    nodes: parsed,
    policy: { minCountries: minCountries as number, countryExceptions: exceptions as string[] },
    ldap,
    ...(placementFile !== undefined ? { placementFile: placementFile as string } : {}),
    dns,
    spam,
  };
}

/** Relative, inside the project (no "..", no absolute path), plain characters, ending in .yaml. */
function isPlacementPath(v: unknown): v is string {
  return typeof v === "string" && /^[A-Za-z0-9_-][A-Za-z0-9._-]*(\/[A-Za-z0-9_-][A-Za-z0-9._-]*)*\.yaml$/.test(v) && !v.split("/").includes("..");
}

/** `ringAccess` and `serverIds`: shapes and names here; ID collisions are the LDAP plan's to report. */
function parseLdapExtras(l: Raw, rings: string[], nodes: string[], bad: (p: string) => void): Pick<LdapSettings, "ringAccess" | "serverIds"> {
  const out: { ringAccess?: Record<string, LdapAccess>; serverIds?: Record<string, number> } = {};
  if (l.ringAccess !== undefined) {
    if (!isObj(l.ringAccess)) bad(`rplan:ldap.ringAccess must map ring names to ${LDAP_ACCESS_LEVELS.join("|")} (got ${show(l.ringAccess)})`);
    else {
      for (const [ring, level] of Object.entries(l.ringAccess)) {
        if (!rings.includes(ring)) bad(`rplan:ldap.ringAccess: ${ring} is not a ring (rings: ${rings.join(", ")})`);
        if (!LDAP_ACCESS_LEVELS.includes(level as LdapAccess)) bad(`rplan:ldap.ringAccess.${ring} must be one of ${LDAP_ACCESS_LEVELS.join(", ")} (got ${show(level)})`);
      }
      out.ringAccess = l.ringAccess as Record<string, LdapAccess>;
    }
  }
  if (l.serverIds !== undefined) {
    if (!isObj(l.serverIds)) bad(`rplan:ldap.serverIds must map node names to integers 1..4095 (got ${show(l.serverIds)})`);
    else {
      for (const [node, id] of Object.entries(l.serverIds)) {
        if (!nodes.includes(node)) bad(`rplan:ldap.serverIds: ${node} is not a node of the config`);
        if (!Number.isInteger(id) || (id as number) < 1 || (id as number) > 4095) bad(`rplan:ldap.serverIds.${node} must be an integer 1..4095 (got ${show(id)})`);
      }
      out.serverIds = l.serverIds as Record<string, number>;
    }
  }
  return out;
}

function show(v: unknown): string {
  return v === undefined ? "nothing" : JSON.stringify(v);
}

interface Ring {
  readonly text: string;
  readonly cidr: NonNullable<ReturnType<typeof parseCidr>>;
}

function parseRings(raw: unknown, bad: (p: string) => void): Map<string, Ring> {
  const rings = new Map<string, Ring>();
  if (!isObj(raw) || Object.keys(raw).length === 0) {
    bad("rplan:rings must map trust-ring names to VPN subnets, e.g. {core: 198.18.0.0/24}");
    return rings;
  }
  for (const [name, text] of Object.entries(raw)) {
    const cidr = typeof text === "string" ? parseCidr(text) : undefined;
    if (!NODE_NAME.test(name)) bad(`rplan:rings: ring name ${show(name)} must match ${NODE_NAME}`);
    if (!cidr) bad(`rplan:rings.${name}: ${show(text)} is not an IPv4 subnet like 198.18.0.0/24`);
    else {
      for (const [other, r] of rings) if (cidrsOverlap(r.cidr, cidr)) bad(`rplan:rings.${name} (${text}) overlaps ring ${other} (${r.text})`);
      rings.set(name, { text: text as string, cidr });
    }
  }
  return rings;
}

const NODE_KEYS = ["name", "country", "publicAddress", "ssh", "vpnAddress", "ring", "encryptedMount", "capacity", "state", "vpnKeyGeneration", "tlsKeyGeneration", "dkimKeyGeneration", "keyDirs", "packages"];
const SSH_KEYS = ["host", "port", "user", "hostKeys", "proxy"];
const MOUNT_KEYS = ["kind", "path", "cipherDir", "device", "mapper"];

/** A typo must not silently become a default: unknown keys are problems too. */
function unknownKeys(obj: Raw, known: readonly string[], where: string, bad: (p: string) => void): void {
  for (const k of Object.keys(obj)) if (!known.includes(k)) bad(`${where}: unknown key ${JSON.stringify(k)} (known: ${known.join(", ")})`);
}

function parseNode(raw: unknown, i: number, rings: Map<string, Ring>, bad: (p: string) => void): NodeConfig {
  const n = isObj(raw) ? raw : {};
  const name = typeof n.name === "string" && NODE_NAME.test(n.name) ? n.name : undefined;
  const where = `rplan:nodes[${i}]${name ? ` (${name})` : ""}`;
  unknownKeys(n, NODE_KEYS, where, bad);
  if (!name) bad(`${where}.name must match ${NODE_NAME} (got ${show(n.name)})`);
  if (typeof n.country !== "string" || !countryName(n.country)) bad(`${where}.country: ${show(n.country)} is not an ISO 3166-1 alpha-2 country code (e.g. NL, DE, IS)`);
  if (typeof n.publicAddress !== "string" || !isIP(n.publicAddress)) bad(`${where}.publicAddress must be an IP address (got ${show(n.publicAddress)})`);
  const ssh = parseSsh(n.ssh, where, bad);
  const ring = typeof n.ring === "string" ? rings.get(n.ring) : undefined;
  if (!ring) bad(`${where}.ring: ${show(n.ring)} is not one of the rings (${[...rings.keys()].join(", ")})`);
  if (typeof n.vpnAddress !== "string" || !isIP(n.vpnAddress)) bad(`${where}.vpnAddress must be an IPv4 address (got ${show(n.vpnAddress)})`);
  else if (ring && !cidrContains(ring.cidr, n.vpnAddress)) bad(`${where}.vpnAddress ${n.vpnAddress} is outside its ring ${String(n.ring)} (${ring.text})`);
  else if (ring && ring.cidr.bits <= 30 && [ring.cidr.base, ring.cidr.base + 2 ** (32 - ring.cidr.bits) - 1].includes(ipv4ToInt(n.vpnAddress))) {
    const which = ipv4ToInt(n.vpnAddress) === ring.cidr.base ? "network" : "broadcast";
    bad(`${where}.vpnAddress ${n.vpnAddress} is the ${which} address of its ring ${String(n.ring)} (${ring.text}): give the node a host address`);
  }
  const encryptedMount = parseMount(n.encryptedMount, where, bad);
  if (typeof n.capacity !== "number" || !Number.isSafeInteger(n.capacity) || n.capacity <= 0) bad(`${where}.capacity must be a positive number of bytes (got ${show(n.capacity)})`);
  const state = (n.state ?? "active") as NodeState;
  if (!NODE_STATES.includes(state)) bad(`${where}.state must be one of ${NODE_STATES.join(", ")} (got ${show(n.state)})`);
  const vpnKeyGeneration = n.vpnKeyGeneration ?? 1;
  if (!Number.isSafeInteger(vpnKeyGeneration) || (vpnKeyGeneration as number) < 1) bad(`${where}.vpnKeyGeneration must be a positive integer (got ${show(n.vpnKeyGeneration)})`);
  const tlsKeyGeneration = n.tlsKeyGeneration ?? 1;
  if (!Number.isSafeInteger(tlsKeyGeneration) || (tlsKeyGeneration as number) < 1) bad(`${where}.tlsKeyGeneration must be a positive integer (got ${show(n.tlsKeyGeneration)})`);
  const dkimKeyGeneration = n.dkimKeyGeneration ?? 1;
  if (!Number.isSafeInteger(dkimKeyGeneration) || (dkimKeyGeneration as number) < 1) bad(`${where}.dkimKeyGeneration must be a positive integer (got ${show(n.dkimKeyGeneration)})`);
  const keyDirs = parseKeyDirs(n.keyDirs, encryptedMount, where, bad);
  const packages = Array.isArray(n.packages) ? n.packages : [];
  if (n.packages !== undefined && !Array.isArray(n.packages)) bad(`${where}.packages must be a list of Debian package names`);
  for (const p of packages) if (typeof p !== "string" || !PACKAGE.test(p)) bad(`${where}.packages: ${show(p)} is not a Debian package name`);
  return {
    name: name ?? `#${i}`,
    country: String(n.country),
    publicAddress: String(n.publicAddress),
    ssh,
    vpnAddress: String(n.vpnAddress),
    ring: String(n.ring),
    encryptedMount,
    capacity: n.capacity as number,
    state,
    vpnKeyGeneration: vpnKeyGeneration as number,
    tlsKeyGeneration: tlsKeyGeneration as number,
    dkimKeyGeneration: dkimKeyGeneration as number,
    keyDirs,
    packages: packages as string[],
  };
}

function parseKeyDirs(raw: unknown, mount: EncryptedMount, where: string, bad: (p: string) => void): Record<string, string> {
  if (raw === undefined) return {};
  if (!isObj(raw)) {
    bad(`${where}.keyDirs must map services (${KEY_SERVICES.join(", ")}) to directories inside the encrypted mount`);
    return {};
  }
  for (const [service, dir] of Object.entries(raw)) {
    if (!(KEY_SERVICES as readonly string[]).includes(service)) bad(`${where}.keyDirs: unknown service ${JSON.stringify(service)} (known: ${KEY_SERVICES.join(", ")})`);
    else if (!safeAbsolute(dir)) bad(`${where}.keyDirs.${service} must be a normalized absolute path (got ${show(dir)})`);
    else if (!isInsideMount(mount, dir) || dir === mount.path) {
      bad(`${where}.keyDirs.${service}: key directory for ${service} at ${dir} is outside the encrypted mount ${mount.path}; private keys live only inside it`);
    }
  }
  return raw as Record<string, string>;
}

function parseSsh(raw: unknown, where: string, bad: (p: string) => void): NodeConfig["ssh"] {
  const s = isObj(raw) ? raw : {};
  if (isObj(raw)) unknownKeys(s, SSH_KEYS, `${where}.ssh`, bad);
  if (!isObj(raw)) bad(`${where}.ssh is required: {host, port, user, hostKeys}`);
  const host = s.host;
  if (typeof host !== "string" || !(isIP(host) || HOSTNAME.test(host))) bad(`${where}.ssh.host must be an IP address or host name (got ${show(host)})`);
  const port = s.port ?? 22;
  if (!Number.isInteger(port) || (port as number) < 1 || (port as number) > 65535) bad(`${where}.ssh.port must be 1-65535 (got ${show(port)})`);
  const user = s.user ?? "root";
  if (typeof user !== "string" || !UNIX_USER.test(user)) bad(`${where}.ssh.user must be a Unix user name (got ${show(user)})`);
  const hostKeys = Array.isArray(s.hostKeys) ? s.hostKeys : [];
  if (hostKeys.length === 0) bad(`${where}.ssh.hostKeys: pin at least one SSH host key ("ssh-ed25519 AAAA..."); rplan never trusts on first use`);
  for (const k of hostKeys) if (typeof k !== "string" || !validHostKey(k)) bad(`${where}.ssh.hostKeys: ${show(k)} is not an OpenSSH public key line`);
  if (s.proxy !== undefined && (typeof s.proxy !== "string" || !/^socks5h?:\/\/[A-Za-z0-9.-]+:\d{1,5}$/.test(s.proxy))) bad(`${where}.ssh.proxy must look like socks5://127.0.0.1:9050 (got ${show(s.proxy)})`);
  return { host: String(host), port: port as number, user: user as string, hostKeys: hostKeys as string[], proxy: s.proxy as string | undefined };
}

function validHostKey(line: string): boolean {
  const m = HOST_KEY.exec(line.trim());
  if (!m) return false;
  const blob = Buffer.from(m[2], "base64");
  return blob.length > 4 && blob.subarray(4, 4 + blob.readUInt32BE(0)).toString() === m[1];
}

function safeAbsolute(path: unknown): path is string {
  return typeof path === "string" && SAFE_PATH.test(path) && normalizePosix(path) === path && path !== "/";
}

function parseMount(raw: unknown, where: string, bad: (p: string) => void): EncryptedMount {
  const m = isObj(raw) ? raw : {};
  const at = `${where}.encryptedMount`;
  if (!isObj(raw)) bad(`${at} is required: {kind: luks|gocryptfs, path, ...}`);
  else unknownKeys(m, MOUNT_KEYS, at, bad);
  if (!safeAbsolute(m.path)) bad(`${at}.path must be a normalized absolute path of letters, digits and ._/- other than / (got ${show(m.path)})`);
  if (m.kind === "gocryptfs") {
    if (!safeAbsolute(m.cipherDir)) bad(`${at}.cipherDir must be a normalized absolute path (got ${show(m.cipherDir)})`);
    else if (typeof m.path === "string" && (m.cipherDir + "/").startsWith(m.path + "/")) bad(`${at}.cipherDir must not lie inside the mount itself`);
    return { kind: "gocryptfs", path: String(m.path), cipherDir: String(m.cipherDir) };
  }
  if (m.kind === "luks") {
    if (!(safeAbsolute(m.device) && String(m.device).startsWith("/dev/"))) bad(`${at}.device must be a block device path under /dev (got ${show(m.device)})`);
    const mapper = m.mapper ?? "rplan-crypt";
    if (typeof mapper !== "string" || !/^[A-Za-z0-9_-]{1,64}$/.test(mapper)) bad(`${at}.mapper must be a device-mapper name (got ${show(mapper)})`);
    return { kind: "luks", path: String(m.path), device: String(m.device), mapper: String(mapper) };
  }
  bad(`${at}.kind must be luks (production) or gocryptfs (lab) (got ${show(m.kind)})`);
  return { kind: "gocryptfs", path: String(m.path), cipherDir: "" };
}

function checkUniqueness(nodes: readonly NodeConfig[], bad: (p: string) => void): void {
  const seen = (key: (n: NodeConfig) => string, what: string) => {
    const by = new Map<string, string[]>();
    for (const n of nodes) by.set(key(n), [...(by.get(key(n)) ?? []), n.name]);
    for (const [k, names] of by) if (names.length > 1 && k !== "undefined") bad(`${what} ${k} is used by more than one node (${names.join(", ")})`);
  };
  seen((n) => n.name, "node name");
  seen((n) => n.vpnAddress, "VPN address");
  seen((n) => `${n.ssh.host}:${n.ssh.port}`, "SSH endpoint");
}
