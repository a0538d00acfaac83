/**
 * The tinc VPN mesh, planned purely from the validated config: who is a member, what each member's
 * tinc files say, the trust rings' subnets, and what a member must prove about the mesh. No Pulumi,
 * no I/O. See docs/rotate-vpn-key.md and docs/revoke-node.md.
 */
export * from "./types";
export { DEFAULT_MESH_SETTINGS, keyGeneration, memberOf, planMesh, tincName, tincPrivateKeyPath } from "./plan";
export {
  fillSlots,
  hostFilePath,
  hostsDir,
  identityPath,
  nodeFileLayout,
  normalizePublicKey,
  publicKeyFingerprint,
  renderHostFile,
  renderIdentity,
  renderNodeFiles,
  renderTincConf,
  renderTincDown,
  renderTincUp,
} from "./render";
export {
  acceptsRevoked,
  ACCEPTS_REVOKED,
  departedNodes,
  describeFinding,
  hostOf,
  judgeConnectivity,
  judgeRevocation,
  meshProbeArgv,
  parseProbeOutput,
  type IdentityVerdict,
  type MeshFinding,
  type MeshFindingKind,
  type MeshProbeSpec,
  type ProbeFindings,
  type ProbeMember,
} from "./probes";
