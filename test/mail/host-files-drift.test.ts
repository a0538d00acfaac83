/**
 * HostFiles' refresh reads each file's content back from the host, so a hand edit of a daemon's
 * configuration (e.g. `postconf -e` on main.cf) is drift: the refreshed state differs from the
 * inputs, and the next diff asks for an update that writes the file back. The provider's real
 * commands run here through a stand-in connection that executes them on this machine, in a
 * scratch directory (no host, no SSH).
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { SshConnection, SshError } from "../../transports/ssh";

/** An SshConnection whose commands run locally with `sh -c` (its run/writeFile/readFile are the real ones). */
function localConnection(): SshConnection {
  const conn = Object.create(SshConnection.prototype) as SshConnection;
  Object.assign(conn, {
    target: { node: "n1" },
    exec: async (command: string, opts: { stdin?: string; allowFailure?: boolean; label?: string } = {}) => {
      // env: under jest, process.env is the test's own copy (a test puts stand-in commands on PATH)
      const r = spawnSync("sh", ["-c", command], { input: opts.stdin ?? "", encoding: "utf8", env: process.env });
      const result = { code: r.status ?? 1, stdout: r.stdout, stderr: r.stderr };
      if (result.code !== 0 && !opts.allowFailure) throw new SshError(`${opts.label ?? command} failed: ${r.stderr}`, "n1", result.code);
      return result;
    },
  });
  return conn;
}

jest.mock("../../transports/ssh", () => {
  const actual = jest.requireActual("../../transports/ssh");
  return { ...actual, sshConnection: async () => localConnection() };
});

const hostFiles = require("../../providers/impl/host-files") as typeof import("../../providers/impl/host-files");
const root = process.getuid?.() === 0; // writing files owned by root:root needs root, as on a node
const maybe = root ? describe : describe.skip;

maybe("HostFiles: a hand edit is drift, and the next update writes the file back", () => {
  let dir: string;
  let inputs: import("../../providers/impl/host-files").HostFilesInputs;
  const main = () => path.join(dir, "postfix", "main.cf");

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "rplan-drift-"));
    inputs = {
      node: "n1",
      ssh: { host: "192.0.2.1", port: 22, user: "root", hostKeys: ["ssh-ed25519 AAAA"] },
      files: [{ path: main(), content: "myhostname = n1.example.org\n", mode: "0644", owner: "root:root" }],
      prune: [path.join(dir, "postfix", "rplan")],
      reload: [["true"]],
    };
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  test("refresh reads the content on the host; unchanged host → no diff; edited host → an update", async () => {
    const created = await hostFiles.create(inputs);
    expect(fs.readFileSync(main(), "utf8")).toBe("myhostname = n1.example.org\n");
    expect(created.outs.lastApply).toEqual({ written: [main()], removed: [], reloaded: true });

    const clean = await hostFiles.read(created.id, created.outs);
    expect(clean.props.files).toEqual(inputs.files);
    expect((await hostFiles.diff(created.id, clean.props, inputs)).changes).toBe(false);

    // what `postconf -e` would do by hand
    fs.appendFileSync(main(), "relayhost = [evil.example]\n");
    const drifted = await hostFiles.read(created.id, created.outs);
    expect(drifted.props.files[0].content).toBe("myhostname = n1.example.org\nrelayhost = [evil.example]\n");
    expect(await hostFiles.diff(created.id, drifted.props, inputs)).toMatchObject({ changes: true, replaces: [] });

    const repaired = await hostFiles.update(created.id, drifted.props, inputs);
    expect(repaired.outs.lastApply).toEqual({ written: [main()], removed: [], reloaded: true });
    expect(fs.readFileSync(main(), "utf8")).toBe("myhostname = n1.example.org\n");
  });

  test("an update that changes only the commands runs them (a release adding a step to an unchanged set of files); an unchanged one runs nothing", async () => {
    const created = await hostFiles.create(inputs);
    const marker = path.join(dir, "ran");
    const same = await hostFiles.update(created.id, created.outs, inputs);
    expect(same.outs.lastApply).toEqual({ written: [], removed: [], reloaded: false });
    const next = { ...inputs, reload: [["true"], ["touch", marker]] };
    const updated = await hostFiles.update(created.id, created.outs, next);
    expect(updated.outs.lastApply).toEqual({ written: [], removed: [], reloaded: true });
    expect(fs.existsSync(marker)).toBe(true);
  });

  test("a deleted file and a stray file in an owned directory are drift too", async () => {
    const created = await hostFiles.create(inputs);
    fs.mkdirSync(path.join(dir, "postfix", "rplan"));
    fs.writeFileSync(path.join(dir, "postfix", "rplan", "stray.cf"), "x\n");
    fs.rmSync(main());
    const r = await hostFiles.read(created.id, created.outs);
    expect(r.props.files.map((f: { path: string }) => f.path)).toEqual([path.join(dir, "postfix", "rplan", "stray.cf")]);
    expect((await hostFiles.diff(created.id, r.props, inputs)).changes).toBe(true);
    const repaired = await hostFiles.update(created.id, r.props, inputs);
    expect(repaired.outs.lastApply?.removed).toEqual([path.join(dir, "postfix", "rplan", "stray.cf")]);
    expect(fs.existsSync(main())).toBe(true);
  });
});

