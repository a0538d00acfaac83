/**
 * What a member is asked to prove about the mesh, and how its answers are judged. Pure: the probe is
 * a bash script with positional arguments (run over SSH by ops/mesh-check.ts), the judge reads text.
 *
 * From each member the probe checks, without ever contacting a revoked node:
 * - tincd is running and hosts/ holds exactly one file per member (a stray file is a key that
 *   still lets someone in: the mistake of tools that never delete a removed host's key);
 * - every other member answers a ping on its VPN address (the connectivity matrix);
 * - for each revoked node: no hosts/ file, no ConnectTo, no established connection on the tinc port
 *   with its public address, no route to its VPN address, and the running tincd refuses its
 *   identity. The identity test speaks tinc 1.0's first protocol line to the member's own tincd:
 *   `0 <name> 17` is answered at once with the daemon's ID for a known node and never for an unknown
 *   one (tinc 1.0.36 logs "had unknown identity" and stays silent). To tell "refused" from "slow",
 *   the same probe sends a known member's ID right after the revoked one: the single-threaded
 *   daemon answers it only after it has processed the revoked ID, so an answer to the control and
 *   silence on the revoked connection means refused.
 */
import type { RevokedNode } from "./types";

/** A member as the probes see it. */
export interface ProbeMember {
  readonly node: string;
  readonly tincName: string;
  readonly vpnAddress: string;
  readonly publicAddress: string;
}

/** What the mesh check verifies (the MeshCheck resource's business inputs minus SSH). */
export interface MeshProbeSpec {
  readonly confDir: string;
  readonly port: number;
  readonly systemdUnit: string;
  readonly members: readonly ProbeMember[];
  readonly revoked: readonly RevokedNode[];
}

export type IdentityVerdict = "refused" | "closed" | "accepted" | "no-listener" | "unverified";

export interface ProbeFindings {
  readonly daemonActive: boolean;
  readonly hostFiles: readonly string[];
  /**
   * Established TCP connections on the tinc port: local and peer "addr:port", and how many bytes
   * this host ever sent on it (NaN when the kernel does not say). tinc 1.0 never answers a refused
   * identity and leaves that socket open, so 0 bytes sent means "refused, socket left behind".
   */
  readonly connections: readonly (readonly [string, string, number])[];
  /** Peer node → round-trip ms, or null when it did not answer. */
  readonly ping: Readonly<Record<string, number | null>>;
  readonly revoked: Readonly<
    Record<string, { readonly connectTo: boolean; readonly vpnReachable: boolean | undefined; readonly identity: IdentityVerdict | undefined }>
  >;
}

const SCRIPT = String.raw`
set -u
conf=$1; port=$2; unit=$3; control=$4; np=$5; shift 5
if systemctl is-active --quiet "$unit" 2>/dev/null; then echo "daemon active"; else echo "daemon inactive"; fi
for f in "$conf"/hosts/* "$conf"/hosts/.[!.]*; do [ -e "$f" ] || [ -L "$f" ] && echo "hostfile $(basename "$f")"; done
# ss prints bytes_sent only when non-zero; its tcp info line always has rto and segs_out.
ss -Htni state established "( sport = :$port or dport = :$port )" 2>/dev/null | awk '
  /^[^ \t]/ { if (sock != "") print sock, "-"; sock = "conn " $3 " " $4; next }
  { b = ($0 ~ /(^|[ \t])(rto|segs_out):/) ? 0 : "-"; for (i = 1; i <= NF; i++) if ($i ~ /^bytes_sent:/) b = substr($i, 12); if (sock != "") print sock, b; sock = "" }
  END { if (sock != "") print sock, "-" }'

i=0
while [ "$i" -lt "$np" ]; do
  name=$1; addr=$2; shift 2; i=$((i+1))
  ( if out=$(ping -n -q -c 1 -W 1 "$addr" 2>&1); then
      echo "ping $name ok $(printf '%s\n' "$out" | sed -n 's|^rtt [^=]*= [0-9.]*/\([0-9.]*\)/.*|\1|p')"
    else echo "ping $name fail"; fi ) &
done
identity() {
  exec 5<>"/dev/tcp/127.0.0.1/$port" || { echo "identity $1 no-listener"; return; }
  printf '0 %s 17\n' "$2" >&5
  if [ "$control" = "-" ]; then
    if IFS= read -r -t 2 r <&5; then echo "identity $1 accepted"; elif [ $? -gt 128 ]; then echo "identity $1 refused"; else echo "identity $1 closed"; fi
    return
  fi
  sleep 0.05
  exec 6<>"/dev/tcp/127.0.0.1/$port" || { echo "identity $1 no-listener"; return; }
  printf '0 %s 17\n' "$control" >&6
  if ! IFS= read -r -t 5 c <&6; then echo "identity $1 unverified"; return; fi
  if IFS= read -r -t 0.3 r <&5; then echo "identity $1 accepted"; elif [ $? -gt 128 ]; then echo "identity $1 refused"; else echo "identity $1 closed"; fi
}
nr=$1; shift
i=0
while [ "$i" -lt "$nr" ]; do
  name=$1; tname=$2; vpn=$3; shift 3; i=$((i+1))
  if grep -Eq "^[[:space:]]*ConnectTo[[:space:]]*=[[:space:]]*$tname[[:space:]]*$" "$conf/tinc.conf" 2>/dev/null; then echo "connectto $name yes"; else echo "connectto $name no"; fi
  ( if ping -n -q -c 1 -W 1 "$vpn" >/dev/null 2>&1; then echo "revping $name reachable"; else echo "revping $name unreachable"; fi ) &
  ( identity "$name" "$tname" 2>/dev/null ) &
done
wait
`;

