/** The service model: every list the rest of rplan reads is derived from the descriptors, and adding a daemon is one descriptor. */
import { nodeKeyDirs, nodePackages } from "../planning/node-plan";
import {
  DISABLED_UNTIL_CONFIGURED,
  DUTY_NAMES,
  KEY_SERVICES,
  MOUNT_UNITS,
  planServices,
  SERVICES,
  serviceModelProblems,
  TLS_SERVICES,
  type ServiceDescriptor,
} from "../planning/services";
import { planServiceTls, tlsContribution } from "../planning/service-tls";

const mount = { kind: "gocryptfs", path: "/srv/crypt", cipherDir: "/srv/crypt.enc" } as const;

describe("the services every node runs", () => {
  it("are consistent", () => {
    expect(serviceModelProblems(SERVICES)).toEqual([]);
  });

  // Reviewed lists: a package, key directory or unit that comes or goes must be meant.
  it("give the node its packages", () => {
    expect(nodePackages(mount, [])).toEqual(
      [
        ...["bind9-dnsutils", "dovecot-imapd", "dovecot-ldap", "dovecot-lmtpd", "dovecot-managesieved", "dovecot-pop3d", "dovecot-sieve", "fuse3", "gocryptfs", "iputils-ping", "knot", "ldap-utils", "logrotate"],
        ...["opendkim", "openssh-server", "openssl", "postfix", "postfix-ldap", "postfix-pcre", "python3-milter", "redis-server", "rspamd", "rsync", "rsyslog", "slapd", "tinc"],
      ],
    );
    expect(nodePackages({ kind: "luks", path: "/srv/crypt", device: "/dev/vdb", mapper: "crypt" }, ["htop"])).toEqual(expect.arrayContaining(["cryptsetup", "htop", "postfix"]));
    expect(nodePackages({ kind: "luks", path: "/srv/crypt", device: "/dev/vdb", mapper: "crypt" }, [])).not.toContain("gocryptfs");
  });

  it("name the key directories, the units on the mount, the units kept off, the TLS services", () => {
    expect(KEY_SERVICES).toEqual(["tinc", "slapd", "postfix", "dovecot", "opendkim"]);
    expect(nodeKeyDirs(mount)).toEqual(Object.fromEntries(KEY_SERVICES.map((s) => [s, `/srv/crypt/keys/${s}`])));
    expect(MOUNT_UNITS).toEqual(["tinc@rplan", "slapd", "postfix", "dovecot", "opendkim", "redis-server"]);
    expect(DISABLED_UNTIL_CONFIGURED).toEqual(["knot.service", "opendkim.service", "redis-server.service", "rspamd.service", "rsyslog.service"]);
    expect(TLS_SERVICES).toEqual(["postfix", "dovecot"]);
  });

  it("name the policy's duties as the program names its resources", () => {
    expect(DUTY_NAMES.zone("n1")).toBe("dns-n1-zone");
    expect(DUTY_NAMES.knotConf("n1")).toBe("dns-n1-knot-conf");
    expect(DUTY_NAMES.dnsCheck).toBe("dns-check");
    expect(DUTY_NAMES.dkimKey("n1")).toBe("n1-dkim-key");
    expect(DUTY_NAMES.postfixConfig("n1")).toBe("n1-postfix-config");
    expect(DUTY_NAMES.logAnonymity("n1")).toBe("n1-log-anonymity");
  });

  it("give each TLS service its algorithm and its daemon's settings", () => {
    const plans = planServiceTls({ name: "n1", publicAddress: "198.51.100.11" }, nodeKeyDirs(mount), "example.org");
    expect(plans.map((p) => [p.service, p.algorithm])).toEqual([
      ["postfix", "rsa-3072"],
      ["dovecot", "ec-p256"],
    ]);
    const c = tlsContribution(plans);
    expect(c.postfix?.main).toEqual({ smtpd_tls_cert_file: "/srv/crypt/keys/postfix/tls.crt", smtpd_tls_key_file: "/srv/crypt/keys/postfix/tls.key", smtpd_tls_security_level: "may" });
    expect(c.dovecot?.settings).toMatchObject({ ssl: "required", ssl_cert: "</srv/crypt/keys/dovecot/tls.crt", ssl_key: "</srv/crypt/keys/dovecot/tls.key" });
  });
});

describe("adding a service", () => {
  const nginx: ServiceDescriptor = {
    name: "nginx",
    purpose: "users' web sites",
    packages: ["nginx"],
    keyDir: true,
    mountUnits: ["nginx"],
    disabledUntilConfigured: ["nginx.service"],
    duties: { siteConfig: (node) => `${node}-nginx-config` },
  };

  it("is one descriptor: its package, key directory, unit and duty appear in every derived list", () => {
    const plan = planServices([...SERVICES, nginx]);
    expect(plan.packages).toContain("nginx");
    expect(plan.keyServices).toContain("nginx");
    expect(plan.mountUnits).toContain("nginx");
    expect(plan.disabledUntilConfigured).toContain("nginx.service");
    expect((plan.dutyNames.siteConfig as (n: string) => string)("n1")).toBe("n1-nginx-config");
  });

  it("is refused, every problem at once, when it clashes with another", () => {
    const bad: ServiceDescriptor = { name: "Post fix", purpose: "x", packages: ["postfix;rm"], mountUnits: ["postfix"], duties: { postfixConfig: (n) => n } };
    expect(serviceModelProblems([...SERVICES, bad, bad])).toEqual([
      'service name "Post fix" must be a lower-case name (it names a key directory)',
      "Post fix: a package name is not a Debian package name",
      'service name "Post fix" must be a lower-case name (it names a key directory)',
      "Post fix: a package name is not a Debian package name",
      "service claimed twice: Post fix",
      "mount unit claimed twice: postfix",
      "duty claimed twice: postfixConfig",
    ]);
    expect(() => planServices([...SERVICES, { ...nginx, name: "tinc" }])).toThrow(/service claimed twice: tinc/);
  });
});
