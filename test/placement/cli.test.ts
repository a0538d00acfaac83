/** `npm run placement` as admins run it, on the example prod stack: only commands that contact no host and write nothing. */
import { execFile } from "child_process";
import * as path from "path";

const PROJECT = path.resolve(__dirname, "../..");

function placement(args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) =>
    execFile(process.execPath, ["-r", "ts-node/register", "cli/placement.ts", ...args, "--stack", "prod"], { cwd: PROJECT, env: { ...process.env, TS_NODE_TRANSPILE_ONLY: "1" } }, (e, stdout, stderr) =>
      resolve({ code: e ? ((e as any).code ?? 1) : 0, out: stdout + stderr }),
    ),
  );
}

describe("npm run placement (example prod stack)", () => {
  test("show prints the users and each node's fill", async () => {
    const r = await placement(["show"]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^user +home +standby +bytes +pin\n/);
    expect(r.out).toMatch(/\ncarol +is1 +13 GB +is1\n/);
    expect(r.out).toMatch(/\nnode +state +users +bytes +capacity +fill\n/);
  }, 60_000);

  test.each([
    [["plan", "drain"], "plan drain needs a node"],
    [["plan", "drain", "xx9"], 'unknown node "xx9" (nodes: nl1, se1, is1, ch1, fr1)'],
    [["plan", "rebalance", "--max-bytes", "lots"], '--max-bytes needs a whole number of bytes (got "lots")'],
    [["show", "--tolerance", "0.1"], "--tolerance is only for plan"],
    [["sizes", "--adopt-directory-homes"], "--adopt-directory-homes is only for sync"],
    [["move"], "usage: npm run placement -- show"],
  ])("%j is refused with exit 2 and a clear message", async (args, message) => {
    const r = await placement(args);
    expect(r.code).toBe(2);
    expect(r.out).toContain(`placement: ${message}`);
  }, 60_000);
});
