/** Remember whether a lab was already running, so the teardown leaves the machine as it found it. */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

export const MARKER = path.join(os.tmpdir(), `rplan-jest-lab-${process.pid}`);

export default async function globalSetup(): Promise<void> {
  const { readLabState } = await import("../../lab");
  fs.writeFileSync(MARKER, readLabState() ? "lab was running" : "no lab");
}
