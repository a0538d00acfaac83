/**
 * transports/ldap.ts over a real SSH connection: the pooled, pinned connection of transports/ssh.ts
 * to an in-process ssh2 server on 127.0.0.1 (a stand-in for a node's sshd that forwards channels
 * like OpenSSH does), whose streamlocal and direct-tcpip channels lead to a throwaway local slapd.
 * Proves ldapts runs over `openssh_forwardOutStreamLocal` to the ldapi socket with SASL EXTERNAL
 * as root, and over `forwardOut` to 127.0.0.1:<port> with a simple bind — no local port opened by
 * the client.
 */
import * as crypto from "crypto";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { Server, utils } from "ssh2";
import { baseEntries, DEFAULT_SLAPD_SETTINGS, defaultServerId, INDEXES, nodeIdentityDn, nodeIdentityEntry, renderAcl, sshaHash, treeDns } from "../../planning/ldap";
import { applyEntries } from "../../providers/impl/ldap-entries";
import { readUser, writeUser } from "../../ops/ldap-users";
import { ForwardedSocket, ldapClient, readEntry, sshStreamOpener, withRootLdap } from "../../transports/ldap";
import { closeAllSsh, sshConnection } from "../../transports/ssh";
import { newKeyPair } from "../support/fake-sshd";
import { findSlapd, LocalSlapd, SlapdDist } from "./local-slapd";

const dist = findSlapd();
const suite = typeof dist === "string" ? describe.skip : describe;
if (typeof dist === "string") console.warn(`SKIPPED test/ldap/transport-ssh.test.ts: ${dist}`);

const SUFFIX = "dc=example,dc=org";
const DNS = treeDns(SUFFIX);

describe("ForwardedSocket", () => {
  test("exists at once, buffers writes until the stream opens, then mirrors it; an open error destroys it", async () => {
    const [a, b] = await socketPair();
    let release!: () => void;
    const s = new ForwardedSocket((cb) => (release = () => cb(undefined, a)));
    expect(s.connecting).toBe(true);
    s.write("early");
    const got = new Promise<string>((r) => b.once("data", (d) => r(d.toString())));
    const connected = new Promise((r) => s.once("connect", r));
    release();
    await connected;
    expect(s.readyState).toBe("open");
    expect(await got).toBe("early");
    const back = new Promise<string>((r) => s.once("data", (d) => r(d.toString())));
    b.write("reply");
    expect(await back).toBe("reply");
    s.destroy();
    b.destroy();
    const failed = new ForwardedSocket((cb) => cb(new Error("channel refused")));
    await expect(new Promise((_, rej) => failed.once("error", rej))).rejects.toThrow("channel refused");
  });
});

async function socketPair(): Promise<[net.Socket, net.Socket]> {
  return new Promise((resolve) => {
    const srv = net.createServer((b) => {
      srv.close();
      resolve([a, b]);
    });
    let a: net.Socket;
    srv.listen(0, "127.0.0.1", () => (a = net.connect((srv.address() as net.AddressInfo).port, "127.0.0.1")));
  });
}

