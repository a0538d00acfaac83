import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { fingerprint, parseHostKey, shellCommand, shellQuote } from "../transports/ssh";
import { fakeHostKey } from "./support/config-fixture";

describe("SSH transport units", () => {
  test.each([["plain"], ["two words"], ["it's"], ["$(touch /tmp/pwned)"], ["`id`; rm -rf x"], [""], ["a\nb"], ["*"]])("quotes %j so a real shell sees it verbatim", (arg) => {
    const out = execFileSync("sh", ["-c", `printf %s ${shellQuote(arg)}`]).toString();
    expect(out).toBe(arg);
  });

  test("argv joins with every argument quoted", () => {
    expect(execFileSync("sh", ["-c", shellCommand(["printf", "%s|%s", "a b", "c;d"])]).toString()).toBe("a b|c;d");
  });

  test("fingerprints match OpenSSH's ssh-keygen", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rplan-fp-"));
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", path.join(dir, "k")]);
    const pub = fs.readFileSync(path.join(dir, "k.pub"), "utf8");
    const theirs = execFileSync("ssh-keygen", ["-l", "-f", path.join(dir, "k.pub")]).toString().split(" ")[1];
    expect(fingerprint(parseHostKey(pub).blob)).toBe(theirs);
    fs.rmSync(dir, { recursive: true });
  });

  test("a key whose blob names another type is refused", () => {
    const [, b64] = fakeHostKey("x").split(" ");
    expect(() => parseHostKey(`ssh-rsa ${b64}`)).toThrow(/blob is of another type/);
  });
});
