/**
 * Remember whether a lab was already running, so the teardown leaves the machine as it found it; and
 * give this run an id that every lab it brings up records (RPLAN_LAB_RUN, inherited by the workers
 * and the CLIs they start), so the teardown knows a lab it brought up from one another run started.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

export const MARKER = path.join(os.tmpdir(), `rplan-jest-lab-${process.pid}`);

export default async function globalSetup(): Promise<void> {
  const { readLabState } = await import("../../lab");
  process.env.RPLAN_LAB_RUN = `jest-${process.pid}-${Date.now()}`;
  fs.writeFileSync(MARKER, readLabState() ? "lab was running" : "no lab");
}
