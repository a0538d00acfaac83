/**
 * Logs, planned purely: what keeps client addresses and users' mail addresses out of a node's logs
 * (./anonymity.ts), and how every reader reads that one log (./reading.ts). No Pulumi, no I/O. See docs/anonymity.md.
 */
export {
  ANONYMISED_LOG,
  DAEMON_SETTINGS,
  JOURNALD_DROP_IN,
  logAnonymityProblems,
  LOG_PACKAGES,
  LOGIN_RECORDS,
  LOGROTATE_FILE,
  MASK_RULES,
  MASK_SED,
  planLogAnonymity,
  renderMaskSed,
  RSYSLOG_DROP_IN,
  type DaemonLogSetting,
  type LogAnonymityInput,
  type LogAnonymityPlan,
  type LogFile,
  type MaskRule,
} from "./anonymity";
export { logSinceCommand } from "./reading";
