/**
 * Lab benchmark: bring-up from the cached image for 3 and 5 nodes, and teardown. Tears down any lab
 * first and leaves the lab down. Standalone:
 *   npx ts-node -e 'require("./bench/lab").benchLab().then(console.log)'
 */
import { performance } from "node:perf_hooks";
import { labDown, labUp } from "../lab";
import { ensureImage } from "../lab/image";
import { closeAllSsh } from "../transports/ssh";

async function timed(name: string, fn: () => Promise<unknown>): Promise<{ name: string; seconds: number }> {
  const t = performance.now();
  await fn();
  return { name, seconds: Number(((performance.now() - t) / 1000).toFixed(2)) };
}

export async function benchLab(): Promise<Array<{ name: string; seconds: number }>> {
  await labDown();
  await ensureImage(); // a cold build (~1.5 min) is not what this measures
  const rows = [await timed("lab image check (cached)", () => ensureImage())];
  for (const nodes of [3, 5]) {
    rows.push(await timed(`lab up ${nodes} nodes (from image, incl. gocryptfs init+unlock)`, () => labUp({ nodes })));
    await closeAllSsh();
    rows.push(await timed(`lab down ${nodes} nodes`, () => labDown()));
  }
  return rows;
}