/**
 * Each test gets a scratch dir whose bin/ holds stand-in commands (name → shell script body; `$DIR`
 * in a body is the scratch dir) ahead of PATH. Returns the current scratch dir.
 */
function withStandInCommands(scripts: Record<string, string>): () => string {
  let dir = "";
  const path0 = process.env.PATH;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "rplan-standin-"));
    const bin = path.join(dir, "bin");
    fs.mkdirSync(bin);
    for (const [name, body] of Object.entries(scripts)) fs.writeFileSync(path.join(bin, name), `#!/bin/sh\n${body.replaceAll("$DIR", dir)}`, { mode: 0o755 });
    process.env.PATH = `${bin}:${path0}`;
  });
  afterEach(() => {
    process.env.PATH = path0;
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return () => dir;
}

maybe("HostFiles: a daemon that does not come back", () => {
  // systemctl as it fails on a start timeout, and the unit's journal
  const scratch = withStandInCommands({
    systemctl: 'echo "Job for $2.service failed because a timeout was exceeded." >&2\nexit 1\n',
    journalctl: '[ "$1 $2" = "-u opendkim" ] || exit 1\necho "opendkim[42]: the key file is not readable"\n',
  });

  const inputs = (reload: string[][]) => ({
    node: "n1",
    ssh: { host: "192.0.2.1", port: 22, user: "root", hostKeys: ["ssh-ed25519 AAAA"] },
    files: [{ path: path.join(scratch(), "opendkim.conf"), content: "Mode s\n", mode: "0644", owner: "root:root" }],
    reload,
  });

  test("a failed `systemctl restart` carries the unit's last journal lines in its error", async () => {
    const err = (await hostFiles.create(inputs([["systemctl", "restart", "opendkim"]])).catch((e: Error) => e)) as Error;
    expect(err.message).toContain("Job for opendkim.service failed because a timeout was exceeded.");
    expect(err.message).toContain("the last lines opendkim logged:\nopendkim[42]: the key file is not readable");
    expect(err).toBeInstanceOf(SshError);
  });

  test("any other failed command fails as it is, with no journal added", async () => {
    const err = (await hostFiles.create(inputs([["sh", "-c", "echo broken >&2; exit 3"]])).catch((e: Error) => e)) as Error;
    expect(err.message).toContain("broken");
    expect(err.message).not.toContain("logged:");
  });
});

/**
 * Steps run side by side: a daemon-reload from one must not land while another's restart waits for
 * its daemon (systemd then misses a forking daemon's PID file and times the start out). The
 * connection here runs commands asynchronously, so two updates really overlap; `flock` is the real
 * one (util-linux, as on a node), systemctl a stand-in that logs when each command starts and ends.
 */
maybe("HostFiles: systemctl commands of steps running side by side", () => {
  const scratch = withStandInCommands({ systemctl: 'echo "start $*" >> $DIR/log\nsleep 0.4\necho "end $*" >> $DIR/log\n' });

  test("take turns: each systemctl command ends before the next one starts; other commands do not wait", async () => {
    const { spawn } = require("child_process") as typeof import("child_process");
    const ran: string[] = [];
    const conn = localConnection();
    Object.assign(conn, {
      exec: (command: string, opts: { stdin?: string } = {}) =>
        new Promise((resolve) => {
          ran.push(command);
          const child = spawn("sh", ["-c", command], { env: process.env });
          let stdout = "";
          child.stdout.on("data", (d: Buffer) => (stdout += d));
          child.on("close", (code: number) => resolve({ code, stdout, stderr: "" }));
          child.stdin.on("error", () => undefined); // a command that reads no stdin may exit first
          child.stdin.end(opts.stdin ?? "");
        }),
    });
    const ssh = require("../../transports/ssh");
    const spy = jest.spyOn(ssh, "sshConnection").mockImplementation(async () => conn);
    try {
      const step = (name: string, reload: string[][]) =>
        hostFiles.create({
          node: "n1",
          ssh: { host: "192.0.2.1", port: 22, user: "root", hostKeys: ["ssh-ed25519 AAAA"] },
          files: [{ path: path.join(scratch(), `${name}.conf`), content: "x\n", mode: "0644", owner: "root:root" }],
          reload,
        });
      await Promise.all([step("a", [["systemctl", "restart", "opendkim"]]), step("b", [["systemctl", "daemon-reload"], ["systemctl", "restart", "tinc@rplan"]]), step("c", [["true"]])]);
    } finally {
      spy.mockRestore();
    }
    const log = fs.readFileSync(path.join(scratch(), "log"), "utf8").trim().split("\n");
    expect(log).toHaveLength(6);
    // strictly alternating: start X, end X, start Y, end Y, …
    for (let i = 0; i < log.length; i += 2) {
      expect(log[i]).toMatch(/^start /);
      expect(log[i + 1]).toBe(log[i].replace(/^start /, "end "));
    }
    expect(ran.filter((c) => /systemctl/.test(c)).every((c) => c.startsWith("flock /run/rplan-systemctl.lock systemctl "))).toBe(true);
    expect(ran).toContain("true");
  });
});
