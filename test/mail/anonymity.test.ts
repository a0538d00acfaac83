/**
 * planning/mail/anonymity: the submission cleanup's header rules and the outbound rule, applied with
 * JavaScript's RegExp to Received lines as postfix and dovecot write them.
 *
 * PCRE (postfix pcre tables) against JavaScript: postfix turns on `i` (case-insensitive) and `s`
 * (DOTALL) by default; the rules use neither `.` nor case, only `[^\n]`, `[\s\S]`, `\s`, `\S`,
 * `(?:…)` and lazy quantifiers, which mean the same in both — so the RegExp below gets `i` and
 * nothing else. `$1` in a REPLACE is postfix's substitution as it is JavaScript's. A header reaches
 * the rules as one logical header, continuation lines joined with "\n" and their indentation.
 */
import { renderDovecot } from "../../planning/mail/dovecot-config";
import { renderPostfix } from "../../planning/mail/postfix-config";
import { planMailRouting } from "../../planning/mail/routing";
import {
  CLIENT_HEADERS,
  ipv4CidrPattern,
  mailAnonymityProblems,
  OUTBOUND_HEADER_CHECKS,
  outboundRules,
  PcreRule,
  planMailAnonymity,
  renderPcreTable,
  submissionAnonymityOptions,
  SUBMISSION_HEADER_CHECKS,
  SUBMISSION_RULES,
} from "../../planning/mail/anonymity";

/** What postfix does with one logical header: the first matching rule's action, or the header unchanged. */
function apply(rules: readonly PcreRule[], header: string): string | null {
  for (const r of rules) {
    const m = new RegExp(r.pattern, "i").exec(header);
    if (!m) continue;
    if (r.action === "IGNORE") return null;
    if (r.action.startsWith("REPLACE ")) return r.action.slice(8).replace(/\$(\d)/g, (_, i) => m[Number(i)] ?? "");
    throw new Error(`action ${r.action} not modelled`);
  }
  return header;
}

const SUBMITTED =
  "Received: from laptop (unknown [198.51.100.77])\n\tby lab1.lab.rplan.test (Postfix) with ESMTPSA id 4F1A2B3C\n\tfor <bob@lab.rplan.test>; Sun, 29 Nov 2026 18:00:00 +0000 (UTC)";
const REWRITTEN =
  "Received: from [127.0.0.1] (localhost [127.0.0.1])\n\tby lab1.lab.rplan.test (Postfix) with ESMTPSA id 4F1A2B3C\n\tfor <bob@lab.rplan.test>; Sun, 29 Nov 2026 18:00:00 +0000 (UTC)";

