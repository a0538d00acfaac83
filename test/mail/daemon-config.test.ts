/** planning/mail: one renderer per daemon, from Debian's defaults plus every feature's contribution. */
import { DaemonConfigError, DaemonContribution } from "../../planning/mail/contribution";
import { renderDovecot } from "../../planning/mail/dovecot-config";
import { renderPostfix } from "../../planning/mail/postfix-config";

const node = { name: "n1", domain: "example.org" };
const settings = (text: string) => text.split("\n").filter((l) => l && !l.startsWith("#"));
const file = (r: { files: { path: string; content: string }[] }, p: string) => r.files.find((f) => f.path === p)!.content;
const problemsOf = (f: () => unknown): string[] => {
  try {
    f();
  } catch (e) {
    if (e instanceof DaemonConfigError) return [...e.problems];
    throw e;
  }
  throw new Error("rendered without a problem");
};

describe("postfix", () => {
  test("without contributions: Debian 12's main.cf with this node's own names and no snakeoil key", () => {
    const r = renderPostfix(node, []);
    expect(r.files.map((f) => f.path)).toEqual(["/etc/postfix/main.cf", "/etc/postfix/master.cf"]);
    const main = settings(file(r, "/etc/postfix/main.cf"));
    expect(main).toEqual(expect.arrayContaining(["myhostname = n1.example.org", "mydomain = example.org", "compatibility_level = 3.6", "smtpd_relay_restrictions = permit_mynetworks permit_sasl_authenticated defer_unauth_destination"]));
    expect(main.join("\n")).not.toContain("snakeoil");
    expect(new Set(main.map((l) => l.split(" = ")[0])).size).toBe(main.length);
    expect(settings(file(r, "/etc/postfix/master.cf"))[0]).toBe("smtp      inet  n       -       y       -       -       smtpd");
    expect(r.prune).toEqual(["/etc/postfix/rplan"]);
    expect(r.reload).toEqual([["rm", "-f", "--", "/etc/postfix/rplan-tls.cf"], ["postfix", "check"], ["systemctl", "reload-or-restart", "postfix"]]);
  });

  test("a feature overrides a default in place of Debian's line, adds services, options and files under its name", () => {
    const routing: DaemonContribution = {
      feature: "routing",
      postfix: {
        notes: ["why: because"],
        main: { mydestination: "localhost", transport_maps: "proxy:ldap:/etc/postfix/rplan/transport.cf" },
        master: [{ service: "submission", type: "inet", private: "n", chroot: "y", command: "smtpd", options: { smtpd_tls_security_level: "encrypt", smtpd_sasl_auth_enable: "yes" } }],
        files: [{ path: "/etc/postfix/rplan/transport.cf", content: "server_host = ldapi://\n", mode: "0640", owner: "root:postfix" }],
      },
    };
    const r = renderPostfix(node, [routing]);
    const main = file(r, "/etc/postfix/main.cf");
    expect(settings(main).filter((l) => l.startsWith("mydestination"))).toEqual(["mydestination = localhost"]);
    expect(main.indexOf("# routing\n")).toBeLessThan(main.indexOf("mydestination = localhost"));
    expect(main).toContain("#   routing: why: because");
    const master = file(r, "/etc/postfix/master.cf");
    expect(master).toContain("# routing\nsubmission inet  n       -       y       -       -       smtpd\n  -o smtpd_tls_security_level=encrypt\n  -o smtpd_sasl_auth_enable=yes\n");
    expect(r.files.find((f) => f.path === "/etc/postfix/rplan/transport.cf")).toEqual(routing.postfix!.files![0]);
  });

  test("two features setting one thing differently: every conflict reported at once, nothing rendered", () => {
    const a: DaemonContribution = { feature: "a", postfix: { main: { relayhost: "[x]", biff: "yes" }, master: [{ service: "smtp", type: "inet", command: "smtpd", options: { x: "1" } }], files: [{ path: "/etc/postfix/rplan/t.cf", content: "1" }] } };
    const b: DaemonContribution = { feature: "b", postfix: { main: { relayhost: "[y]", biff: "yes" }, master: [{ service: "smtp", type: "inet", command: "smtpd", options: { x: "2" } }], files: [{ path: "/etc/postfix/rplan/t.cf", content: "2" }] } };
    expect(problemsOf(() => renderPostfix(node, [a, b]))).toEqual([
      'main.cf: relayhost is set by a ("[x]") and by b ("[y]")',
      "master.cf: smtp/inet is defined by a and differently by b",
      "postfix: /etc/postfix/rplan/t.cf is written by a and differently by b",
    ]);
  });

  test("malformed contributions are refused with the feature named (no line breaks, no files outside rplan's directory)", () => {
    const bad: DaemonContribution = {
      feature: "bad",
      postfix: {
        main: { "x y": "1", relayhost: "a\nmydestination = evil" },
        master: [{ service: "sub mission", type: "inet", command: "smtpd", options: { o: "has space" } }],
        files: [{ path: "/etc/postfix/main.cf", content: "" }],
      },
    };
    const problems = problemsOf(() => renderPostfix(node, [bad, { feature: "bad" }]));
    expect(problems).toEqual([
      "feature bad contributes twice",
      'bad: main.cf name "x y" is not a postfix parameter',
      "bad: main.cf relayhost must be one line",
      "bad: /etc/postfix/main.cf must be a file directly in /etc/postfix/rplan",
      'bad: master.cf sub mission/inet: service name "sub mission" has characters master.cf cannot hold',
      'bad: master.cf sub mission/inet: option o value "has space" must not contain white space (write it in main.cf and refer to it as $name)',
    ]);
  });
});

