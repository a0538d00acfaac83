/**
 * The rendered postfix and dovecot configuration run by the real daemons, without the lab: one
 * node (`n1`) from the lab's service image (Debian 12: postfix 3.7, dovecot 2.3, slapd 2.5) in a
 * throwaway overlay, private mount/PID/network namespaces (loopback only: nothing leaves this
 * machine), its files exactly as MailDaemons would write them. Users: alice (home n1, alias al),
 * bob (home n2: on its VPN address only a stand-in IMAP home listens, no LMTP), carol (home n3, revoked). Real clients
 * inside the namespace: swaks and curl.
 *
 * slapd here runs Debian's default configuration (anonymous reads) with the rplan schema: the ACL
 * the stack sets (local ldapi readers only) is exercised by the lab suite, test/mail/mail.lab.test.ts.
 * Needs root; builds the lab's service image first if this machine has none (a fresh CI machine).
 */
import { spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ensureHostTools, ensureImage } from "../../lab/image";
import { renderDovecot } from "../../planning/mail/dovecot-config";
import { renderPostfix } from "../../planning/mail/postfix-config";
import { INTERNAL_LMTP, MAIL_USER, MailNode, planMailRouting, POSTFIX_MAPS } from "../../planning/mail/routing";
import { renderSenderCheck, SENDER_CHECK_SCRIPT, SENDER_CHECK_UNIT } from "../../planning/mail/sender-check";
import { quotaContribution } from "../../planning/mail/quota";
import { planMailAnonymity } from "../../planning/mail/anonymity";
import { rplanSchemaEntry, sshaHash, userEntry } from "../../planning/ldap";
import { planServiceTls, tlsContribution } from "../../planning/service-tls";
import { dkimRevision, planDkim, renderOpendkimConf } from "../../planning/mail/dkim";
import { dkimRecord } from "../../planning/dns/zone";
import { dkimVerify } from "mailauth/lib/dkim/verify";

const ready = process.getuid?.() === 0;
if (!ready) console.warn("mail-local: skipped (needs root: it mounts an overlay in private namespaces)");
const maybe = ready ? describe : describe.skip;
/** The lab's service image (cached; built here when missing, as `npm run lab -- up` would). */
let image = "";

const SUFFIX = "dc=lab,dc=rplan,dc=test";
/** n1's DKIM public key (base64), as the zone would publish it. */
let dkimPublicKey = "";
/** The submitting client's address (inside the test's own network namespace). */
const CLIENT = "198.51.100.250";
const DOMAIN = "lab.rplan.test";
// VPN addresses on loopback: n1's LMTP can bind its own; n2's has nothing listening (a home that is down).
const node = (i: number, state: MailNode["state"]): MailNode => ({ name: `n${i}`, state, vpnAddress: `127.0.0.1${i}`, publicAddress: `198.51.100.1${i}`, storePath: "/srv/crypt/mail", mountPath: "/srv/crypt" });

/**
 * A stand-in for bob's home (n2) on its VPN address: just enough IMAP to take the login n1's proxy
 * forwards (it logs who logged in and whether the password arrived) and to answer STATUS with a
 * count only it knows (7), so a proxied login is told apart from any local answer.
 */
const STAND_IN_HOME = String.raw`use strict; use IO::Socket::INET;
my ($addr, $port, $log) = @ARGV;
my $s = IO::Socket::INET->new(LocalAddr => $addr, LocalPort => $port, Listen => 5, ReuseAddr => 1) or die "listen: $!";
open(my $L, '>>', $log) or die; $L->autoflush(1);
sub seen { my ($u, $p) = @_; print $L "login $u " . (($p // '') eq 'pw-bob' ? 'password-ok' : 'password-wrong') . "\n" }
while (my $c = $s->accept) {
  $c->autoflush(1);
  print $c "* OK [CAPABILITY IMAP4rev1 SASL-IR AUTH=PLAIN] stand-in home\r\n";
  while (my $l = <$c>) {
    $l =~ s/\r?\n$//; my ($t, $cmd, $rest) = split(/ /, $l, 3); $cmd = uc($cmd // ''); $rest //= '';
    if ($cmd eq 'LOGIN') { my ($u, $p) = $rest =~ /^"?([^" ]+)"? "?([^" ]*)"?/; seen($u, $p); print $c "$t OK Logged in\r\n" }
    elsif ($cmd eq 'AUTHENTICATE') { my (undef, $ir) = split(/ /, $rest); if (!defined $ir) { print $c "+ \r\n"; $ir = <$c>; $ir =~ s/\r?\n$//; } my @p = split(/\x00/, unpack("m", $ir)); seen($p[1], $p[2]); print $c "$t OK Logged in\r\n" }
    elsif ($cmd eq 'ID') { print $c "* ID NIL\r\n$t OK ID done\r\n" }
    elsif ($cmd eq 'CAPABILITY') { print $c "* CAPABILITY IMAP4rev1 SASL-IR AUTH=PLAIN\r\n$t OK done\r\n" }
    elsif ($cmd eq 'STATUS') { print $c "* STATUS INBOX (MESSAGES 7)\r\n$t OK done\r\n" }
    elsif ($cmd eq 'LOGOUT') { print $c "* BYE\r\n$t OK bye\r\n"; last }
    else { print $c "$t OK done\r\n" }
  }
  close $c;
}
`;