describe("submission header checks", () => {
  test("the smtpd Received line of a submission loses the client's name and address, keeps by/id/for/date and the folding", () => {
    expect(apply(SUBMISSION_RULES, SUBMITTED)).toBe(REWRITTEN);
  });

  test("an IPv6 client, a resolved client name, ESMTPA without TLS, and TLS details on a line of their own", () => {
    const v6 = "Received: from [IPv6:2001:db8::77] (unknown [IPv6:2001:db8::77])\n\tby lab2.lab.rplan.test (Postfix) with ESMTPSA id 4G2\n\tfor <a@lab.rplan.test>; Sun, 29 Nov 2026 18:00:00 +0000 (UTC)";
    expect(apply(SUBMISSION_RULES, v6)).toBe("Received: from [127.0.0.1] (localhost [127.0.0.1])\n\tby lab2.lab.rplan.test (Postfix) with ESMTPSA id 4G2\n\tfor <a@lab.rplan.test>; Sun, 29 Nov 2026 18:00:00 +0000 (UTC)");
    const named = "Received: from alice-pc (dsl-77.isp.example [203.0.113.77])\n\tby lab1.lab.rplan.test (Postfix) with ESMTPA id 9AB";
    expect(apply(SUBMISSION_RULES, named)).toBe("Received: from [127.0.0.1] (localhost [127.0.0.1])\n\tby lab1.lab.rplan.test (Postfix) with ESMTPA id 9AB");
    const tls =
      "Received: from laptop (unknown [198.51.100.77])\n\t(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)\n\t key-exchange X25519 server-signature RSA-PSS (3072 bits))\n\t(No client certificate requested)\n\tby lab1.lab.rplan.test (Postfix) with ESMTPSA id 4F1";
    const out = apply(SUBMISSION_RULES, tls)!;
    expect(out).toBe("Received: from [127.0.0.1] (localhost [127.0.0.1])\n\tby lab1.lab.rplan.test (Postfix) with ESMTPSA id 4F1");
    for (const h of [v6, named, tls]) expect(apply(SUBMISSION_RULES, h)).not.toMatch(/198\.51|203\.0|2001:db8|laptop|alice-pc|isp/);
  });

  test("a HELO name dressed as an address cannot keep the real address", () => {
    const tricky = "Received: from x (y [10.0.0.1]) (unknown [198.51.100.77])\n\tby lab1.lab.rplan.test (Postfix) with ESMTPSA id 1";
    expect(apply(SUBMISSION_RULES, tricky)).toBe("Received: from [127.0.0.1] (localhost [127.0.0.1])\n\tby lab1.lab.rplan.test (Postfix) with ESMTPSA id 1");
  });

  test("Received lines of unauthenticated hops, and other headers, are left alone", () => {
    const relayed = "Received: from mx.example.net (mx.example.net [192.0.2.1])\n\tby lab1.lab.rplan.test (Postfix) with ESMTPS id 77";
    expect(apply(SUBMISSION_RULES, relayed)).toBe(relayed);
    for (const h of ["Subject: hello from 198.51.100.77", "From: Alice <alice@lab.rplan.test>", "Message-ID: <1@laptop>"]) expect(apply(SUBMISSION_RULES, h)).toBe(h);
  });

  test("client headers are removed, in any case", () => {
    // A fixed list, not the production one: a header dropped from CLIENT_HEADERS must fail here.
    const clientHeaders = ["User-Agent", "X-Mailer", "X-Newsreader", "X-MimeOLE", "X-Originating-IP", "X-Originating-Host", "X-Forwarded-For", "X-Real-IP", "X-Client-IP", "X-Remote-Addr", "X-Remote-IP", "X-Sender-IP", "X-PHP-Originating-Script", "X-Enigmail-Version"];
    for (const name of clientHeaders) expect({ name, kept: apply(SUBMISSION_RULES, `${name}: something 1.2`) }).toEqual({ name, kept: null });
    expect(CLIENT_HEADERS).toEqual(expect.arrayContaining(clientHeaders));
    expect(apply(SUBMISSION_RULES, "user-agent: Mozilla/5.0 Thunderbird/115.0")).toBeNull();
    expect(apply(SUBMISSION_RULES, "X-Originating-IP: [198.51.100.77]")).toBeNull();
    expect(apply(SUBMISSION_RULES, "X-Mailer-Version: 1")).toBe("X-Mailer-Version: 1"); // the name must end at the colon
  });
});

describe("outbound header checks (internal hops)", () => {
  const rules = outboundRules({ vpnCidrs: ["198.18.0.0/24", "198.18.1.0/24"] });

  test("the home's dovecot LMTP line (client on the VPN) is dropped; the egress node's own lines stay", () => {
    const lmtp = "Received: from lab1.lab.rplan.test ([198.18.0.11])\n\tby lab2.lab.rplan.test with LMTP\n\tid kLm3 (envelope-from <a@lab.rplan.test>)\n\tfor <b@lab.rplan.test>; Sun, 29 Nov 2026 18:00:00 +0000";
    expect(apply(rules, lmtp)).toBeNull();
    expect(apply(rules, REWRITTEN)).toBe(REWRITTEN);
    const outside = "Received: from mx.example.net (mx.example.net [198.18.2.5])\n\tby lab1.lab.rplan.test (Postfix) with ESMTPS id 1";
    expect(apply(rules, outside)).toBe(outside); // 198.18.2.0/24 is no ring of this input
  });

  test("CIDR patterns match exactly their range", () => {
    const inRange = (cidr: string, ip: string) => new RegExp(`^${ipv4CidrPattern(cidr)}$`).test(ip);
    expect(inRange("198.18.0.0/16", "198.18.255.1")).toBe(true);
    expect(inRange("198.18.0.0/16", "198.19.0.1")).toBe(false);
    expect(inRange("198.18.4.0/22", "198.18.7.9")).toBe(true);
    expect(inRange("198.18.4.0/22", "198.18.8.9")).toBe(false);
    expect(inRange("198.18.4.0/22", "198.18.3.9")).toBe(false);
    expect(inRange("198.18.0.11/32", "198.18.0.11")).toBe(true);
    expect(inRange("198.18.0.11/32", "198.18.0.111")).toBe(false);
    expect(mailAnonymityProblems({ vpnCidrs: ["198.18.0.0/33", "fd00::/8", "198.18.0.256/24"] })).toHaveLength(3);
    expect(mailAnonymityProblems({ vpnCidrs: [] })).toEqual([expect.stringMatching(/no VPN range/)]);
  });
});

