/**
 * Platform benchmark on the lab: first `up` and a no-op preview through the stack runner, and the SSH
 * connections an `up` opens per node, counted by the nodes' own sshd ("Accepted publickey").
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ensureLab } from "../lab";
import { logSinceCommand } from "../planning/logs";
import { KNOWN_HOSTS, SSH_KEY as LAB_SSH_KEY } from "../lab/state";
import { LAB_STACK_FILES } from "../lab/stack-files";
import { closeAllSsh } from "../transports/ssh";
import { benchRunner, RunnerTimings } from "./runner";

/**
 * sshd's count of accepted logins in a node's log, read with the real OpenSSH client (one login
 * itself). The log exists only once the stack's log anonymity is applied and the journal keeps
 * nothing: on a fresh lab, the logins of the first up before that point are counted nowhere.
 */
function acceptedLogins(address: string): number {
  const out = execFileSync("ssh", ["-i", LAB_SSH_KEY, "-o", `UserKnownHostsFile=${KNOWN_HOSTS}`, "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes", `root@${address}`, `${logSinceCommand("@0")} | grep -c ' sshd\\[[0-9]*\\]: Accepted publickey' || true`]);
  return Number(out.toString().trim());
}

export interface PlatformBench {
  readonly runner: RunnerTimings;
  /** node → SSH connections the up opened to it. */
  readonly connectionsPerNode: Record<string, number>;
}

export async function benchPlatform(nodes = 3): Promise<PlatformBench> {
  const lab = await ensureLab({ nodes });
  await closeAllSsh();
  const before = Object.fromEntries(lab.nodes.map((n) => [n.name, acceptedLogins(n.address)]));
  const stateFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "rplan-bench-")), "state.json");
  const runner = await benchRunner({ stack: "lab", stackFiles: LAB_STACK_FILES, stateFile, env: { RPLAN_SSH_KEY: LAB_SSH_KEY } });
  // after − before − 1: the "before" count's own login happened before it was counted.
  const connectionsPerNode = Object.fromEntries(lab.nodes.map((n) => [n.name, acceptedLogins(n.address) - before[n.name] - 1]));
  return { runner, connectionsPerNode };
}
