/**
 * Placement planner: where each user's quantum (mailbox, site, lists) lives.
 *
 * Placement is stored, not re-derived: the planner reads the current homes and proposes explicit,
 * minimal moves. Pure — no Pulumi, no I/O, no clock, no randomness — so a plan is a function of
 * the state and can be previewed. See docs/placement.md.
 */
export { suggestHome, suggestHomes } from "./suggest";
export { planAddNode, planDrain, planRebalance, DEFAULT_TOLERANCE } from "./plan";
export { NODE_NAME, USER_ID } from "./validate";
export {
  applyPlan,
  DEFAULT_LIMITS,
  emptyPlacementRecord,
  parsePlacementRecord,
  placementRecordProblems,
  recordAsInputs,
  recordFromInputs,
  renderPlacementRecord,
  toClusterState,
  type PlacedUser,
  type PlacementLimits,
  type PlacementRecord,
  type RecordInputs,
  type RecordNode,
} from "./record";
export {
  completeRecord,
  describePromotion,
  describeStandbyChange,
  planStandbys,
  promoteRevoked,
  type Promotion,
  type StandbyChange,
  type StandbyNode,
  type StandbyOptions,
  type StandbyReason,
} from "./standby";
export { applySizes, syncWithDirectory, type Drift, type NodeMeasurement, type SizeChange, type SizesResult, type SyncResult } from "./reconcile";
export {
  PlacementInputError,
  type BalanceOptions,
  type ClusterState,
  type DrainOptions,
  type Move,
  type MoveReason,
  type NewUser,
  type NodeFill,
  type NodeState,
  type Plan,
  type PlacementNode,
  type UserHome,
} from "./types";
