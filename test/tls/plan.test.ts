/** planning/service-tls: where the TLS keys live, what the certificates name, what the daemons read. */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { renderDovecot } from "../../planning/mail/dovecot-config";
import { renderPostfix } from "../../planning/mail/postfix-config";
import { parseTlsCertificate, planServiceTls, ServiceTlsPlan, subjectAltName, tlsContribution, tlsPathProblems, tlsRevision, tlsSubjectProblems } from "../../planning/service-tls";

const node = { name: "n1", publicAddress: "198.51.100.11" };
const dirs = { tinc: "/srv/crypt/keys/tinc", postfix: "/srv/crypt/keys/postfix", dovecot: "/srv/crypt/other/dovecot" };
const mount = { path: "/srv/crypt" };

describe("planServiceTls", () => {
  test("one key per TLS service, in that service's key directory (overrides honoured)", () => {
    const plans = planServiceTls({ ...node, tlsKeyGeneration: 2 }, dirs, "example.org");
    expect(plans).toEqual([
      {
        service: "postfix",
        keyDir: "/srv/crypt/keys/postfix",
        privateKeyPath: "/srv/crypt/keys/postfix/tls.key",
        certPath: "/srv/crypt/keys/postfix/tls.crt",
        subject: { commonName: "n1.example.org", dnsNames: ["n1.example.org"], ipAddresses: ["198.51.100.11"] },
        algorithm: "rsa-3072",
        validityDays: 825,
        generation: 2,
      },
      expect.objectContaining({ service: "dovecot", keyDir: "/srv/crypt/other/dovecot", privateKeyPath: "/srv/crypt/other/dovecot/tls.key", algorithm: "ec-p256", generation: 2 }),
    ]);
    for (const p of plans) expect(tlsPathProblems(mount, p)).toEqual([]);
  });

  test("without a domain the certificate names the bare node name; generation defaults to 1", () => {
    const [p] = planServiceTls(node, dirs);
    expect(p.subject.commonName).toBe("n1");
    expect(p.generation).toBe(1);
  });

  test("a node without a key directory for a TLS service is a programming error, said plainly", () => {
    expect(() => planServiceTls(node, { postfix: "/srv/crypt/keys/postfix" })).toThrow("node n1 has no key directory for dovecot");
  });

  test("subjectAltName lists DNS names then addresses", () => {
    expect(subjectAltName({ commonName: "a.b", dnsNames: ["a.b", "c.b"], ipAddresses: ["198.51.100.1", "2001:db8::1"] })).toBe("DNS:a.b,DNS:c.b,IP:198.51.100.1,IP:2001:db8::1");
  });
});

describe("subject and path problems", () => {
  test("subjects that would inject into the openssl config are refused", () => {
    expect(tlsSubjectProblems({ commonName: "n1.example.org", dnsNames: ["n1.example.org"], ipAddresses: ["2001:db8::1"] })).toEqual([]);
    expect(tlsSubjectProblems({ commonName: "n1.example.org\n[ext]", dnsNames: ["x,DNS:evil.org"], ipAddresses: ["1.2.3"] })).toEqual([
      expect.stringContaining("subject.commonName"),
      "subject.dnsNames must be a list of lower-case DNS names",
      "subject.ipAddresses must be a list of IP addresses",
    ]);
    expect(tlsSubjectProblems({ commonName: "a".repeat(65), dnsNames: [], ipAddresses: [] })).toEqual([expect.stringContaining("at most 64"), "subject names nothing (no dnsNames, no ipAddresses)"]);
    expect(tlsSubjectProblems(undefined)).toHaveLength(3);
  });

  test.each([
    [{ keyDir: "/etc/ssl/private" }, "keyDir", "the key directory /etc/ssl/private must be inside the encrypted mount /srv/crypt"],
    [{ keyDir: "/srv/crypt" }, "keyDir", "the key directory /srv/crypt must be inside the encrypted mount /srv/crypt"],
    [{ keyDir: "/srv/crypt/keys/../../etc" }, "keyDir", 'keyDir "/srv/crypt/keys/../../etc" must be a normalized absolute path of safe characters'],
    [{ privateKeyPath: "/etc/ssl/private/tls.key" }, "privateKeyPath", "the private key must live inside the encrypted mount /srv/crypt (got /etc/ssl/private/tls.key)"],
    [{ privateKeyPath: "/srv/crypt/keys/tls.key" }, "privateKeyPath", "the private key must be a (non-hidden) file directly in the key directory /srv/crypt/keys/postfix (got /srv/crypt/keys/tls.key)"],
    [{ privateKeyPath: "/srv/crypt/keys/postfix/.tlsgen.x" }, "privateKeyPath", expect.stringContaining("(non-hidden) file directly in the key directory")],
    [{ certPath: "/etc/ssl/certs/n1.pem" }, "certPath", "the certificate must live inside the encrypted mount /srv/crypt (got /etc/ssl/certs/n1.pem)"],
    [{ certPath: "/srv/crypt/keys/postfix/tls.key" }, "certPath", "certPath and privateKeyPath must differ"],
    [{ service: "post fix" }, "service", 'service "post fix" must be a lower-case service name'],
  ])("%o is refused", (change, property, reason) => {
    const p = { ...planServiceTls(node, dirs, "example.org")[0], ...change };
    expect(tlsPathProblems(mount, p)).toEqual([{ property, reason }]);
  });

  test("values not known yet are skipped", () => {
    const U = "unknown";
    const known = (v: unknown) => v !== U;
    expect(tlsPathProblems(mount, { service: U, keyDir: U, privateKeyPath: "/srv/crypt/keys/postfix/tls.key", certPath: U }, known)).toEqual([]);
    // a known path is still judged against the mount when the key directory is not known yet
    expect(tlsPathProblems(mount, { service: "postfix", keyDir: U, privateKeyPath: "/etc/tls.key", certPath: U }, known).map((f) => f.property)).toEqual(["privateKeyPath"]);
  });
});

