/**
 * `npm run unlock -- <node> [--stack prod]`: unlock a node's encrypted partition after a reboot.
 * Asks for the passphrase on the terminal without echo (or reads one line from a pipe); the
 * passphrase goes only to the node, on the SSH channel's stdin.
 */
import { isUnlocked, unlockEncryptedMount } from "../ops/unlock";
import { findNode, readClusterConfig } from "../stack-file/config";
import { closeAllSsh } from "../transports/ssh";
import { LAB_STACK_FILES, optionValue, parseArgs, stackOf, useLabKeyFor } from "./options";
import { askSecret } from "./prompt";
import { isLive } from "../planning/node-roles";

const USAGE = "usage: npm run unlock -- <node> [--stack <stack>] [--config <file>]";

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2), { valued: ["--stack", "--config"] }, USAGE);
  const stack = stackOf(args);
  const [name, ...extra] = args.positional;
  if (!name || extra.length > 0) throw new Error(USAGE);
  const node = findNode(readClusterConfig({ stack, configFile: optionValue(args, "--config"), stackFiles: LAB_STACK_FILES }), name);
  if (!isLive(node)) throw new Error(`${node.name} is revoked: it is never contacted`);
  useLabKeyFor(stack);
  const target = { node: node.name, ...node.ssh };
  // Say so before asking for a passphrase that would not be used.
  if (await isUnlocked(target, node.encryptedMount)) {
    console.log(`${node.name}: ${node.encryptedMount.path} was already unlocked; nothing was done`);
    return;
  }
  const passphrase = await askSecret(`Passphrase for ${node.encryptedMount.path} on ${node.name}: `);
  const outcome = await unlockEncryptedMount(target, node.encryptedMount, passphrase);
  console.log(outcome === "unlocked" ? `${node.name}: ${node.encryptedMount.path} is unlocked` : `${node.name}: ${node.encryptedMount.path} was already unlocked; nothing was done`);
}

main()
  .catch((e: Error) => {
    console.error(`unlock: ${e.message}`);
    process.exitCode = 1;
  })
  .finally(() => closeAllSsh());
