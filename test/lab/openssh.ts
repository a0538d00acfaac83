/** Real OpenSSH against lab nodes, with host keys pinned from a known_hosts file the test writes. */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { run, RunResult } from "../../lab/exec";
import { SSH_KEY } from "../../lab/state";

/** Writes `host key` lines to a fresh known_hosts file and returns its path. */
export function knownHostsFile(entries: { host: string; hostKeys: readonly string[] }[]): string {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "rplan-kh-")), "known_hosts");
  fs.writeFileSync(file, entries.flatMap((e) => e.hostKeys.map((k) => `${e.host} ${k}\n`)).join(""));
  return file;
}

export function openssh(host: string, knownHosts: string, command: string): Promise<RunResult> {
  const opts = ["BatchMode=yes", "StrictHostKeyChecking=yes", `UserKnownHostsFile=${knownHosts}`, "GlobalKnownHostsFile=/dev/null", "ConnectTimeout=5"];
  return run("ssh", ["-F", "none", "-i", SSH_KEY, ...opts.flatMap((o) => ["-o", o]), `root@${host}`, command], { check: false, timeoutMs: 30_000 });
}