describe("the TLS contribution to the mail daemons", () => {
  const plans = planServiceTls(node, dirs, "example.org") as [ServiceTlsPlan, ServiceTlsPlan];
  const settings = (text: string) => text.split("\n").filter((l) => l && !l.startsWith("#"));

  test("dovecot: TLS required, key and certificate read from the key directory, in dovecot.conf itself", () => {
    const c = tlsContribution(plans);
    expect(c.dovecot?.settings).toEqual({ ssl: "required", ssl_cert: "</srv/crypt/other/dovecot/tls.crt", ssl_key: "</srv/crypt/other/dovecot/tls.key", ssl_dh: "</usr/share/dovecot/dh.pem" });
    const conf = renderDovecot("n1", [c]).files[0];
    expect(conf.path).toBe("/etc/dovecot/dovecot.conf");
    expect(settings(conf.content)).toEqual(expect.arrayContaining(["ssl = required", "ssl_cert = </srv/crypt/other/dovecot/tls.crt", "ssl_key = </srv/crypt/other/dovecot/tls.key"]));
    expect(settings(conf.content)).not.toContain("ssl = no");
  });

  test("postfix: the key's settings in main.cf itself — no side command edits it", () => {
    const r = renderPostfix({ name: "n1", domain: "example.org" }, [tlsContribution(plans)]);
    const main = r.files.find((f) => f.path === "/etc/postfix/main.cf")!;
    expect(settings(main.content)).toEqual(
      expect.arrayContaining(["smtpd_tls_cert_file = /srv/crypt/keys/postfix/tls.crt", "smtpd_tls_key_file = /srv/crypt/keys/postfix/tls.key", "smtpd_tls_security_level = may"]),
    );
    expect(main.content).not.toContain("snakeoil");
    expect(r.reload.flat()).not.toContain("postconf");
  });

  test("the certificate in use is named by a revision line, which changes with the key", () => {
    expect(tlsRevision("postfix", "11:11")).not.toBe(tlsRevision("postfix", "22:22"));
    expect(tlsRevision("dovecot", "AB:CD")).toBe("dovecot TLS certificate SHA-256 AB:CD");
  });
});

describe("parseTlsCertificate", () => {
  let dir: string;
  let cert: string;
  let key: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "rplan-tls-plan-"));
    execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", `${dir}/k`, "-out", `${dir}/c`, "-days", "30", "-subj", "/CN=n1.example.org"], { stdio: "ignore" });
    cert = fs.readFileSync(`${dir}/c`, "utf8");
    key = fs.readFileSync(`${dir}/k`, "utf8");
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test("the fingerprint is the one openssl prints; notAfter is ISO", () => {
    const p = parseTlsCertificate("n1", `\n${cert.replace(/\n/g, "\r\n")}\n`, "n1.example.org");
    const openssl = execFileSync("openssl", ["x509", "-in", `${dir}/c`, "-noout", "-fingerprint", "-sha256"]).toString().trim().split("=")[1];
    expect(p.fingerprint).toBe(openssl);
    expect(p.pem).toBe(cert);
    expect(p.notAfter).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z$/);
    expect(Date.parse(p.notAfter) - Date.now()).toBeGreaterThan(29 * 86400_000);
  });

  test("a private key in the answer is refused without echoing it", () => {
    let message = "";
    try {
      parseTlsCertificate("n1", cert + key);
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toBe("n1 answered with private key material where a certificate was expected: refusing to record it");
  });

  test("anything but one certificate naming the expected CN is refused", () => {
    expect(() => parseTlsCertificate("n1", cert + cert)).toThrow(/not a single "CERTIFICATE" PEM block/);
    expect(() => parseTlsCertificate("n1", "Subnet = 0.0.0.0/0\n" + cert)).toThrow(/not a single "CERTIFICATE" PEM block/);
    expect(() => parseTlsCertificate("n1", cert, "n2.example.org")).toThrow('names "CN=n1.example.org", not CN=n2.example.org');
    expect(() => parseTlsCertificate("n1", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----")).toThrow(/does not parse/);
  });
});
