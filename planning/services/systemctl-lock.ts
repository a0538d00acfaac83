/**
 * One host-wide lock around every systemctl command rplan runs on a node. The engine runs steps side
 * by side, and several steps reload systemd or restart a daemon on the same host. A
 * `systemctl daemon-reload` while another step's `systemctl restart` waits for a forking daemon's
 * PID file makes systemd miss that file: the start fails after its 90 s timeout although the daemon
 * runs (seen on the lab: opendkim "Can't open PID file (yet?) after start", then "Reloading.", then
 * "start operation timed out"). `systemctl restart` returns only when its job is done, so holding
 * the lock for the whole command keeps reloads out of that window. Pure: no I/O.
 */
export const SYSTEMCTL_LOCK = "/run/rplan-systemctl.lock";

/** argv as run on the host: a systemctl command under the lock (flock, util-linux); anything else as it is. */
export function underSystemctlLock(argv: readonly string[]): string[] {
  return argv[0] === "systemctl" ? ["flock", SYSTEMCTL_LOCK, ...argv] : [...argv];
}
