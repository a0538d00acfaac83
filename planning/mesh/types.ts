/** Types of the VPN mesh plan (pure data; see ./plan.ts). */

/** A node that takes part in the tinc mesh: every active or draining node of the config. */
export interface MeshMember {
  /** The node's name in the stack config. */
  readonly node: string;
  /** Its tinc name (tinc names allow [A-Za-z0-9_] only: '-' becomes '_'). */
  readonly tincName: string;
  readonly state: "active" | "draining";
  /** Where peers reach its tinc daemon (TCP+UDP `port`). */
  readonly publicAddress: string;
  /** Its one address inside the VPN (a /32 subnet in every peer's hosts/ file). */
  readonly vpnAddress: string;
  readonly ring: string;
  /** Bumped in the config to rotate the node's key. */
  readonly keyGeneration: number;
  /** The key directory inside the node's encrypted mount. */
  readonly keyDir: string;
  /** The tinc private key: inside the encrypted mount, never anywhere else. */
  readonly privateKeyPath: string;
}

/** A node cut out of the mesh: never contacted, refused by every member. */
export interface RevokedNode {
  readonly node: string;
  readonly tincName: string;
  readonly publicAddress: string;
  readonly vpnAddress: string;
}

/** Settings shared by every member (fixed by rplan, not configurable per node). */
export interface MeshSettings {
  /** tinc net name: config in /etc/tinc/<netname>, unit tinc@<netname>. */
  readonly netname: string;
  readonly confDir: string;
  /** The VPN network interface created by tincd. */
  readonly interfaceName: string;
  readonly port: number;
  /**
   * MTU of the VPN interface. tinc compresses only packets that fit its path MTU (~1408 B on a
   * 1500 B link); with the default 1500 B interface MTU bulk TCP goes uncompressed. 1400 keeps
   * every packet under it (LAB.md: 20 MB of zeros went 21 MB → 2.1 MB on the wire).
   */
  readonly mtu: number;
  /** zlib level requested for packets sent to a node (tinc 1.0: a hosts/ file variable). */
  readonly compression: number;
  readonly keyBits: number;
  readonly systemdUnit: string;
}

export interface MeshPlan {
  readonly settings: MeshSettings;
  /** Members sorted by node name. */
  readonly members: readonly MeshMember[];
  /** Revoked nodes of the config, sorted by node name. */
  readonly revoked: readonly RevokedNode[];
  /** Trust ring → VPN subnet (for LDAP ACLs and firewalls of later capabilities). */
  readonly ringCidrs: Readonly<Record<string, string>>;
  /** tinc's AddressFamily: ipv4 unless some member has an IPv6 public address. */
  readonly addressFamily: "ipv4" | "any";
}

/** One file of a node's tinc configuration. */
export interface MeshFile {
  readonly path: string;
  readonly content: string;
  readonly mode: string;
  readonly owner: string;
}

/**
 * A file of a member's layout. One whose content needs a member's public key is a slot: `keyOf`
 * names the member, `render` makes the content once that member's NodeKey has produced its key.
 */
export type MeshFileSlot =
  | (MeshFile & { readonly keyOf?: undefined })
  | (Omit<MeshFile, "content"> & { readonly keyOf: string; readonly render: (publicKey: string) => string });

/**
 * The tinc files of one member, in two groups applied in this order across the mesh:
 * - `peers` (tinc.conf and the hosts/ directory: a file per member, itself included): written on every member first, then
 *   tincd reloads (SIGHUP: drops connections whose hosts/ file changed or vanished);
 * - `self` (tinc-up, tinc-down, the key identity marker, tincd's systemd drop-in): written after every member's `peers`,
 *   then tincd restarts (a new private key, address or MTU needs a restart in tinc 1.0).
 */
export interface NodeFileLayout {
  readonly peers: readonly MeshFileSlot[];
  readonly self: readonly MeshFileSlot[];
  /** Directories the `peers` group owns outright (hosts/): any file there it does not list is removed. */
  readonly prunePeers: readonly string[];
  readonly reloadPeers: readonly (readonly string[])[];
  readonly reloadSelf: readonly (readonly string[])[];
}

/** Problems with the mesh described by a config (a config that validates but cannot be meshed). */
export class MeshPlanError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`cannot plan the VPN mesh (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n` + problems.map((p) => `  - ${p}`).join("\n"));
    this.name = "MeshPlanError";
  }
}
