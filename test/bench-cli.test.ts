/** `npm run bench <section>`: an unknown section is an error, not a run that measured nothing. */
import { spawnSync } from "child_process";
import * as path from "path";

const ROOT = path.resolve(__dirname, "..");

test("an unknown benchmark section exits non-zero and names the sections (no lab is touched)", () => {
  const r = spawnSync(process.execPath, ["-r", "ts-node/register/transpile-only", "bench/main.ts", "lpad"], { cwd: ROOT, encoding: "utf8" });
  expect(r.status).toBe(2);
  expect(r.stderr).toMatch(/unknown benchmark section "lpad"; sections: placement, platform, mesh, ldap/);
  expect(r.stdout).toBe("");
});
