import type { ServiceDescriptor } from "./descriptor";
import { LOG_PACKAGES } from "../logs/anonymity";

/**
 * The one writer of log lines on disk, masked (planning/logs). Off until its anonymising rules are in
 * place: it would write every mail log line, client addresses and all, to /var/log.
 */
export const rsyslog = {
  name: "rsyslog",
  purpose: "the one anonymised log file, kept 7 days",
  packages: LOG_PACKAGES,
  disabledUntilConfigured: ["rsyslog.service"],
  duties: { logAnonymity: (node) => `${node}-log-anonymity` },
} satisfies ServiceDescriptor;
