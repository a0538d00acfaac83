/** planning/service-tls: where the TLS keys live, what the certificates name, what the daemons read. */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
  DOVECOT_TLS_CONF,
  parseTlsCertificate,
  planServiceTls,
  POSTFIX_TLS_NOTE,
  ServiceTlsPlan,
  subjectAltName,
  tlsDaemonConfig,
  tlsPathProblems,
  tlsSubjectProblems,
} from "../../planning/service-tls";

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

describe("daemon configuration", () => {
  const [postfix, dovecot] = planServiceTls(node, dirs, "example.org") as [ServiceTlsPlan, ServiceTlsPlan];
  const FP = "AB:CD:EF";

  test("dovecot: a conf.d drop-in sorting after Debian's 10-ssl.conf, TLS required, files read from the key directory", () => {
    const c = tlsDaemonConfig("n1", dovecot);
    expect(c.files.map((f) => [f.path, f.mode, f.owner])).toEqual([[DOVECOT_TLS_CONF, "0644", "root:root"]]);
    expect(path.basename(DOVECOT_TLS_CONF) > "10-ssl.conf").toBe(true);
    const text = c.files[0].render(FP);
    expect(text.split("\n").filter((l) => l && !l.startsWith("#"))).toEqual(["ssl = required", "ssl_cert = </srv/crypt/other/dovecot/tls.crt", "ssl_key = </srv/crypt/other/dovecot/tls.key"]);
    expect(text).toContain(FP);
    expect(c.reload).toEqual([["systemctl", "reload-or-restart", "dovecot"]]);
  });

  test("postfix: settings applied with postconf -e, then a reload; the file documents them", () => {
    const c = tlsDaemonConfig("n1", postfix);
    expect(c.reload).toEqual([
      ["postconf", "-e", "smtpd_tls_cert_file=/srv/crypt/keys/postfix/tls.crt", "smtpd_tls_key_file=/srv/crypt/keys/postfix/tls.key", "smtpd_tls_security_level=may"],
      ["systemctl", "reload-or-restart", "postfix"],
    ]);
    expect(c.files.map((f) => f.path)).toEqual([POSTFIX_TLS_NOTE]);
    const text = c.files[0].render(FP);
    expect(text.split("\n").filter((l) => l && !l.startsWith("#"))).toEqual([
      "smtpd_tls_cert_file = /srv/crypt/keys/postfix/tls.crt",
      "smtpd_tls_key_file = /srv/crypt/keys/postfix/tls.key",
      "smtpd_tls_security_level = may",
    ]);
  });

  test("the files change when the key changes (so the reload runs) and when the paths change", () => {
    for (const p of [postfix, dovecot]) {
      const f = tlsDaemonConfig("n1", p).files[0];
      expect(f.render("11:11")).not.toBe(f.render("22:22"));
      const moved = { ...p, keyDir: "/srv/crypt/k2", privateKeyPath: "/srv/crypt/k2/tls.key", certPath: "/srv/crypt/k2/tls.crt" };
      expect(tlsDaemonConfig("n1", moved).files[0].render(FP)).not.toBe(f.render(FP));
    }
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
