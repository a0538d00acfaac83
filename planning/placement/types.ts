/** Public types of the placement planner: input (cluster state, options) and output (plan). */

/** Only `active` nodes receive users; users on `draining` or `revoked` nodes must move away. */
export type NodeState = "active" | "draining" | "revoked";

/** A server as the planner sees it. */
export interface PlacementNode {
  /** Node name, `^[a-z][a-z0-9-]{0,30}$` (same as the stack config). */
  name: string;
  /** Bytes available for users' data; the placement weight. */
  capacity: number;
  state: NodeState;
}

/** Where one user's quantum (mailbox, site, lists) lives today, and how big it is. */
export interface UserHome {
  /** LDAP uid, `^[a-z0-9][a-z0-9._-]{0,63}$`. */
  user: string;
  node: string;
  bytes: number;
}

/**
 * The stored placement. Arrays rather than maps so that duplicates in the source (LDAP, config)
 * are reported instead of silently collapsing.
 */
export interface ClusterState {
  nodes: readonly PlacementNode[];
  placement: readonly UserHome[];
  /** Admin pins: user → node. A pinned user is only ever placed on, or moved to, its pin. */
  pins?: Readonly<Record<string, string>>;
}

/** Why a move is in the plan. */
export type MoveReason = "drain" | "pin" | "balance";

/** One user's quantum moving from one node to another. */
export interface Move {
  user: string;
  from: string;
  to: string;
  bytes: number;
  reason: MoveReason;
}

/** A node's load after the plan is carried out. */
export interface NodeFill {
  bytes: number;
  capacity: number;
  /** bytes / capacity */
  fill: number;
  /** fill / ideal (1 = exactly its share; 0 for nodes that are not active once drained) */
  ratio: number;
}

/** The outcome of planning: nothing is moved until someone carries the plan out. */
export interface Plan {
  /** Sorted by user id. Every user appears at most once. */
  moves: Move[];
  /** Every node of the state, after the moves. */
  fill: Record<string, NodeFill>;
  /** Total bytes / total capacity of the active nodes (excluding a node being drained). */
  ideal: number;
  bytesMoved: number;
  /**
   * A lower bound on the bytes any plan must move to do the whole job (ignoring the cap): for a
   * drain, the bytes on the drained node; for add/rebalance, the forced moves (non-active nodes,
   * pins) plus the bytes that must cross to bring every active node within tolerance.
   */
  minimumBytes: number;
  /** Users that must move but did not fit under `maxBytesMoved`; they go in a later update. */
  deferred: string[];
  /** Every active node within ±tolerance of ideal after the plan (drain: tolerance defaults to 0.03). */
  withinTolerance: boolean;
}

/** Options of planAddNode and planRebalance. */
export interface BalanceOptions {
  /** Relative band around the ideal fill, e.g. 0.03 = every active node within ±3%. */
  tolerance: number;
  /** Cap on bytes moved by this plan (one update); the rest waits for the next update. */
  maxBytesMoved?: number;
}

/** Options of planDrain. */
export interface DrainOptions {
  maxBytesMoved?: number;
  /** Only used to report `withinTolerance`; a drain never moves anyone else. Default 0.03. */
  tolerance?: number;
}

/** A user that needs a home (bytes: expected size, usually 0 for a new account). */
export interface NewUser {
  user: string;
  bytes?: number;
}

/** Every problem found in the input, reported at once (the house rule: one clear message). */
export class PlacementInputError extends Error {
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    const n = problems.length;
    super(
      `invalid placement input (${n} problem${n === 1 ? "" : "s"}):\n` +
        problems.map((p) => `  - ${p}`).join("\n"),
    );
    this.name = "PlacementInputError";
    this.problems = problems;
  }
}