suite("ldapts through SSH channels to slapd (in-process ssh2 server, throwaway slapd)", () => {
  let slapd: LocalSlapd;
  let server: Server;
  let port: number;
  let hostKeyLine: string;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rplan-ssh-ldap-"));
  const secret = crypto.randomBytes(30).toString("base64").replace(/[^A-Za-z0-9]/g, "").slice(0, 40);
  const channels: string[] = [];
  const savedKey = process.env.RPLAN_SSH_KEY;
  const target = () => ({ node: "t1", host: "127.0.0.1", port, user: "root", hostKeys: [hostKeyLine] });

  beforeAll(async () => {
    const d = dist as SlapdDist;
    const p = await LocalSlapd.prepare(d, "t1");
    const acl = renderAcl({ suffix: SUFFIX, systemDn: DNS.system, nodesDn: DNS.nodes, rings: [{ ring: "core", cidr: "127.0.0.1/32", access: "write" }] });
    slapd = await LocalSlapd.start(d, "t1", p, { node: "t1", serverId: defaultServerId("t1"), suffix: SUFFIX, role: "master", ...p.paths, listen: [], acl, indexes: INDEXES, limits: [] });

    const host = newKeyPair();
    const admin = newKeyPair();
    hostKeyLine = host.public.trim().split(" ").slice(0, 2).join(" ");
    fs.writeFileSync(path.join(dir, "admin"), admin.private, { mode: 0o600 });
    process.env.RPLAN_SSH_KEY = path.join(dir, "admin");
    const adminPub = utils.parseKey(admin.public) as any;
    server = new Server({ hostKeys: [host.private] }, (client) => {
      client.on("authentication", (ctx: any) => {
        if (ctx.method !== "publickey" || !Buffer.from(ctx.key.data).equals(adminPub.getPublicSSH())) return ctx.reject(["publickey"]);
        if (!ctx.signature || adminPub.verify(ctx.blob, ctx.signature, ctx.hashAlgo) === true) return ctx.accept();
        ctx.reject(["publickey"]);
      });
      client.on("ready", () => {
        client.on("openssh.streamlocal", (accept: any, _reject: any, info: any) => {
          channels.push(`streamlocal:${info.socketPath}`);
          const ch = accept();
          const s = net.connect({ path: info.socketPath });
          ch.pipe(s).pipe(ch);
          s.on("error", () => ch.close());
        });
        client.on("tcpip", (accept: any, _reject: any, info: any) => {
          channels.push(`tcpip:${info.destIP}:${info.destPort}`);
          const ch = accept();
          const s = net.connect({ host: info.destIP, port: info.destPort });
          ch.pipe(s).pipe(ch);
          s.on("error", () => ch.close());
        });
        client.on("session", (accept: any) => accept().once("exec", (acc: any) => acc().exit(1)));
      });
      client.on("error", () => undefined);
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    port = (server.address() as net.AddressInfo).port;
  }, 60_000);

  afterAll(async () => {
    await closeAllSsh();
    await new Promise((r) => server?.close(r));
    await slapd?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
    if (savedKey === undefined) delete process.env.RPLAN_SSH_KEY;
    else process.env.RPLAN_SSH_KEY = savedKey;
  });

  test("streamlocal to the ldapi socket, SASL EXTERNAL as root: the tree, a user, read back", async () => {
    const conn = await sshConnection(target());
    const open = sshStreamOpener(conn, { socketPath: slapd.socket });
    const master = { node: "t1", ssh: {} as any };
    const r = await withRootLdap("t1", open, (c) =>
      applyEntries(c, { master, socketPath: slapd.socket, suffix: SUFFIX, entries: [...baseEntries(SUFFIX, "example.org"), nodeIdentityEntry(SUFFIX, "t1", sshaHash(secret, nodeIdentityDn(SUFFIX, "t1")))], prune: [DNS.nodes] }, undefined),
    );
    expect(r.added).toHaveLength(5);
    await withRootLdap("t1", open, (c) => writeUser(c, { master, suffix: SUFFIX, uid: "carol", mail: "carol@example.org", home: "t1" }));
    expect(await withRootLdap("t1", open, (c) => readUser(c, SUFFIX, "carol"))).toMatchObject({ uid: "carol", home: "t1" });
    expect(channels.filter((c) => c.startsWith("streamlocal:"))).toEqual([`streamlocal:${slapd.socket}`, `streamlocal:${slapd.socket}`, `streamlocal:${slapd.socket}`]);
  });

  test("direct-tcpip to the node's loopback port with a simple bind as a node identity", async () => {
    const conn = await sshConnection(target());
    const c = ldapClient(sshStreamOpener(conn, { host: "127.0.0.1", port: slapd.port }));
    await c.bind(nodeIdentityDn(SUFFIX, "t1"), secret);
    expect(await readEntry(c, "uid=carol,ou=people," + SUFFIX, ["mail"])).toEqual({ mail: ["carol@example.org"] });
    await c.unbind();
    expect(channels).toContain(`tcpip:127.0.0.1:${slapd.port}`);
  });

  test("an unpinned host key is refused before any LDAP byte is sent", async () => {
    const other = newKeyPair().public.split(" ").slice(0, 2).join(" ");
    await expect(sshConnection({ ...target(), node: "t2", hostKeys: [other] })).rejects.toThrow(/host key mismatch/);
  });

  test("the default settings point at Debian's ldapi socket", () => {
    expect(DEFAULT_SLAPD_SETTINGS.ldapiSocket).toBe("/var/run/slapd/ldapi");
  });
});