describe("dovecot", () => {
  test("without contributions: Debian 12's settings in dovecot.conf itself (no conf.d), no TLS served", () => {
    const r = renderDovecot("n1", []);
    expect(r.files.map((f) => f.path)).toEqual(["/etc/dovecot/dovecot.conf"]);
    const text = file(r, "/etc/dovecot/dovecot.conf");
    expect(text).not.toContain("!include");
    expect(settings(text)).toEqual(expect.arrayContaining(["protocols = imap pop3 lmtp", "ssl = no", "passdb {", "  driver = pam"]));
    expect(r.reload.at(-1)).toEqual(["systemctl", "reload-or-restart", "dovecot"]);
  });

  test("a feature's section merges into Debian's (its values win) and nested sections render in place", () => {
    const c: DaemonContribution = {
      feature: "routing",
      dovecot: {
        settings: { mail_location: "maildir:/srv/mail/%n" },
        sections: [
          { name: "passdb", settings: { driver: "ldap", args: "/etc/dovecot/rplan/ldap.conf.ext" } },
          { name: "service lmtp", sections: [{ name: "inet_listener lmtp", settings: { address: "198.18.0.11", port: "24" } }] },
        ],
      },
    };
    const text = file(renderDovecot("n1", [c]), "/etc/dovecot/dovecot.conf");
    expect(text).toContain("passdb {\n  driver = ldap\n  args = /etc/dovecot/rplan/ldap.conf.ext\n}\n");
    expect(text).toContain("# routing\nservice lmtp {\n  inet_listener lmtp {\n    address = 198.18.0.11\n    port = 24\n  }\n}\n");
    expect(settings(text).filter((l) => l.startsWith("mail_location"))).toEqual(["mail_location = maildir:/srv/mail/%n"]);
  });

  test("conflicts between features, inside sections too, are all reported", () => {
    const a: DaemonContribution = { feature: "a", dovecot: { settings: { ssl: "required" }, sections: [{ name: "service lmtp", sections: [{ name: "inet_listener lmtp", settings: { port: "24" } }] }] } };
    const b: DaemonContribution = { feature: "b", dovecot: { settings: { ssl: "yes" }, sections: [{ name: "service lmtp", sections: [{ name: "inet_listener lmtp", settings: { port: "2424" } }] }] } };
    expect(problemsOf(() => renderDovecot("n1", [a, b]))).toEqual([
      'dovecot.conf: ssl is set by a ("required") and by b ("yes")',
      'dovecot.conf service lmtp / inet_listener lmtp: port is set by a ("24") and by b ("2424")',
    ]);
  });

  test("section and setting names that could break out of the file are refused", () => {
    const bad: DaemonContribution = { feature: "x", dovecot: { settings: { "a}": "1" }, sections: [{ name: "passdb {", settings: { driver: "ldap\n}" } }], files: [{ path: "/etc/dovecot/conf.d/x", content: "" }] } };
    expect(problemsOf(() => renderDovecot("n1", [bad]))).toEqual([
      'x: "a}" is not a dovecot setting name',
      'x: dovecot section name "passdb {" is not valid',
      "x: passdb { { }: driver must be one line",
      "x: /etc/dovecot/conf.d/x must be a file directly in /etc/dovecot/rplan",
    ]);
  });
});