describe("the anonymity contribution", () => {
  const contribution = planMailAnonymity({ vpnCidrs: ["198.18.0.0/24"] });

  test("renders with routing and TLS-less defaults, and routing's submission can point at clean_submission", () => {
    const routing = planMailRouting({
      domain: "example.org",
      suffix: "dc=example,dc=org",
      ldapiSocket: "/var/run/slapd/ldapi",
      nodes: [{ name: "n1", state: "active", vpnAddress: "198.18.0.11", publicAddress: "198.51.100.11", storePath: "/srv/crypt/mail", mountPath: "/srv/crypt" }],
      vpnCidrs: ["198.18.0.0/24"],
      vpnUnit: "tinc@rplan.service",
    }).n1;
    const files = renderPostfix({ name: "n1", domain: "example.org" }, [routing, contribution]).files;
    const file = (p: string) => files.find((f) => f.path === p)?.content ?? "";
    expect(file("/etc/postfix/master.cf")).toMatch(/^clean_submission unix  n       -       y       -       0       cleanup\n  -o syslog_name=postfix\/clean_submission\n  -o header_checks=pcre:\/etc\/postfix\/rplan\/submission-header-checks\.pcre$/m);
    expect(file("/etc/postfix/main.cf")).toMatch(/^smtpd_sasl_authenticated_header = no$/m);
    expect(file("/etc/postfix/main.cf")).toMatch(/^smtp_header_checks = pcre:\/etc\/postfix\/rplan\/outbound-header-checks\.pcre$/m);
    expect(file(SUBMISSION_HEADER_CHECKS)).toBe(renderPcreTable("header_checks of mail submitted on port 587 (cleanup service clean_submission)", SUBMISSION_RULES));
    expect(file(OUTBOUND_HEADER_CHECKS)).toContain("198\\.18\\.0\\.\\d{1,3}");
    expect(submissionAnonymityOptions()).toEqual({ cleanup_service_name: "clean_submission" });
    const dovecot = renderDovecot("n1", [routing, contribution]).files.find((f) => f.path === "/etc/dovecot/dovecot.conf")?.content ?? "";
    expect(dovecot).toMatch(/^login_log_format_elements = user=<%u> method=%m lip=%l mpid=%e %c session=<%\{session\}>$/m);
  });

  test("the pcre files hold one /pattern/ action line per rule; no pattern contains the delimiter", () => {
    for (const f of contribution.postfix!.files!) {
      const rules = f.content.split("\n").filter((l) => l && !l.startsWith("#"));
      for (const l of rules) expect(l).toMatch(/^\/[^/]+\/ (IGNORE|REPLACE .+)$/);
    }
  });

  test("dovecot logs logins without the client's address", () => {
    const s = contribution.dovecot!.settings!;
    expect(s.login_log_format_elements).not.toMatch(/%r|%\{rip\}/);
    expect(s.login_log_format_elements).toContain("user=<%u>");
    expect(s.auth_verbose).toBe("no");
  });

  test("an unusable VPN range stops the plan", () => {
    expect(() => planMailAnonymity({ vpnCidrs: ["nope"] })).toThrow(/"nope" is not an IPv4 CIDR/);
  });
});
