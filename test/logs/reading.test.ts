/**
 * planning/logs/reading: the rendered command run by this machine's real sh, date, zcat and awk over
 * a log rotated as logrotate leaves it (`.3.gz`, `.2.gz`, `.1`, current).
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as zlib from "zlib";
import { logSinceCommand } from "../../planning/logs/reading";

const line = (t: string, text: string) => `2026-11-${t}+00:00 lab1 postfix/qmgr[81]: ${text}\n`;

describe("logSinceCommand (real sh, date, zcat, awk)", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rplan-logread-"));
  const log = path.join(dir, "rplan.log");
  beforeAll(() => {
    fs.writeFileSync(`${log}.3.gz`, zlib.gzipSync(line("27T10:00:00.000001", "oldest")));
    fs.writeFileSync(`${log}.2.gz`, zlib.gzipSync(line("28T10:00:00.000001", "older")));
    fs.writeFileSync(`${log}.1`, line("29T10:00:00.000001", "yesterday") + line("29T23:59:59.999999", "last before midnight"));
    fs.writeFileSync(log, line("30T00:00:00.000001", "today") + line("30T01:00:00.5", "now"));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  const read = (since: string) => execFileSync("sh", ["-c", logSinceCommand(since, log)], { encoding: "utf8", env: { ...process.env, TZ: "UTC" } }).split("\n").filter(Boolean).map((l) => l.replace(/^.*: /, ""));

  test("every file, oldest first, from the time asked on (a line in the very second asked is kept)", () => {
    expect(read("@0")).toEqual(["oldest", "older", "yesterday", "last before midnight", "today", "now"]);
    expect(read(`@${Date.UTC(2026, 10, 29, 23, 59, 59) / 1000}`)).toEqual(["last before midnight", "today", "now"]);
    expect(read(`@${Date.UTC(2026, 10, 30, 0, 0, 1) / 1000}`)).toEqual(["now"]);
  });

  test("no file at all: nothing, and no error", () => {
    expect(execFileSync("sh", ["-c", logSinceCommand("@0", path.join(dir, "absent.log"))], { encoding: "utf8" })).toBe("");
  });

  test("only date expressions and safe paths reach the shell: every problem at once", () => {
    expect(() => logSinceCommand("x'; rm -rf /; '", "/var/log/a b")).toThrow(/since .* must be[\s\S]*file .* must be/);
    for (const ok of ["@1764467100", "-5min", "7 days ago"]) expect(() => logSinceCommand(ok)).not.toThrow();
  });
});
