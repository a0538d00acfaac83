/**
 * `npm start`: the main job. Bring up (or reuse) the lab of real Debian servers, apply the stack to
 * it with the stack runner (the CLI's stand-in here), and print a short summary.
 */
import { ensureLab } from "../lab";
import { runStack } from "../runner";
import { readClusterConfig } from "../stack-file/config";
import { closeAllSsh } from "../transports/ssh";
import { LAB_STACK_FILES, useLabKeyFor } from "./options";

async function main(): Promise<void> {
  const nodes = Number(process.env.RPLAN_LAB_NODES ?? 3);
  const t0 = Date.now();
  const lab = await ensureLab({ nodes });
  await closeAllSsh(); // the lab's own unlock connections; the stack opens its own
  const labSeconds = (Date.now() - t0) / 1000;
  useLabKeyFor("lab");
  const result = await runStack({ op: "up", stack: "lab", stackFiles: LAB_STACK_FILES, log: (line) => console.log(line) });
  const config = readClusterConfig({ stack: "lab", stackFiles: LAB_STACK_FILES });
  const facts = (result.outputs.nodeFacts ?? {}) as Record<string, { machineId?: string; mountFsType?: string }>;
  const counts = new Map<string, number>();
  for (const s of result.steps) counts.set(s.op, (counts.get(s.op) ?? 0) + 1);
  console.log("\n== rplan lab summary");
  console.log(`lab: ${lab.nodes.length} nodes ready in ${labSeconds.toFixed(1)} s; stack applied in ${(result.timings.totalMs / 1000).toFixed(1)} s`);
  console.log(`steps: ${[...counts].map(([op, n]) => `${op} ${n}`).join(", ") || "none"}`);
  const roles = (result.outputs.ldapRoles ?? {}) as Record<string, string>;
  console.log("node   country  address          vpn            encrypted mount             ldap      machine-id");
  for (const n of config.nodes) {
    const f = facts[n.name] ?? {};
    const mount = `${n.encryptedMount.path} (${f.mountFsType ?? "?"})`;
    console.log([n.name.padEnd(6), n.country.padEnd(8), n.ssh.host.padEnd(16), n.vpnAddress.padEnd(14), mount.padEnd(27), (roles[n.name] ?? "-").padEnd(9), (f.machineId ?? "?").slice(0, 12)].join(" "));
  }
  console.log("next: `npm run stack -- preview` (expect no changes) · `npm run ldap -- status` · `npm run mesh -- status` · `npm run lab -- down`");
}

main()
  .catch((e: Error) => {
    console.error(`rplan start: ${e.message}`);
    process.exitCode = 1;
  })
  .finally(() => closeAllSsh());
