/**
 * Reading a secret (a passphrase, a password) for an admin command: on a terminal without echo, or
 * one line from a pipe (e.g. `pass show … | npm run …`). The value never appears in argv or logs.
 */
import * as readline from "readline";

/** One line: typed without echo on a terminal, or the first line of a pipe. */
export async function askSecret(prompt: string): Promise<string> {
  const input = process.stdin;
  if (!input.isTTY) {
    const rl = readline.createInterface({ input });
    for await (const line of rl) return line;
    throw new Error("nothing on stdin");
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
