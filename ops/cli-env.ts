/** Shared set-up for admin commands: which stack, and the lab's own admin key when on the lab. */
import * as fs from "fs";

export const LAB_SSH_KEY = "/var/lib/rplan-lab/ssh/id_ed25519";

/** Take `--stack NAME` out of argv (default: $RPLAN_STACK or "lab"). */
export function takeStack(argv: string[]): string {
  const i = argv.indexOf("--stack");
  if (i >= 0) {
    const [, name] = argv.splice(i, 2);
    if (!name) throw new Error("--stack needs a name");
    return name;
  }
  return process.env.RPLAN_STACK ?? "lab";
}

/** On the lab stack, use the lab's key unless the admin chose one (real stacks: agent or RPLAN_SSH_KEY). */
export function useLabKeyFor(stack: string): void {
  if (stack === "lab" && !process.env.RPLAN_SSH_KEY && fs.existsSync(LAB_SSH_KEY)) process.env.RPLAN_SSH_KEY = LAB_SSH_KEY;
}
