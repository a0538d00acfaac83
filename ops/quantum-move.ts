/**
 * Moved: the move protocol's host side is ops/quantum/ (move.ts, mailbox-copy.ts, mail-store.ts,
 * journal.ts), its decisions planning/quantum/protocol.ts. Kept only for bench/moves.ts, which
 * imports MoveReport from this path; remove it once that import reads ops/quantum/move.
 */
export type { MoveReport } from "./quantum/move";