/**
 * argv (for the SSH transport) probing the mesh from `from`. Pings every other member; checks
 * every revoked node. The control identity is another member's (none in a one-node mesh).
 */
export function meshProbeArgv(spec: MeshProbeSpec, from: string): string[] {
  const peers = spec.members.filter((m) => m.node !== from);
  const control = peers[0]?.tincName ?? "-";
  return [
    "bash",
    "-c",
    SCRIPT,
    "rplan-mesh-probe",
    spec.confDir,
    String(spec.port),
    spec.systemdUnit,
    control,
    String(peers.length),
    ...peers.flatMap((p) => [p.node, p.vpnAddress]),
    String(spec.revoked.length),
    ...spec.revoked.flatMap((r) => [r.node, r.tincName, r.vpnAddress]),
  ];
}

/** Read the probe's output. Unknown lines are ignored; missing answers stay undefined/null. */
export function parseProbeOutput(spec: MeshProbeSpec, from: string, out: string): ProbeFindings {
  let daemonActive = false;
  const hostFiles: string[] = [];
  const connections: [string, string, number][] = [];
  const ping: Record<string, number | null> = {};
  for (const p of spec.members) if (p.node !== from) ping[p.node] = null;
  const revoked: Record<string, { connectTo: boolean; vpnReachable: boolean | undefined; identity: IdentityVerdict | undefined }> = {};
  for (const r of spec.revoked) revoked[r.node] = { connectTo: false, vpnReachable: undefined, identity: undefined };
  for (const line of out.split("\n")) {
    const [kind, a, b, c] = line.trim().split(/\s+/);
    if (kind === "daemon") daemonActive = a === "active";
    else if (kind === "hostfile" && a) hostFiles.push(a);
    else if (kind === "conn" && a && b) connections.push([a, b, c === undefined || c === "-" ? NaN : Number(c)]);
    else if (kind === "ping" && a && a in ping) ping[a] = b === "ok" ? Number(c ?? NaN) || 0 : null;
    else if (kind === "connectto" && a && revoked[a]) revoked[a].connectTo = b === "yes";
    else if (kind === "revping" && a && revoked[a]) revoked[a].vpnReachable = b === "reachable";
    else if (kind === "identity" && a && revoked[a] && ["refused", "closed", "accepted", "no-listener", "unverified"].includes(b)) revoked[a].identity = b as IdentityVerdict;
  }
  return { daemonActive, hostFiles: hostFiles.sort(), connections, ping, revoked };
}

/** The host part of "addr:port" / "[v6]:port" as ss prints it. */
export function hostOf(endpoint: string): string {
  const i = endpoint.lastIndexOf(":");
  const host = i >= 0 ? endpoint.slice(0, i) : endpoint;
  return host.replace(/^\[|\]$/g, "").replace(/^::ffff:/, "");
}

/**
 * What the check found wrong on one member. `node` is the member the finding is about (the one
 * probed); `revoked` names the revoked or departed node a revocation finding is about. `message`
 * is the sentence people read; `kind` is what code decides on.
 */
export type MeshFindingKind =
  // connectivity and the member's own state
  | "daemon-down"
  | "hostfile-missing"
  | "hostfile-unexpected"
  | "peer-unreachable"
  | "probe-failed"
  // a revoked (or departed) node, seen from a survivor
  | "revoked-hostfile"
  | "revoked-connectto"
  | "revoked-connection"
  | "revoked-reachable"
  | "revoked-identity-accepted"
  | "revoked-no-listener"
  | "revoked-unverified";

