/**
 * After the whole test run, leave the machine as the run found it: a lab this run brought up is taken
 * down (so CI ends with `ip route` restored); a lab that was already running is left alone, since
 * someone else may be using it. RPLAN_LAB_KEEP=1 always keeps it.
 */
import * as fs from "fs";
import { MARKER } from "./global-setup";

export default async function globalTeardown(): Promise<void> {
  const found = fs.existsSync(MARKER) ? fs.readFileSync(MARKER, "utf8") : "no lab";
  fs.rmSync(MARKER, { force: true });
  if (process.env.RPLAN_LAB_KEEP === "1" || process.getuid?.() !== 0 || found !== "no lab") return;
  const { readLabState, labDown } = await import("../../lab");
  if (readLabState()) await labDown();
}
