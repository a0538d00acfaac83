/**
 * After the whole test run, leave the machine as the run found it: a lab this run brought up is taken
 * down (so CI ends with `ip route` restored); a lab that was already running is left alone, since
 * someone else may be using it, and so is a lab another run brought up meanwhile (two jest runs side
 * by side: the one without the lab must not take down the other's). RPLAN_LAB_KEEP=1 always keeps it.
 */
import * as fs from "fs";
import type { LabState } from "../../lab";
import { MARKER } from "./global-setup";

/** Whether the run's end takes the lab down: only one this run brought up, on a machine that had none. */
export function takeLabDown(a: { keep: boolean; root: boolean; found: string; lab: Pick<LabState, "broughtUpBy"> | undefined; run: string | undefined }): boolean {
  if (a.keep || !a.root || a.found !== "no lab" || !a.lab) return false;
  return a.run !== undefined && a.lab.broughtUpBy === a.run;
}

export default async function globalTeardown(): Promise<void> {
  const found = fs.existsSync(MARKER) ? fs.readFileSync(MARKER, "utf8") : "no lab";
  fs.rmSync(MARKER, { force: true });
  const { readLabState, labDown } = await import("../../lab");
  const lab = readLabState();
  if (takeLabDown({ keep: process.env.RPLAN_LAB_KEEP === "1", root: process.getuid?.() === 0, found, lab, run: process.env.RPLAN_LAB_RUN })) await labDown();
}