export interface MeshFinding {
  readonly node: string;
  readonly kind: MeshFindingKind;
  readonly message: string;
  readonly revoked?: string;
}

/**
 * The kinds that mean the survivor still lets the revoked node in: its key is still trusted, a
 * session with it is still open, or the running tincd answers its identity.
 */
export const ACCEPTS_REVOKED: ReadonlySet<MeshFindingKind> = new Set(["revoked-hostfile", "revoked-connection", "revoked-identity-accepted"]);

/** Whether a finding says the member still accepts a revoked node. */
export const acceptsRevoked = (f: MeshFinding): boolean => ACCEPTS_REVOKED.has(f.kind);

/** A finding as one line: `[member] message`. */
export const describeFinding = (f: MeshFinding): string => `[${f.node}] ${f.message}`;

/** Findings about the mesh connectivity seen from `from` (empty: fine). */
export function judgeConnectivity(spec: MeshProbeSpec, from: string, f: ProbeFindings): MeshFinding[] {
  const out: MeshFinding[] = [];
  const add = (kind: MeshFindingKind, message: string) => out.push({ node: from, kind, message });
  if (!f.daemonActive) add("daemon-down", `tincd (${spec.systemdUnit}) is not running`);
  const want = spec.members.map((m) => m.tincName).sort();
  for (const name of want) if (!f.hostFiles.includes(name)) add("hostfile-missing", `hosts/${name} is missing`);
  const revokedNames = new Set(spec.revoked.map((r) => r.tincName));
  for (const name of f.hostFiles) {
    if (!want.includes(name) && !revokedNames.has(name)) add("hostfile-unexpected", `unexpected hosts/${name}: a key file no member owns would let its holder in`);
  }
  for (const [peer, rtt] of Object.entries(f.ping)) {
    const m = spec.members.find((x) => x.node === peer)!;
    if (rtt === null) add("peer-unreachable", `cannot reach ${peer} (${m.vpnAddress}) over the VPN`);
  }
  return out;
}

/** Findings about a revoked node as seen from survivor `from` (empty: it is refused). */
export function judgeRevocation(spec: MeshProbeSpec, from: string, f: ProbeFindings, r: RevokedNode): MeshFinding[] {
  const out: MeshFinding[] = [];
  const add = (kind: MeshFindingKind, what: string) => out.push({ node: from, kind, revoked: r.node, message: `revoked node ${r.node}: ${what}` });
  if (f.hostFiles.includes(r.tincName)) add("revoked-hostfile", `hosts/${r.tincName} still exists (its key is still trusted)`);
  const x = f.revoked[r.node];
  if (x?.connectTo) add("revoked-connectto", `tinc.conf still has ConnectTo = ${r.tincName}`);
  // A connection tinc never wrote to is one it refused (tinc 1.0 leaves those sockets open); any
  // other is a session the revoked node still has (or an unknown one: counted as live).
  const live = f.connections.filter(([l, p, sent]) => (hostOf(p) === r.publicAddress || hostOf(l) === r.publicAddress) && !(sent === 0));
  if (live.length > 0) add("revoked-connection", `tinc connection still established with ${live.map(([, p, sent]) => `${p} (${Number.isNaN(sent) ? "bytes sent unknown" : `${sent} bytes sent to it`})`).join(", ")}`);
  if (x?.vpnReachable !== false) add("revoked-reachable", `${x?.vpnReachable ? "still reachable" : "reachability unknown"} at its VPN address ${r.vpnAddress}`);
  switch (x?.identity) {
    case "refused":
    case "closed":
      break;
    case "accepted":
      add("revoked-identity-accepted", `tincd STILL ACCEPTS its identity ${r.tincName}`);
      break;
    case "no-listener":
      add("revoked-no-listener", `tincd is not listening on port ${spec.port}, cannot prove refusal`);
      break;
    default:
      add("revoked-unverified", `could not verify that tincd refuses ${r.tincName} (${x?.identity ?? "no answer"})`);
  }
  return out;
}

/** Nodes that left the mesh between two specs (removed from the config or revoked): all must be refused. */
export function departedNodes(olds: MeshProbeSpec | undefined, news: MeshProbeSpec): RevokedNode[] {
  const out = new Map(news.revoked.map((r) => [r.node, r]));
  for (const m of olds?.members ?? []) {
    if (!news.members.some((n) => n.node === m.node) && !out.has(m.node)) {
      out.set(m.node, { node: m.node, tincName: m.tincName, publicAddress: m.publicAddress, vpnAddress: m.vpnAddress });
    }
  }
  return [...out.values()].sort((a, b) => (a.node < b.node ? -1 : 1));
}
