/**
 * Logs, planned purely: what keeps client addresses and users' mail addresses off a node's disk
 * (./anonymity.ts). No Pulumi, no I/O. See docs/anonymity.md.
 */
export {
  ANONYMISED_LOG,
  daemonSettings,
  JOURNALD_DROP_IN,
  logAnonymityProblems,
  LOGROTATE_FILE,
  MASK_RULES,
  MASK_SED,
  planLogAnonymity,
  renderMaskSed,
  RSYSLOG_DROP_IN,
  SSHD_DROP_IN,
  type DaemonLogSetting,
  type LogAnonymityInput,
  type LogAnonymityPlan,
  type LogFile,
  type MaskRule,
} from "./anonymity";
