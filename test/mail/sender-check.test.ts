/** The sender check's files (planning/mail/sender-check.ts). Real daemons: test/mail/mail-local.test.ts; the lab: mail.lab. */
import * as fs from "fs";
import * as path from "path";
import { renderSenderCheck, SENDER_CHECK_PORT, SENDER_CHECK_SCRIPT, SENDER_CHECK_UNIT, SUBMISSION_RATE } from "../../planning/mail/sender-check";
import { POSTFIX_MAPS } from "../../planning/mail/routing";

const script = fs.readFileSync(path.join(__dirname, "../../planning/mail/sender-check.py"), "utf8");

describe("the sender check", () => {
  const r = renderSenderCheck(script, POSTFIX_MAPS.senders);
  const unit = r.files.find((f) => f.path === `/etc/systemd/system/${SENDER_CHECK_UNIT}`)!.content;

  test("the script as written, and a unit that runs it with postfix's own sender table on loopback, unprivileged", () => {
    expect(r.files.find((f) => f.path === SENDER_CHECK_SCRIPT)).toEqual({ path: SENDER_CHECK_SCRIPT, content: script, mode: "0755" });
    expect(unit).toContain(`\nExecStart=/usr/bin/python3 ${SENDER_CHECK_SCRIPT} ldap:${POSTFIX_MAPS.senders} inet:${SENDER_CHECK_PORT}@127.0.0.1 ${SUBMISSION_RATE.recipients}/${SUBMISSION_RATE.seconds}\n`);
    expect(unit).toContain("\nDynamicUser=yes\n");
    expect(unit).toContain("\nRestart=always\n");
    expect(r.reload).toEqual([
      ["systemctl", "daemon-reload"],
      ["systemctl", "enable", SENDER_CHECK_UNIT],
      ["systemctl", "restart", SENDER_CHECK_UNIT],
    ]);
  });

  test("the script reads the From header, asks the table with postmap, refuses what the login does not own, defers when it cannot tell, and logs nothing", () => {
    expect(script).toMatch(/getsymval\("\{auth_authen\}"\)/);
    expect(script).toMatch(/\["postmap", "-q", address, TABLE\]/);
    expect(script).toMatch(/setreply\("550", "5\.7\.1", "From header address not owned by user %s"/);
    expect(script).toMatch(/setreply\("451", "4\.3\.0"/);
    expect(script).not.toMatch(/syslog|logging|print\(/);
  });

  test("a table path with quotes, spaces or backslashes is refused (it is written into the unit's command line)", () => {
    for (const bad of ["/etc/postfix/a b.cf", "/etc/postfix/a'b.cf", '/etc/"x".cf', "/etc/a\\b.cf"]) expect(() => renderSenderCheck(script, bad)).toThrow(/must be plain/);
  });
});
