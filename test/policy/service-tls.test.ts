/**
 * The key rules on the TLS resources the real program registers (index.ts under Pulumi's mocks):
 * each node's ServiceTlsKey per mail daemon and the daemon's one configuration resource (HostFiles).
 */
import { checkKeyGenerationResource, checkKeyGenerationStack, checkPrivateKeysResource, evaluatePolicies, ResourceDesc, UNKNOWN } from "../../policy/rules";
import { HOST_FILES, messages, PKCS8_PEM, programResources, RSA_PEM } from "./support";

const SERVICE_TLS_KEY = "pulumi-nodejs:dynamic/rplan:ServiceTlsKey";

let program: ResourceDesc[];
beforeAll(async () => {
  program = await programResources();
});

const named = (name: string) => {
  const r = program.find((x) => x.name === name);
  if (!r) throw new Error(`the program registers no ${name}`);
  return r;
};
const withProps = (r: ResourceDesc, props: Record<string, unknown>): ResourceDesc => ({ ...r, props: { ...r.props, ...props } });
/** The program with one resource replaced. */
const replacing = (r: ResourceDesc) => program.map((x) => (x.urn === r.urn ? r : x));
const mandatory = (rs: ResourceDesc[], phase: "preview" | "up" = "up") => evaluatePolicies(rs, { phase }).mandatory.map((d) => `${d.policy}: ${d.message}`);

