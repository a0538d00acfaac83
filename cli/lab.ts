/** `npm run lab -- up [--nodes N] | down | status` */
import { labDown, labStatus, labUp } from "../lab";
import { KNOWN_HOSTS, SSH_KEY, STACK_CONFIG } from "../lab/state";
import { closeAllSsh } from "../transports/ssh";
import { optionValue, parseArgs } from "./options";

const USAGE = "usage: npm run lab -- up [--nodes N] | down | status";

async function main(argv: string[]): Promise<void> {
  const args = parseArgs(argv, { valued: ["--nodes"] }, USAGE);
  const [cmd, ...extra] = args.positional;
  if (extra.length > 0) throw new Error(USAGE);
  if (cmd === "up") {
    const n = optionValue(args, "--nodes");
    const nodes = n === undefined ? undefined : Number(n);
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
    throw new Error(USAGE);
  }
}

main(process.argv.slice(2))
  .catch((e: Error) => {
    console.error(`lab: ${e.message}`);
    process.exitCode = 1;
  })
  .finally(() => closeAllSsh());
