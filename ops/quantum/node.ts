/** The nodes a move works on, as ops/quantum sees them: connected, with their slapd and mail store. */
import type { SshConnection } from "../../transports/ssh";
import type { SlapdControl } from "../slapd-control";

/** One live node as a move sees it. */
export interface MoveNode {
  readonly name: string;
  readonly vpnAddress: string;
  readonly storePath: string;
  /** Where the node's MX keeps spare copies of mail for users homed elsewhere (planning/mail/held.ts). */
  readonly heldPath?: string;
  readonly conn: SshConnection;
  readonly slapd: SlapdControl;
}

export interface MoveContext {
  /** Every non-revoked node, by name (replicas to wait for, queues to flush, sessions to kick). */
  readonly nodes: ReadonlyMap<string, MoveNode>;
  readonly master: string;
  readonly suffix: string;
  readonly log: (line: string) => void;
}
