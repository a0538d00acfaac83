/** What the provider implementations share: the guard every key-handling provider connects through. */
import { connectForKeys } from "../../providers/impl/common";
import { closeAllSsh } from "../../transports/ssh";
import { fakeHostKey } from "../support/config-fixture";

// Loopback port 1: nothing listens there, so a connection attempt fails at once and stays local.
const node = { node: "n1", ssh: { host: "127.0.0.1", port: 1, user: "root", hostKeys: [fakeHostKey("n1")] }, encryptedMount: { kind: "gocryptfs" as const, path: "/srv/crypt", cipherDir: "/srv/.crypt-cipher" } };

afterAll(() => closeAllSsh());

describe("connectForKeys", () => {
  test.each(["/etc/tinc/rsa_key.priv", "/srv/crypt/../etc/key", "/srv/cryptic/key"])("refuses %s, outside the mount, without contacting the node", async (p) => {
    await expect(connectForKeys(node, ["/srv/crypt/keys/tinc/ok", p], "tinc private key")).rejects.toThrow(`[n1] refusing to keep the tinc private key outside the encrypted mount /srv/crypt: ${p}`);
  });

  test("with every path inside the mount it goes on to the SSH transport (which stops here: no credentials, or the closed port)", async () => {
    const err = await connectForKeys(node, ["/srv/crypt/keys/tinc/rsa_key.priv"], "tinc private key").catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).not.toMatch(/refusing to keep/);
    expect((err as Error).message).toMatch(/^\[n1\] (no admin credentials|.*ECONNREFUSED)/);
  });
});
