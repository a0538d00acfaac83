/** `npm run lab -- up [--nodes N] | down | status` */
import { closeAllSsh } from "../transports/ssh";
import { labDown, labStatus, labUp } from "./index";
import { KNOWN_HOSTS, SSH_KEY, STACK_CONFIG } from "./state";

async function main(argv: string[]): Promise<void> {
  const [cmd, ...rest] = argv;
  if (cmd === "up") {
    const i = rest.indexOf("--nodes");
    const nodes = i >= 0 ? Number(rest[i + 1]) : undefined;
    const state = await labUp({ nodes });
    console.log(`lab up: ${state.nodes.map((n) => `${n.name} ${n.address}`).join(", ")}`);
    console.log(`stack config: ${STACK_CONFIG} (copied to ./Pulumi.lab.yaml)`);
    console.log(`ssh: ssh -i ${SSH_KEY} -o UserKnownHostsFile=${KNOWN_HOSTS} root@${state.nodes[0].address}`);
  } else if (cmd === "down") {
    await labDown();
    console.log("lab down");
  } else if (cmd === "status") {
    const rows = await labStatus();
    if (!rows.length) return void console.log("the lab is down");
    const table = [["node", "address", "pid", "sshd", "mount"], ...rows.map((r) => [r.node, r.address, String(r.pid ?? "-"), r.sshd ? "up" : "DOWN", r.unlocked ? "unlocked" : "LOCKED"])];
    const w = table[0].map((_, c) => Math.max(...table.map((r) => r[c].length)));
    for (const r of table) console.log(r.map((x, c) => x.padEnd(w[c])).join("  "));
  } else {
    throw new Error("usage: npm run lab -- up [--nodes N] | down | status");
  }
}

main(process.argv.slice(2))
  .catch((e: Error) => {
    console.error(`lab: ${e.message}`);
    process.exitCode = 1;
  })
  .finally(() => closeAllSsh());
