/**
 * After the whole test run, leave the machine as CI found it: the lab down, `ip route` restored.
 * Set RPLAN_LAB_KEEP=1 to keep a lab for debugging.
 */
export default async function globalTeardown(): Promise<void> {
  if (process.env.RPLAN_LAB_KEEP === "1" || process.getuid?.() !== 0) return;
  const { readLabState, labDown } = await import("../../lab");
  if (readLabState()) await labDown();
}
