/**
 * The previous release built ahead (test/side-by-side.js → ./prepare-previous-release.ts): how the
 * upgrade suite waits for it. The build itself is the upgrade suite's (lab).
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { awaitPreparedRelease, preparedMarkers } from "./release-checkout";

const COMMIT = "d36fe9e5b13c5ed98dbd403fe537cb2aac2b2c29";
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));
function place(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), "rplan-prepared-"));
  dirs.push(d);
  return path.join(d, "previous");
}

describe("waiting for the previous release built beside the lab", () => {
  test("it waits until the build says ready, for the commit asked", async () => {
    const dir = place();
    setTimeout(() => fs.writeFileSync(preparedMarkers(dir).ready, COMMIT), 150);
    const started = Date.now();
    await awaitPreparedRelease(dir, COMMIT, 5000, 20);
    expect(Date.now() - started).toBeGreaterThanOrEqual(100);
  });

  test("a failed build is reported with its reason, at once", async () => {
    const dir = place();
    fs.writeFileSync(preparedMarkers(dir).failed, "npm ci failed");
    await expect(awaitPreparedRelease(dir, COMMIT, 5000, 20)).rejects.toThrow(/not built in .*: npm ci failed/);
  });

  test("a build of another commit is refused", async () => {
    const dir = place();
    fs.writeFileSync(preparedMarkers(dir).ready, "0".repeat(40));
    await expect(awaitPreparedRelease(dir, COMMIT, 5000, 20)).rejects.toThrow(/holds the previous release 0{40}, not d36fe9e/);
  });

  test("no marker within the time: a clear error, not a hang", async () => {
    await expect(awaitPreparedRelease(place(), COMMIT, 100, 20)).rejects.toThrow(/not built .* within 0.1 s/);
  });
});