describe("ServiceTlsKey and its daemon config, as the program registers them", () => {
  test("the program registers them, and every rule passes", () => {
    const keys = program.filter((r) => r.type === SERVICE_TLS_KEY);
    expect(keys.map((k) => k.name).sort()).toEqual(["n1", "n2", "n3"].flatMap((n) => [`${n}-dovecot-tls-key`, `${n}-postfix-tls-key`]));
    expect(named("n1-postfix-tls-key").props).toMatchObject({ keyDir: "/srv/crypt/keys/postfix", privateKeyPath: "/srv/crypt/keys/postfix/tls.key", certPath: "/srv/crypt/keys/postfix/tls.crt" });
    expect(named("n1-dovecot-config").type).toBe(HOST_FILES);
    for (const r of program.filter((x) => x.type === SERVICE_TLS_KEY || x.name.endsWith("-config"))) {
      expect(messages(checkKeyGenerationResource(r))).toEqual([]);
      expect(messages(checkPrivateKeysResource(r))).toEqual([]);
    }
    expect(messages(checkKeyGenerationStack(program))).toEqual([]);
    expect(evaluatePolicies(program, { phase: "up" }).diagnostics).toEqual([]);
  });

  test.each([
    ["privateKeyPath", "/etc/ssl/private/n1.key", "ServiceTlsKey n1-postfix-tls-key puts its generated private key at /etc/ssl/private/n1.key, outside its encrypted mount /srv/crypt"],
    ["privateKeyPath", "/srv/crypt/../../etc/ssl/private/n1.key", "ServiceTlsKey n1-postfix-tls-key puts its generated private key at /srv/crypt/../../etc/ssl/private/n1.key (that is /etc/ssl/private/n1.key), outside its encrypted mount /srv/crypt"],
    ["keyDir", "/etc/ssl/private", "ServiceTlsKey n1-postfix-tls-key puts its key directory at /etc/ssl/private, outside its encrypted mount /srv/crypt"],
    ["keyDir", "/srv/crypt", "ServiceTlsKey n1-postfix-tls-key puts its key directory at /srv/crypt, the mount point itself, not a directory inside its encrypted mount /srv/crypt"],
    ["certPath", "/etc/ssl/certs/n1.pem", "ServiceTlsKey n1-postfix-tls-key puts its generated certificate at /etc/ssl/certs/n1.pem, outside its encrypted mount /srv/crypt"],
  ])("%s %s is refused, and stops up", (prop, value, message) => {
    const bad = withProps(named("n1-postfix-tls-key"), { [prop]: value });
    expect(messages(checkKeyGenerationResource(bad))).toEqual([message]);
    expect(mandatory(replacing(bad))).toEqual([`key-generation-inside-encrypted-mount: ${message}`]);
  });

  test("a ServiceTlsKey that does not say where it writes is refused (fail closed)", () => {
    const { keyDir: _k, ...props } = named("n2-dovecot-tls-key").props;
    const bad = { ...named("n2-dovecot-tls-key"), props };
    expect(messages(checkKeyGenerationResource(bad))).toEqual(["ServiceTlsKey n2-dovecot-tls-key declares no keyDir, so nothing shows where it generates its key (fail closed)"]);
    const { node: _n, encryptedMount: _m, ...homeless } = named("n2-dovecot-tls-key").props;
    expect(messages(checkKeyGenerationResource({ ...bad, props: homeless }))).toEqual([expect.stringMatching(/ServiceTlsKey n2-dovecot-tls-key generates keys but declares no node and encryptedMount/)]);
  });

  test("a path not known in preview is advisory in preview and mandatory at up", () => {
    const r = withProps(named("n3-postfix-tls-key"), { privateKeyPath: UNKNOWN });
    expect(mandatory(replacing(r), "preview")).toEqual([]);
    const preview = evaluatePolicies(replacing(r), { phase: "preview" }).diagnostics;
    expect(preview.map((d) => d.enforcementLevel)).toEqual(preview.map(() => "advisory"));
    expect(preview).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ policy: "key-generation-inside-encrypted-mount", message: "can't check during preview: where its generated private key is is not known yet (privateKeyPath); checked again at up" }),
      ]),
    );
    expect(mandatory(replacing(r))).toEqual([
      "private-keys-inside-encrypted-mount: whether privateKeyPath carries private key material is still unknown at up (privateKeyPath), so the rule cannot be shown to hold",
      "key-generation-inside-encrypted-mount: where its generated private key is is still unknown at up (privateKeyPath), so the rule cannot be shown to hold",
    ]);
  });

  test("claiming a mount other than the node's is refused (stack rule)", () => {
    const mount = { kind: "gocryptfs", path: "/mnt/usb", cipherDir: "/mnt/.usb" };
    const bad = withProps(named("n1-dovecot-tls-key"), { encryptedMount: mount, keyDir: "/mnt/usb/dovecot", privateKeyPath: "/mnt/usb/dovecot/tls.key", certPath: "/mnt/usb/dovecot/tls.crt" });
    expect(messages(checkKeyGenerationResource(bad))).toEqual([]);
    expect(messages(checkKeyGenerationStack(replacing(bad)))).toEqual(["ServiceTlsKey n1-dovecot-tls-key claims encrypted mount /mnt/usb (gocryptfs) but node n1 declares /srv/crypt (luks)"]);
  });

  test("outputs carrying the private key (beside or instead of the certificate) are refused (stack rule)", () => {
    const bad = withProps(named("n1-postfix-tls-key"), { certificate: `${named("n1-postfix-tls-key").props.certificate}${PKCS8_PEM}` });
    expect(messages(checkKeyGenerationStack(replacing(bad)))).toEqual([expect.stringMatching(/^ServiceTlsKey n1-postfix-tls-key returns a PEM private key in certificate: a key generated on the node stays there/)]);
  });

  test("the daemon config may not carry the key to /etc (it points at the mount instead)", () => {
    const conf = named("n1-dovecot-config");
    const files = conf.props.files as { path: string; content: string }[];
    expect(files[0].path).toBe("/etc/dovecot/dovecot.conf");
    expect(files[0].content).toContain("ssl_key = </srv/crypt/keys/dovecot/tls.key");
    const bad = withProps(conf, { files: [{ ...files[0], content: `${files[0].content}ssl_key = <<EOF\n${RSA_PEM}EOF\n` }] });
    const message = "HostFiles n1-dovecot-config writes a PEM RSA private key (files[0].content) to /etc/dovecot/dovecot.conf, outside its encrypted mount /srv/crypt";
    expect(messages(checkPrivateKeysResource(bad))).toEqual([expect.stringContaining(message)]);
    expect(mandatory(replacing(bad))).toEqual([expect.stringContaining(`private-keys-inside-encrypted-mount: ${message}`)]);
    // and a reload command may never carry one
    const argv = withProps(named("n1-postfix-config"), { reload: [["sh", "-c", `echo '${PKCS8_PEM}' > /etc/postfix/key.pem`]] });
    expect(messages(checkPrivateKeysResource(argv))).toEqual([expect.stringMatching(/HostFiles n1-postfix-config carries a PEM private key in reload\[0\]\[2\]/)]);
  });
});
