/**
 * `npm run unlock -- <node> [--stack prod]`: unlock a node's encrypted partition after a reboot.
 * Asks for the passphrase on the terminal without echo (or reads one line from a pipe); the
 * passphrase goes only to the node, on the SSH channel's stdin.
 */
import * as readline from "readline";
import { unlockEncryptedMount } from "../ops/unlock";
import { findNode, readClusterConfig } from "../stack-file/config";
import { closeAllSsh } from "../transports/ssh";
import { optionValue, parseArgs, stackOf, useLabKeyFor } from "./options";

const USAGE = "usage: npm run unlock -- <node> [--stack <stack>] [--config <file>]";

async function askPassphrase(prompt: string): Promise<string> {
  const input = process.stdin;
  if (!input.isTTY) {
    const rl = readline.createInterface({ input });
    for await (const line of rl) return line;
    throw new Error("no passphrase on stdin");
  }
  process.stderr.write(prompt);
  input.setRawMode(true);
  input.resume();
  let value = "";
  return new Promise((resolve, reject) => {
    input.on("data", (chunk: Buffer) => {
      for (const ch of chunk.toString("utf8")) {
        if (ch === "\r" || ch === "\n") {
          input.setRawMode(false);
          input.pause();
          process.stderr.write("\n");
          return resolve(value);
        }
        if (ch === "\u0003") return reject(new Error("cancelled"));
        if (ch === "\u007f") value = value.slice(0, -1);
        else value += ch;
      }
    });
  });
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2), { valued: ["--stack", "--config"] }, USAGE);
  const stack = stackOf(args);
  const [name, ...extra] = args.positional;
  if (!name || extra.length > 0) throw new Error(USAGE);
  const node = findNode(readClusterConfig({ stack, configFile: optionValue(args, "--config") }), name);
  useLabKeyFor(stack);
  const passphrase = await askPassphrase(`Passphrase for ${node.encryptedMount.path} on ${node.name}: `);
  await unlockEncryptedMount({ node: node.name, ...node.ssh }, node.encryptedMount, passphrase);
  console.log(`${node.name}: ${node.encryptedMount.path} is unlocked`);
}

main()
  .catch((e: Error) => {
    console.error(`unlock: ${e.message}`);
    process.exitCode = 1;
  })
  .finally(() => closeAllSsh());
