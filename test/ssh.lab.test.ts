/**
 * The SSH transport against real lab nodes: pinned host keys, key and agent auth, one connection
 * per host, quoting, stdin, atomic writes, errors that name the node, and a SOCKS5 proxy.
 */
import { execFileSync, spawn } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { ensureLab, labSshTarget } from "../lab";
import { KNOWN_HOSTS, SSH_KEY as LAB_SSH_KEY } from "../lab/state";
import { closeAllSsh, sshConnection, sshStats, SshTarget } from "../transports/ssh";
import { fakeHostKey } from "./support/config-fixture";

const maybe = process.getuid?.() === 0 ? describe : describe.skip;

/** A minimal SOCKS5 server (no auth, CONNECT only) that records where it was asked to go. */
function socksServer(seen: string[]): Promise<net.Server> {
  const server = net.createServer((client) => {
    client.once("data", () => {
      client.write(Buffer.from([5, 0]));
      client.once("data", (req) => {
        const host = req[3] === 1 ? [...req.subarray(4, 8)].join(".") : req.subarray(5, 5 + req[4]).toString();
        const port = req.readUInt16BE(req.length - 2);
        seen.push(`${host}:${port}`);
        const upstream = net.connect(port, host, () => {
          client.write(Buffer.from([5, 0, 0, 1, 0, 0, 0, 0, 0, 0]));
          client.pipe(upstream).pipe(client);
        });
        upstream.on("error", () => client.destroy());
      });
    });
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}

maybe("SSH transport on lab nodes", () => {
  let lab1: SshTarget;
  beforeAll(async () => {
    await ensureLab({ nodes: 3 });
    lab1 = labSshTarget("lab1");
  }, 600_000);
  afterEach(() => closeAllSsh());

  test("a host key that is not pinned is refused, naming the node", async () => {
    const wrong = { ...lab1, hostKeys: [fakeHostKey("not lab1's key")] };
    await expect(sshConnection(wrong)).rejects.toThrow(/\[lab1\] host key mismatch at 198\.51\.100\.11:22: presented SHA256:\S+, pinned ssh-ed25519 SHA256:\S+\. Refusing to connect\./);
  });

  test("no pinned key at all is refused before connecting", async () => {
    await expect(sshConnection({ ...lab1, hostKeys: [] })).rejects.toThrow(/\[lab1\] no pinned host key: refusing to connect/);
  });

  test("one connection per host, reused by every command", async () => {
    const before = sshStats().connectionsOpened;
    const [a, b] = await Promise.all([sshConnection(lab1), sshConnection(lab1)]);
    expect(a).toBe(b);
    await Promise.all(Array.from({ length: 20 }, (_, i) => a.exec(`echo ${i}`)));
    expect(sshStats().connectionsOpened - before).toBe(1);
  });

  test("arguments are quoted and data travels on stdin", async () => {
    const conn = await sshConnection(lab1);
    const weird = "$(touch /tmp/pwned); `id` 'quoted' \"double\" *";
    expect((await conn.run(["printf", "%s", weird])).stdout).toBe(weird);
    expect((await conn.exec("test -e /tmp/pwned && echo yes || echo no")).stdout.trim()).toBe("no");
    expect((await conn.run(["cat"], { stdin: "secret on stdin\n" })).stdout).toBe("secret on stdin\n");
  });

  test("files are written atomically with mode and owner set, and no temp file left", async () => {
    const conn = await sshConnection(lab1);
    await conn.run(["mkdir", "-p", "/srv/crypt/test-atomic"]);
    await conn.writeFile("/srv/crypt/test-atomic/key", "k1\n", { mode: "0600", owner: "root:root" });
    await conn.writeFile("/srv/crypt/test-atomic/key", "k2\n", { mode: "0640", owner: "root:ssl-cert" });
    expect((await conn.exec("stat -c '%a %U %G' /srv/crypt/test-atomic/key; cat /srv/crypt/test-atomic/key; ls -A /srv/crypt/test-atomic")).stdout).toBe("640 root ssl-cert\nk2\nkey\n");
    expect(await conn.readFile("/srv/crypt/test-atomic/missing")).toBeUndefined();
    await conn.run(["rm", "-rf", "/srv/crypt/test-atomic"]);
  });

  test("a failing command's error names the node, the command and its output", async () => {
    const conn = await sshConnection(lab1);
    await expect(conn.run(["ls", "/no/such/dir"])).rejects.toThrow(/\[lab1\] `ls \/no\/such\/dir` failed \(exit 2\): .*No such file/);
  });

  test("a connection dropped mid-command fails the command at once, naming the node", async () => {
    const conn = await sshConnection(labSshTarget("lab3"));
    const pending = conn.exec("sleep 60");
    await new Promise((r) => setTimeout(r, 300));
    // Kill every root session on lab3 from outside (the real OpenSSH client; it kills itself too).
    spawn("ssh", ["-i", LAB_SSH_KEY, "-o", `UserKnownHostsFile=${KNOWN_HOSTS}`, "-o", "StrictHostKeyChecking=yes", "root@198.51.100.13", "pkill -f 'sshd: root'"], { stdio: "ignore" });
    await expect(pending).rejects.toThrow(/\[lab3\] connection lost/);
    await closeAllSsh();
    expect((await (await sshConnection(labSshTarget("lab3"))).exec("hostname")).stdout.trim()).toBe("lab3");
  });

  test("agent authentication: no key file, only SSH_AUTH_SOCK", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rplan-agent-"));
    const sock = path.join(dir, "agent.sock");
    const agent = spawn("ssh-agent", ["-D", "-a", sock], { stdio: "ignore" });
    try {
      for (let i = 0; i < 50 && !fs.existsSync(sock); i++) await new Promise((r) => setTimeout(r, 50));
      execFileSync("ssh-add", [LAB_SSH_KEY], { env: { ...process.env, SSH_AUTH_SOCK: sock }, stdio: "ignore" });
      const saved = { key: process.env.RPLAN_SSH_KEY, sock: process.env.SSH_AUTH_SOCK };
      delete process.env.RPLAN_SSH_KEY;
      process.env.SSH_AUTH_SOCK = sock;
      try {
        const conn = await sshConnection({ ...lab1, privateKeyPath: undefined });
        expect((await conn.exec("hostname")).stdout.trim()).toBe("lab1");
      } finally {
        if (saved.key) process.env.RPLAN_SSH_KEY = saved.key;
        if (saved.sock) process.env.SSH_AUTH_SOCK = saved.sock;
        else delete process.env.SSH_AUTH_SOCK;
      }
    } finally {
      agent.kill();
    }
  });

  test("through a SOCKS5 proxy (how admins reach nodes over Tor)", async () => {
    const seen: string[] = [];
    const proxy = await socksServer(seen);
    try {
      const port = (proxy.address() as net.AddressInfo).port;
      const conn = await sshConnection({ ...labSshTarget("lab2"), proxy: `socks5://127.0.0.1:${port}` });
      expect((await conn.exec("hostname")).stdout.trim()).toBe("lab2");
      expect(seen).toEqual(["198.51.100.12:22"]);
    } finally {
      await closeAllSsh();
      proxy.close();
    }
  });
});