function ldif(entries: { dn: string; attributes: Readonly<Record<string, readonly string[]>> }[]): string {
  return entries.map((e) => `dn: ${e.dn}\n${Object.entries(e.attributes).flatMap(([k, vs]) => vs.map((v) => `${k}: ${v}\n`)).join("")}\n`).join("");
}

/** Writes n1's files into an overlay's upper layer and runs `script` in the namespaces; its stdout. */
function runNode(script: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rplan-mail-local-"));
  try {
    const up = path.join(dir, "up");
    const put = (p: string, content: string, mode = 0o644) => {
      fs.mkdirSync(path.join(up, path.dirname(p)), { recursive: true });
      fs.writeFileSync(path.join(up, p), content, { mode });
    };
    const routing = planMailRouting({ domain: DOMAIN, suffix: SUFFIX, ldapiSocket: "/var/run/slapd/ldapi", nodes: [node(1, "active"), node(2, "active"), node(3, "revoked")], vpnCidrs: ["127.0.0.0/8"], vpnUnit: "tinc@rplan.service" });
    const tls = tlsContribution(planServiceTls({ name: "n1", publicAddress: "198.51.100.11" }, { postfix: "/srv/crypt/keys/postfix", dovecot: "/srv/crypt/keys/dovecot" }, DOMAIN));
    const anonymity = planMailAnonymity({ vpnCidrs: ["127.0.0.0/8"] });
    const quota = quotaContribution(node(1, "active"), DOMAIN, MAIL_USER);
    for (const f of [...renderPostfix({ name: "n1", domain: DOMAIN }, [tls, routing.n1, anonymity, quota]).files, ...renderDovecot("n1", [tls, routing.n1, anonymity, quota]).files]) put(f.path, f.content, f.mode ? parseInt(f.mode, 8) : 0o644);
    // n2's VPN address is on this same loopback: dovecot listens on n1's addresses only (as it would
    // on a node of its own), so the stand-in home can take n2's IMAP port.
    fs.appendFileSync(path.join(up, "etc/dovecot/dovecot.conf"), "listen = 127.0.0.1, 127.0.0.11\n");
    for (const [s, alg] of [["postfix", ["-newkey", "rsa:2048"]], ["dovecot", ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]]] as const) {
      fs.mkdirSync(path.join(up, `srv/crypt/keys/${s}`), { recursive: true });
      spawnSync("openssl", ["req", "-x509", ...alg, "-nodes", "-keyout", path.join(up, `srv/crypt/keys/${s}/tls.key`), "-out", path.join(up, `srv/crypt/keys/${s}/tls.crt`), "-days", "2", "-subj", "/CN=n1"], { stdio: "ignore" });
    }
    // n1's DKIM key where the DkimKey provider puts it, and opendkim.conf as MailRouting renders it
    fs.mkdirSync(path.join(up, "srv/crypt/keys/opendkim"), { recursive: true, mode: 0o700 });
    spawnSync("openssl", ["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", path.join(up, "srv/crypt/keys/opendkim/dkim.private")], { stdio: "ignore" });
    fs.chmodSync(path.join(up, "srv/crypt/keys/opendkim/dkim.private"), 0o600);
    dkimPublicKey = crypto.createPublicKey(fs.readFileSync(path.join(up, "srv/crypt/keys/opendkim/dkim.private"))).export({ type: "spki", format: "der" }).toString("base64");
    put("etc/opendkim.conf", renderOpendkimConf(planDkim({ node: "n1", domain: DOMAIN, keyDir: "/srv/crypt/keys/opendkim", generation: 1 }), dkimRevision(dkimPublicKey)));
    const schema = rplanSchemaEntry();
    put("root/stand-in-home.pl", STAND_IN_HOME);
    put("root/schema.ldif", ldif([{ dn: schema.dn, attributes: schema.attrs }]));
    // dora (home n1) may keep 30 000 bytes.
    const users = [["alice", "n1", ["al@" + DOMAIN]], ["bob", "n2", ["bobby@" + DOMAIN]], ["carol", "n3", []], ["dora", "n1", ["do@" + DOMAIN]]] as const;
    const quotas: Record<string, number> = { dora: 30_000 };
    // The sender check as MailRouting writes it; started with its unit's own command line (no systemd here).
    const check = renderSenderCheck(fs.readFileSync(path.join(__dirname, "../../planning/mail/sender-check.py"), "utf8"), POSTFIX_MAPS.senders);
    for (const f of check.files) put(f.path, f.content, f.mode ? parseInt(f.mode, 8) : 0o644);
    const checkStart = /^ExecStart=(.*)$/m.exec(check.files.find((f) => f.path.endsWith(SENDER_CHECK_UNIT))!.content)![1];
    put("root/users.ldif", ldif([{ dn: `ou=people,${SUFFIX}`, attributes: { objectClass: ["organizationalUnit"], ou: ["people"] } }, ...users.map(([uid, home, aliases]) => userEntry(SUFFIX, { uid, mail: `${uid}@${DOMAIN}`, home, aliases: [...aliases], ...(quotas[uid] ? { quota: quotas[uid] } : {}), passwordHash: sshaHash(`pw-${uid}`, `uid=${uid},ou=people,${SUFFIX}`) }))]));
    put(
      "root/run.sh",
      [
        "exec 2>/root/setup.log; set -x; ip link set lo up",
        "mount -t tmpfs -o mode=755,size=1m tmpfs /dev; mknod -m 666 /dev/null c 1 3; mknod -m 666 /dev/urandom c 1 9; mknod -m 666 /dev/random c 1 8; mknod -m 666 /dev/zero c 1 5; ln -s /proc/self/fd /dev/fd",
        "mkdir -p /var/run/slapd /srv/crypt/mail; chown openldap:openldap /var/run/slapd; chown mail:mail /srv/crypt/mail; chmod 700 /srv/crypt/mail",
        "slapadd -n0 -F /etc/ldap/slapd.d -l /root/schema.ldif && slapadd -F /etc/ldap/slapd.d -b " + SUFFIX + " -l /root/users.ldif && chown -R openldap:openldap /etc/ldap/slapd.d /var/lib/ldap",
        'slapd -h "ldapi:///" -u openldap -g openldap -F /etc/ldap/slapd.d',
        "mkdir -p /run/opendkim && chown opendkim:opendkim /run/opendkim && opendkim -n -x /etc/opendkim.conf && opendkim -x /etc/opendkim.conf",
        // postfix's queue inside the (here: plain) mount, as the node's queue command makes it; Debian's unit would run configure-instance.sh
        "mkdir -p /srv/crypt/postfix && /usr/lib/postfix/configure-instance.sh -",
        // (20 recipients an hour here, to reach the limit quickly)
        `(${checkStart.replace(/ \d+\/\d+$/, " 20/3600")} >/dev/null 2>/root/sender-check.err &) && sleep 1`,
        "postfix check && postfix start && doveconf -n >/dev/null && dovecot",
        "set +x; exec 2>&1",
        script,
      ].join("\n"),
      0o755,
    );
    const root = path.join(dir, "root");
    fs.mkdirSync(root);
    fs.mkdirSync(path.join(dir, "work"));
    const r = spawnSync("unshare", ["-m", "-n", "-p", "-f", "sh", "-c", `mount -t overlay overlay -o lowerdir=${image},upperdir=${up},workdir=${dir}/work ${root} && mount -t proc proc ${root}/proc && chroot ${root} /bin/sh /root/run.sh`], {
      encoding: "utf8",
      timeout: 240_000,
    });
    if (r.status !== 0) throw new Error(`the node did not run (exit ${r.status}):\n${r.stdout}\n${r.stderr}\n${fs.existsSync(path.join(up, "root/setup.log")) ? fs.readFileSync(path.join(up, "root/setup.log"), "utf8").slice(-2000) : ""}`);
    return r.stdout;
  } finally {
    spawnSync("umount", ["-R", path.join(dir, "root")], { stdio: "ignore" });
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

maybe("the rendered mail configuration, run by the real daemons (one node, no lab)", () => {
  let out: Record<string, string>;
  beforeAll(async () => {
    await ensureHostTools();
    image = await ensureImage();
    const S = `swaks --server 127.0.0.1 --from x@example.net --helo client.example --timeout 15`;
    const reply = (name: string, cmd: string) => `printf '%s=%s\\n' ${name} "$(${cmd} 2>&1 | grep -E '^<[~*]* [0-9]{3} ' | tail -1)"`;
    const text = runNode(
      [
        `${S} --to alice@${DOMAIN} --body m-alice --silent 2; echo alice=$?`,
        `${S} --to al@${DOMAIN} --body m-alias --silent 2; echo alias=$?`,
        reply("unknown", `${S} --to nobody@${DOMAIN} --quit-after RCPT`),
        reply("bob", `${S} --to bob@${DOMAIN} --body m-bob`),
        reply("revoked", `${S} --to carol@${DOMAIN} --quit-after RCPT`),
        `curl -sk --max-time 15 -u alice:pw-alice imaps://127.0.0.1/INBOX -X 'STATUS INBOX (MESSAGES)' | tr -d '\\r' | sed 's/^/imaps=/'`,
        `curl -sk --max-time 15 --ssl-reqd -u alice@${DOMAIN}:pw-alice imap://127.0.0.1/INBOX -X 'STATUS INBOX (MESSAGES)' | tr -d '\\r' | sed 's/^/starttls=/'`,
        `curl -sk --max-time 15 -u alice:pw-alice pop3s://127.0.0.1/ >/dev/null; echo pop3s=$?`,
        `curl -sk --max-time 15 -u alice:wrong imaps://127.0.0.1/INBOX -X 'STATUS INBOX (MESSAGES)' >/dev/null; echo wrongpw=$?`,
        // bob's home answers IMAP on its VPN address (a stand-in): his login here must reach it.
        "perl /root/stand-in-home.pl 127.0.0.12 143 /root/stand-in-home.log 2>/root/stand-in-home.err & sleep 1",
        `curl -sk --max-time 15 -u bob:pw-bob imaps://127.0.0.1/INBOX -X 'STATUS INBOX (MESSAGES)' | tr -d '\\r' | sed 's/^/bobimap=/'`,
        `curl -sk --max-time 15 -u bob:wrong imaps://127.0.0.1/INBOX -X 'STATUS INBOX (MESSAGES)' >/dev/null; echo bobwrong=$?`,
        `echo bobhome=$(cat /root/stand-in-home.log /root/stand-in-home.err | tr '\\n' ,)`,
        // Submitted from a client address of its own, with the headers a mail client adds.
        `ip addr add ${CLIENT}/32 dev lo; swaks --server 127.0.0.1 --local-interface ${CLIENT} --port 587 -tls --auth PLAIN --auth-user bob --auth-password pw-bob --from bob@${DOMAIN} --to alice@${DOMAIN} --body m-submitted --helo laptop.client.example --add-header 'User-Agent: Thunderbird/115.0' --add-header 'X-Mailer: Secret Mailer 1.0' --add-header 'X-Originating-IP: [${CLIENT}]' --timeout 15 --silent 2; echo submission=$?`,
        // Sending as someone else (a user of the cluster, or any foreign address) is refused; as one's own alias, accepted.
        reply("forged", `swaks --server 127.0.0.1 --port 587 -tls --auth PLAIN --auth-user bob --auth-password pw-bob --from alice@${DOMAIN} --to alice@${DOMAIN} --helo c.example --timeout 15 --quit-after RCPT`),
        reply("foreign", `swaks --server 127.0.0.1 --port 587 -tls --auth PLAIN --auth-user bob --auth-password pw-bob --from bob@example.net --to alice@${DOMAIN} --helo c.example --timeout 15 --quit-after RCPT`),
        `swaks --server 127.0.0.1 --port 587 -tls --auth PLAIN --auth-user bob --auth-password pw-bob --from bobby@${DOMAIN} --to alice@${DOMAIN} --body m-ownalias --helo c.example --timeout 15 --silent 2; echo ownalias=$?`,
        // The From header too: another user's address, or two addresses, refused when the headers
        // end; his own alias accepted (the envelope sender his own address in each case).
        reply("headforged", `swaks --server 127.0.0.1 --port 587 -tls --auth PLAIN --auth-user bob --auth-password pw-bob --from bob@${DOMAIN} --header 'From: Alice <alice@${DOMAIN}>' --to alice@${DOMAIN} --body m-headforged --helo c.example --timeout 15`),
        reply("headtwo", `swaks --server 127.0.0.1 --port 587 -tls --auth PLAIN --auth-user bob --auth-password pw-bob --from bob@${DOMAIN} --header 'From: bob@${DOMAIN}, alice@${DOMAIN}' --to alice@${DOMAIN} --body m-headtwo --helo c.example --timeout 15`),
        `swaks --server 127.0.0.1 --port 587 -tls --auth PLAIN --auth-user bob --auth-password pw-bob --from bob@${DOMAIN} --header 'From: "Bob" <BOBBY@${DOMAIN}>' --to alice@${DOMAIN} --body m-headalias --helo c.example --timeout 15 --silent 2; echo headalias=$?`,
        // The sending limit: alice (who submitted nothing yet) reaches 20 recipients with one message;
        // the next recipient is deferred at RCPT.
        `swaks --server 127.0.0.1 --port 587 -tls --auth PLAIN --auth-user alice --auth-password pw-alice --from alice@${DOMAIN} --to ${Array(20).fill(`alice@${DOMAIN}`).join(",")} --body r-rate --helo c.example --timeout 15 --silent 2; echo rate20=$?`,
        reply("rate21", `swaks --server 127.0.0.1 --port 587 -tls --auth PLAIN --auth-user alice --auth-password pw-alice --from alice@${DOMAIN} --to alice@${DOMAIN} --body r-rate-over --helo c.example --timeout 15 --quit-after RCPT`),
        // The window slides: the script's own counter, 2 recipients per 10 s, fed made-up times
        `python3 -c 'import importlib.util, sys; sys.argv = ["x", "t", "s", "2/10"]; spec = importlib.util.spec_from_file_location("sc", "${SENDER_CHECK_SCRIPT}"); m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m); print("window=" + "".join("1" if m.take_recipient("u", t) else "0" for t in [0, 1, 2, 10.5, 11, 11.5]))'`,
        `echo checkerr=$(wc -c < /root/sender-check.err)`,
        reply("plain587", `swaks --server 127.0.0.1 --port 587 --from bob@${DOMAIN} --to alice@${DOMAIN} --helo c.example --timeout 15 --quit-after RCPT`),
        // International mail, by hand (swaks cannot ask for SMTPUTF8): a UTF-8 sender with and without
        // the SMTPUTF8 parameter, and UTF-8 only in the headers. Each must be delivered or refused in
        // the dialogue, never accepted and then left in the queue.
        ...[
          ["utf8param", "MAIL FROM:<j\u00fcrgen@example.net> SMTPUTF8", "m-utf8param"],
          ["utf8sender", "MAIL FROM:<j\u00fcrgen@example.net>", "m-utf8sender"],
          ["utf8header", "MAIL FROM:<juergen@example.net>", "m-utf8header"],
        ].map(([name, from, body]) => `printf 'EHLO client.example\\r\\n${from}\\r\\nRCPT TO:<alice@${DOMAIN}>\\r\\nDATA\\r\\nFrom: J\u00fcrgen <juergen@example.net>\\r\\nSubject: gr\u00fc\u00dfe\\r\\n\\r\\n${body}\\r\\n.\\r\\nQUIT\\r\\n' | nc -q 5 127.0.0.1 25 | tr -d '\\r' | grep -E '^[0-9]{3} ' | tr '\\n' '|' | sed 's/^/${name}=/'; echo`),
        // Replicas disagreeing for a moment: a node whose stale replica homed bob here delivers over
        // the VPN to this node's LMTP; this node's replica says n2, so its LMTP must refuse him.
        reply("stale", `swaks --protocol LMTP --server 127.0.0.11 --port 24 --from x@example.net --to bob@${DOMAIN} --helo c.example --timeout 15 --quit-after RCPT`),
        `echo softbounce=$(postconf -hP ${INTERNAL_LMTP}/unix/soft_bounce)`,
        // Quota: dora may keep 30 000 bytes; three messages of 12 KB (the third taken while she was
        // under her limit: stored, over it), then her address and her alias are refused at RCPT.
        `body=$(head -c 9000 /dev/urandom | base64 -w 76); for i in 1 2 3; do ${S} --to dora@${DOMAIN} --header "Subject: q-$i" --body "$body" --silent 2; echo dora$i=$?; done`,
        "sleep 1",
        reply("dorafull", `${S} --to dora@${DOMAIN} --quit-after RCPT`),
        reply("doraalias", `${S} --to do@${DOMAIN} --quit-after RCPT`),
        `curl -sk --max-time 15 -u dora:pw-dora imaps://127.0.0.1/ -X 'GETQUOTAROOT INBOX' | tr -d '\r' | grep '^\* QUOTA ' | sed 's/^/doraquota=/'`,
        `echo dorawarned=$(grep -rl '^Subject: Your mailbox is 90% full' /srv/crypt/mail/dora/Maildir/new /srv/crypt/mail/dora/Maildir/cur | wc -l)`,
        `echo dorastored=$(grep -rhE '^Subject: q-' /srv/crypt/mail/dora/Maildir/new /srv/crypt/mail/dora/Maildir/cur | sort | tr '\n' ,)`,
        `echo doradu=$(cat /srv/crypt/mail/dora/Maildir/new/* /srv/crypt/mail/dora/Maildir/cur/* 2>/dev/null | wc -c)`,
        `echo doraqueued=$(postqueue -j | grep -c 'dora@')`,
        // the quota-status service on this node's VPN address, answering for users homed here only
        `printf 'request=smtpd_access_policy\nprotocol_state=RCPT\nrecipient=alice@${DOMAIN}\nsize=0\n\n' | nc -q 2 127.0.0.11 12340 | sed -n 's/^action=/alicepolicy=/p'`,
        "sleep 2",
        `echo maildir=$(grep -rl '^m-' /srv/crypt/mail | sed 's|/new/.*||;s|/cur/.*||' | sort | uniq -c | tr -s ' ' | sed 's/^ //' | tr '\\n' ';')`,
        `echo stored=$(grep -rhE '^m-(alice|alias|submitted)' /srv/crypt/mail | sort | tr '\\n' ',')`,
        `f=$(grep -rl '^m-submitted' /srv/crypt/mail | head -1); echo subclient=$(grep -cE '${CLIENT.replace(/\./g, "\\.")}|laptop' "$f"); echo subheaders=$(grep -ciE '^(user-agent|x-mailer|x-originating-ip):' "$f"); echo subreceived=$(grep -c '^Received: from \\[127\\.0\\.0\\.1\\] (localhost \\[127\\.0\\.0\\.1\\])' "$f")`,
        `f=$(grep -rl '^m-submitted' /srv/crypt/mail | head -1); echo submitted=$(base64 -w0 "$f")`,
        // opendkim gone: the submission is deferred (4xx), never sent unsigned
        "kill $(cat /run/opendkim/opendkim.pid); sleep 1",
        reply("nodkim", `swaks --server 127.0.0.1 --port 587 -tls --auth PLAIN --auth-user bob --auth-password pw-bob --from bob@${DOMAIN} --to alice@${DOMAIN} --body m-unsigned --helo c.example --timeout 15`),
        "sleep 1",
        `echo unsigned=$(grep -rl '^m-unsigned' /srv/crypt/mail | wc -l)$(postqueue -j | grep -c '"sender": "bob@')`,
        `echo queued=$(postqueue -j | grep -c 'bob@${DOMAIN}')`,
        `echo utf8queued=$(postqueue -j | grep -c 'rgen@example.net')`,
        `echo headstored=$(grep -rhE '^m-head' /srv/crypt/mail /srv/crypt/postfix 2>/dev/null | sort | tr '\\n' ,)`,
        `echo utf8stored=$(grep -rhE '^m-utf8' /srv/crypt/mail | sort | tr '\\n' ,)`,
        // a bounce would wait in the queue with the null sender (the sender's domain cannot be reached from here)
        `echo bounced=$(postqueue -j | grep -c '"sender": ""')`,
        `echo dovecotlog=$(doveadm log errors 2>/dev/null | grep -v proxy | wc -l)`,
      ].join("\n"),
    );
    out = Object.fromEntries(text.split("\n").filter((l) => /^[a-z0-9]+=/.test(l)).map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]));
  }, 900_000);

  test("port 25: a local user and an alias are delivered into the home Maildir; an unknown recipient gets 550 at RCPT", () => {
    expect([out.alice, out.alias]).toEqual(["0", "0"]);
    expect(out.unknown).toMatch(/^<\*\* 550 /);
    expect(out.stored).toBe("m-alias,m-alice,m-submitted,");
    // with the mail bob submitted as himself, as his alias and with his alias in the From header, and
    // the two international messages
    expect(out.maildir).toBe("7 /srv/crypt/mail/alice/Maildir;");
  });

  test("replicas that disagree for a moment: the node that is not the home refuses the LMTP delivery (550 5.1.1), and the sending side's internal transport defers any refusal (soft_bounce), so nothing loops or bounces", () => {
    expect(out.stale).toMatch(/^<\*\* 550 5\.1\.1 <bob@/);
    expect(out.softbounce).toBe("yes");
    expect(out.maildir).not.toContain("/bob/");
  });

  test("a home that is down (its quota cannot be asked): 4xx at RCPT, the sender keeps the message; a revoked home: 450 at RCPT", () => {
    expect(out.bob).toMatch(/^<\*\* 450 4\.7\.1 <bob@/);
    expect(out.queued).toBe("0");
    expect(out.revoked).toMatch(/^<\*\* 450 .*home node n3 is revoked/);
    expect(out.bounced).toBe("0");
  });

  test("quota: under the limit delivered, the message that crosses it stored, then 552 at RCPT for the address and its alias; IMAP shows it; one warning at 90 %; nothing queued", () => {
    expect([out.dora1, out.dora2, out.dora3]).toEqual(["0", "0", "0"]);
    expect(out.dorastored).toBe("Subject: q-1,Subject: q-2,Subject: q-3,");
    expect(out.dorafull).toMatch(/^<\*\* 552 5\.2\.2 .*Mailbox is full/);
    expect(out.doraalias).toMatch(/^<\*\* 552 5\.2\.2 .*Mailbox is full/);
    // GETQUOTAROOT in KiB: the limit is 30 000 bytes; what is used agrees with the files' bytes
    const q = /^\* QUOTA "User quota" \(STORAGE (\d+) (\d+)\)/.exec(out.doraquota ?? "");
    expect(q).not.toBeNull();
    expect(Number(q![2])).toBe(Math.ceil(30_000 / 1024));
    expect(Math.abs(Number(q![1]) - Number(out.doradu) / 1024)).toBeLessThan(2);
    expect(out.dorawarned).toBe("1");
    expect(out.doraqueued).toBe("0");
    // alice has no quota: the policy service lets her mail through
    expect(out.alicepolicy).toBe("DUNNO");
  });

  test("IMAP (993, 143+STARTTLS) and POP3 (995) log a local user in; a wrong password is refused; a user homed elsewhere is proxied to its home's VPN address", () => {
    // two so far: alice's and the alias's (the submitted one comes later)
    expect(out.imaps).toMatch(/^\* STATUS INBOX \(MESSAGES 2\)/);
    expect(out.starttls).toMatch(/^\* STATUS INBOX \(MESSAGES 2\)/);
    expect(out.pop3s).toBe("0");
    expect(out.wrongpw).toBe("67");
    // bob (home n2): the password checked here, then the login proxied to his home's VPN address,
    // which got his name and password and answered with its own count
    expect(out.bobimap).toMatch(/^\* STATUS INBOX \(MESSAGES 7\)/);
    // one login reached it: the right password's (a wrong one is refused here, never forwarded)
    expect(out.bobhome).toBe("login bob password-ok,");
    expect(out.bobwrong).toBe("67");
  });

  test("submission on 587: SASL through dovecot for a user homed elsewhere, delivered; without STARTTLS refused", () => {
    expect(out.submission).toBe("0");
    expect(out.plain587).toMatch(/^<\*\* 530 5\.7\.0 Must issue a STARTTLS command first/);
  });

  test("international mail: a UTF-8 sender and UTF-8 headers are delivered; a client asking for SMTPUTF8 is refused at MAIL FROM (the home's LMTP cannot take it) — nothing accepted and left in the queue", () => {
    expect(out.utf8param).toMatch(/\|555 5\.5\.4 Unsupported option: SMTPUTF8\|/);
    expect(out.utf8param).not.toMatch(/queued/);
    expect(out.utf8sender).toMatch(/\|250 2\.0\.0 Ok: queued as /);
    expect(out.utf8header).toMatch(/\|250 2\.0\.0 Ok: queued as /);
    expect(out.utf8stored).toBe("m-utf8header,m-utf8sender,");
    expect(out.utf8queued).toBe("0");
  });

  test("submission: the envelope sender must be the logged-in user's own address or alias — else 553 before anything is signed", () => {
    expect(out.forged).toMatch(/^<~\* 553 5\.7\.1 <alice@lab\.rplan\.test>: Sender address rejected: not owned by user bob/);
    expect(out.foreign).toMatch(/^<~\* 553 5\.7\.1 <bob@example\.net>: Sender address rejected: not owned by user bob/);
    expect(out.ownalias).toBe("0");
  });

  test("submission: the From header must be one address of the logged-in user — else 550 when the headers end, nothing queued or signed", () => {
    expect(out.headforged).toMatch(/^<~\* 550 5\.7\.1 From header address not owned by user bob/);
    expect(out.headtwo).toMatch(/^<~\* 550 5\.7\.1 The From header must hold one address/);
    expect(out.headalias).toBe("0");
    expect(out.headstored).toBe("m-headalias,");
    expect(out.checkerr).toBe("0");
  });

  test("submission: one login's recipients per hour are limited on each node — beyond the limit 452 at RCPT (the client retries later)", () => {
    expect(out.rate20).toBe("0");
    expect(out.rate21).toMatch(/^<~\* 452 4\.7\.1 .*Sending limit reached \(20 recipients in 3600 s\)/);
    // two taken, the third refused; 10 s after the first, room for one again, and so on
    expect(out.window).toBe("110110");
  });

  test("submitted mail is signed by opendkim with the node's key (selector n1) and verifies against the record the zone publishes", async () => {
    const message = Buffer.from(out.submitted, "base64");
    expect(message.toString()).toMatch(/^DKIM-Signature: v=1; a=rsa-sha256; c=relaxed\/simple; d=lab\.rplan\.test;\s+s=n1;/m);
    const resolver = async (name: string, type: string) => {
      if (type === "TXT" && name === `n1._domainkey.${DOMAIN}`) return [[dkimRecord(dkimPublicKey)]];
      throw Object.assign(new Error(`${name} ${type}: NXDOMAIN`), { code: "ENOTFOUND" });
    };
    const { results } = await dkimVerify(message, { resolver });
    expect(results.map((r: any) => [r.status.result, r.signingDomain, r.selector])).toEqual([["pass", DOMAIN, "n1"]]);
    // the same message against another key (a rotated or foreign one): fails
    const other = crypto.generateKeyPairSync("rsa", { modulusLength: 2048 }).publicKey.export({ type: "spki", format: "der" }).toString("base64");
    const wrong = await dkimVerify(message, { resolver: async () => [[dkimRecord(other)]] });
    expect(wrong.results[0].status.result).toBe("fail");
  });

  test("opendkim not answering: the submission is deferred with 4xx (the client keeps it), nothing is sent unsigned", () => {
    expect(out.nodkim).toMatch(/^<\*\* 4\d\d /);
    expect(out.unsigned).toBe("00"); // not delivered, not queued: refused at DATA, the client keeps it
  });

  test("submitted mail is anonymised: the client's address and name rewritten to localhost, client headers gone", () => {
    expect(out.subreceived).toBe("1");
    expect(out.subclient).toBe("0");
    expect(out.subheaders).toBe("0");
  });
});
