/**
 * `npm run bench`: every benchmark, measured side by side in one run, printed as tables.
 * Needs root (the lab). Leaves the lab down.
 */
import { execFileSync } from "child_process";
import * as path from "path";
import { labDown } from "../lab";
import { closeAllSsh } from "../transports/ssh";
import { benchLab } from "./lab";
import { benchPlacement } from "./placement";
import { benchPlatform } from "./platform";

function table(rows: Array<[string, string]>): string {
  const w = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `| ${k.padEnd(w)} | ${v} |`).join("\n");
}

async function main(): Promise<void> {
  const only = process.argv[2];
  if (!only || only === "placement") {
    console.log("## Placement (5 000 users, heavy-tailed sizes, 5 nodes of different capacity)\n");
    console.log(await benchPlacement());
  }
  if (!only || only === "platform") {
    console.log("\n## Platform (lab)\n");
    const lab = await benchLab();
    const platform = await benchPlatform(3);
    const conns = Object.values(platform.connectionsPerNode);
    const r = platform.runner;
    console.log(
      table([
        ["measure", "value"],
        ...lab.map((row): [string, string] => [row.name, `${row.seconds.toFixed(2)} s`]),
        [`first up (${r.resources} resources, preview + apply)`, `${r.upSeconds.toFixed(2)} s (preview ${r.upPreviewSeconds} s, apply ${r.upApplySeconds} s)`],
        ["no-op preview", `${r.noopPreviewSeconds.toFixed(2)} s (changes: ${r.noopPreviewChanged})`],
        ["no-op preview / first up", (r.noopPreviewSeconds / r.upSeconds).toFixed(2)],
        ["SSH connections per node during up (goal 1)", `${conns.join(", ")} → max ${Math.max(...conns)} per node`],
      ]),
    );
    await closeAllSsh();
    await labDown();
  }
  if (!only || only === "mesh") {
    // The VPN mesh benchmark drives the providers on the lab in the engine's order (test/mesh/bench.ts).
    console.log("\n## VPN mesh (lab): mesh up, rotation, revocation per survivor\n");
    execFileSync(process.execPath, ["-r", "ts-node/register/transpile-only", "test/mesh/bench.ts", "--rounds", "1"], {
      cwd: path.resolve(__dirname, ".."),
      env: { ...process.env, RPLAN_MESH_TARGET: "lab" },
      stdio: "inherit",
    });
    await labDown();
  }
}

main().catch((e: Error) => {
  console.error(`bench: ${e.message}`);
  process.exitCode = 1;
});
