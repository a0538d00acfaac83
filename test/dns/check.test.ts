/**
 * planning/dns/check: the queries, the probe's parser and the judge. The "server" here answers from
 * a zone text the renderer made, in dig's own output format (`+noall +comments +answer`); the real
 * dig against the real knot is the lab's (test/e2e.lab.test.ts, test/mesh/mesh.lab.test.ts).
 */
import { dnsProbeArgv, dnsQueries, DnsQuery, judgeDnsProbe, parseDnsProbe } from "../../planning/dns/check";
import { generateKeyPairSync } from "crypto";
import { renderZone, ZoneInput, ZoneNode } from "../../planning/dns/zone";

const node = (name: string, state: ZoneNode["state"], publicAddress: string): ZoneNode => ({ name, state, publicAddress });
const ACTIVE = [node("lab1", "active", "198.51.100.11"), node("lab2", "active", "198.51.100.12"), node("lab3", "active", "198.51.100.13")];
const REVOKED = [ACTIVE[0], ACTIVE[1], node("lab3", "revoked", "198.51.100.13")];
const DRAINING = [ACTIVE[0], ACTIVE[1], node("lab3", "draining", "198.51.100.13")];
const zone = (nodes: ZoneNode[]): ZoneInput => ({ domain: "lab.rplan.test", nodes });

/** What one dig with all `queries` prints, asked of a knot serving `text` (dig's own format: header, question, answer). */
function served(server: string, text: string, queries: DnsQuery[], status = "NOERROR"): string {
  const origin = "lab.rplan.test";
  const records = text
    .split("\n")
    .filter((l) => l && !l.startsWith(";") && !l.startsWith("$"))
    .map((l) => {
      const m = /^(\S+)\s+IN\s+(\S+)\s+(.*)$/.exec(l)!;
      const owner = m[1] === "@" ? origin : `${m[1]}.${origin}`;
      return { owner, type: m[2], rdata: m[3].replace(/[()]/g, "").replace(/\s+/g, " ").trim() };
    });
  const replies = queries.map((q) => {
    const hits = records.filter((r) => r.owner === q.name && r.type === q.type);
    const exists = records.some((r) => r.owner === q.name);
    const st = status !== "NOERROR" ? status : exists ? "NOERROR" : "NXDOMAIN";
    const lines = [`R\t;; Got answer:`, `R\t;; ->>HEADER<<- opcode: QUERY, status: ${st}, id: 4242`, `R\t;; flags: qr aa; QUERY: 1, ANSWER: ${hits.length}, AUTHORITY: 0, ADDITIONAL: 1`, "R\t;; QUESTION SECTION:", `R\t;${q.name}.\t\t\tIN\t${q.type}`];
    if (st === "NOERROR" && hits.length) lines.push("R\t;; ANSWER SECTION:", ...hits.map((h) => `R\t${h.owner}.\t300\tIN\t${h.type}\t${h.rdata}`));
    return lines.join("\n");
  });
  return [`S\t${server}\t0`, ...replies].join("\n");
}

describe("the DNS probe and its judge", () => {
  const before = renderZone(zone(ACTIVE));
  const now = renderZone({ ...zone(REVOKED), previous: before });
  const queries = dnsQueries(zone(REVOKED));
  const judge = (stdout: string, z = zone(REVOKED), serial = now.serial) => judgeDnsProbe(z, serial, "lab1", "198.51.100.12", parseDnsProbe(stdout).get("198.51.100.12"));

  test("asks for the SOA, NS, MX, SPF, DMARC, the service names and every node's name, revoked ones too", () => {
    const asked = queries.map((q) => `${q.name} ${q.type}`);
    expect(asked).toEqual(expect.arrayContaining(["lab.rplan.test SOA", "lab.rplan.test MX", "_dmarc.lab.rplan.test TXT", "mail.lab.rplan.test A", "www.lab.rplan.test AAAA", "lab3.lab.rplan.test A"]));
    const argv = dnsProbeArgv(["198.51.100.11", "198.51.100.12"], queries);
    expect(argv.slice(0, 2)).toEqual(["sh", "-c"]);
    expect(argv.slice(3, 6)).toEqual(["sh", "2", "198.51.100.11"]);
    expect(argv.slice(7, 9)).toEqual(["lab.rplan.test", "SOA"]); // one dig per server takes every name and type
    expect(argv[2]).not.toContain("lab3"); // names travel as arguments, never in the script
    expect(argv[2].match(/dig /g)).toHaveLength(1);
  });

  test("the zone as planned, at its serial: no finding", () => {
    expect(judge(served("198.51.100.12", now.text, queries))).toEqual([]);
  });

  test("a server still on the zone before the revocation: every place the node is left is named, flagged as revoked", () => {
    const findings = judge(served("198.51.100.12", before.text, queries));
    const messages = findings.map((f) => f.message);
    expect(messages).toContain(`serves serial ${before.serial}, expected ${now.serial} (the new zone is not loaded)`);
    expect(messages).toContain("lab.rplan.test MX: serves 10 lab1.lab.rplan.test., 10 lab2.lab.rplan.test., 10 lab3.lab.rplan.test., expected 10 lab1.lab.rplan.test., 10 lab2.lab.rplan.test.");
    expect(messages).toContain("lab3.lab.rplan.test A: NOERROR 198.51.100.13 (a withdrawn node must be NXDOMAIN)");
    expect(messages).toContain("SPF still lists lab3 (198.51.100.13)");
    for (const name of ["lab.rplan.test NS", "mail.lab.rplan.test A", "imap.lab.rplan.test A", "smtp.lab.rplan.test A", "www.lab.rplan.test A"]) {
      expect(findings).toContainEqual(expect.objectContaining({ revoked: "lab3", message: expect.stringContaining(name) }));
    }
  });

  test("a draining node keeps its name and SPF, and leaves NS, MX and the service names", () => {
    const z = zone(DRAINING);
    const r = renderZone(z);
    const q = dnsQueries(z);
    expect(judgeDnsProbe(z, r.serial, "lab1", "198.51.100.12", parseDnsProbe(served("198.51.100.12", r.text, q)).get("198.51.100.12"))).toEqual([]);
    // served with all three active, the judge sees lab3 where a draining node must not be
    const wrong = judgeDnsProbe(z, r.serial, "lab1", "198.51.100.12", parseDnsProbe(served("198.51.100.12", renderZone(zone(ACTIVE)).text.replace(/\( 1 /, `( ${r.serial} `), q)).get("198.51.100.12"));
    expect(wrong.map((f) => f.message)).toEqual(expect.arrayContaining([expect.stringMatching(/^lab\.rplan\.test MX: serves .*lab3/), expect.stringMatching(/^mail\.lab\.rplan\.test A: serves .*198\.51\.100\.13/)]));
  });

  test("DKIM: every live node's selector serves exactly its key; a revoked node's selector must be NXDOMAIN, else it is flagged", () => {
    const key = () => generateKeyPairSync("rsa", { modulusLength: 2048 }).publicKey.export({ type: "spki", format: "der" }).toString("base64");
    const keys: Record<string, string> = { lab1: key(), lab2: key(), lab3: key() };
    const keyed = (nodes: ZoneNode[]) => zone(nodes.map((n) => ({ ...n, dkimPublicKey: keys[n.name] })));
    const z = keyed(REVOKED);
    const q = dnsQueries(z);
    expect(q.map((x) => `${x.name} ${x.type}`)).toEqual(expect.arrayContaining(["lab1._domainkey.lab.rplan.test TXT", "lab3._domainkey.lab.rplan.test TXT"]));
    const b = renderZone(keyed(ACTIVE));
    const r = renderZone({ ...z, previous: b });
    const at = (text: string, zz = z) => judgeDnsProbe(zz, r.serial, "lab1", "198.51.100.12", parseDnsProbe(served("198.51.100.12", text, q)).get("198.51.100.12"));
    // the 2048-bit key is longer than one TXT string: served as several, read back whole
    expect(r.text).toMatch(/^lab1\._domainkey +IN TXT +"v=DKIM1; k=rsa; p=[^"]{200,}" "[^"]+"$/m);
    expect(at(r.text)).toEqual([]);
    // the zone from before the revocation still publishes lab3's selector: flagged as lab3's
    const stale = at(b.text.replace(/\( 1 /, `( ${r.serial} `));
    expect(stale).toContainEqual(expect.objectContaining({ revoked: "lab3", message: expect.stringMatching(/^lab3\._domainkey\.lab\.rplan\.test TXT: NOERROR .*must be NXDOMAIN/) }));
    // a live node serving an old key (a rotation not loaded) is a finding too
    const rotated = keyed(REVOKED).nodes.map((n) => (n.name === "lab2" ? { ...n, dkimPublicKey: key() } : n));
    expect(at(r.text, { ...z, nodes: rotated }).map((f) => f.message)).toContain("lab2._domainkey.lab.rplan.test TXT: serves another DKIM key, expected the node's current key");
  });

  test("a live node's DKIM selector that is not served, or not answered, is a finding; so is a withdrawn name answering NOERROR with no records", () => {
    const key = () => generateKeyPairSync("rsa", { modulusLength: 1024 }).publicKey.export({ type: "spki", format: "der" }).toString("base64");
    const z = zone(REVOKED.map((n) => ({ ...n, dkimPublicKey: key() })));
    const q = dnsQueries(z);
    const r = renderZone(z);
    const at = (stdout: string) => judgeDnsProbe(z, r.serial, "lab1", "198.51.100.12", parseDnsProbe(stdout).get("198.51.100.12"));
    expect(at(served("198.51.100.12", r.text, q))).toEqual([]);
    // lab2's selector missing from the zone the server loaded
    const withoutSelector = r.text.split("\n").filter((l) => !l.startsWith("lab2._domainkey")).join("\n");
    expect(at(served("198.51.100.12", withoutSelector, q)).map((f) => f.message)).toEqual(["lab2._domainkey.lab.rplan.test TXT: serves no DKIM key, expected the node's current key"]);
    // the reply to lab2's selector missing from the probe's output (dig gave up on that question)
    const unanswered = served("198.51.100.12", r.text, q.filter((x) => x.name !== "lab2._domainkey.lab.rplan.test"));
    expect(at(unanswered).map((f) => f.message)).toEqual(["lab2._domainkey.lab.rplan.test TXT: no answer"]);
    // a live node without a key in the plan while the others sign: its mail would go out unsigned
    const unkeyed = { ...z, nodes: z.nodes.map((n) => (n.name === "lab2" ? { ...n, dkimPublicKey: undefined } : n)) };
    expect(judgeDnsProbe(unkeyed, r.serial, "lab1", "198.51.100.12", parseDnsProbe(served("198.51.100.12", r.text, q)).get("198.51.100.12")).map((f) => f.message)).toContain(
      "lab2._domainkey.lab.rplan.test TXT: lab2 has no DKIM key in the plan while other nodes sign",
    );
    // the revoked lab3's name still exists (another record left at it): NOERROR with no A record
    const leftOver = `${r.text}lab3 IN TXT "left behind"\n`;
    expect(at(served("198.51.100.12", leftOver, q))).toContainEqual(expect.objectContaining({ revoked: "lab3", message: "lab3.lab.rplan.test A: NOERROR nothing (a withdrawn node must be NXDOMAIN)" }));
    const leftSelector = `${r.text}lab3._domainkey IN A 192.0.2.1\n`;
    expect(at(served("198.51.100.12", leftSelector, q))).toContainEqual(expect.objectContaining({ revoked: "lab3", message: "lab3._domainkey.lab.rplan.test TXT: NOERROR nothing (a withdrawn node's DKIM selector must be NXDOMAIN)" }));
  });

  test("a node dropped from the config must be gone as a revoked one", () => {
    const without = zone([ACTIVE[0], ACTIVE[1]]);
    const r = renderZone(without);
    const gone = [node("lab3", "revoked", "198.51.100.13")];
    const q = dnsQueries({ ...without, nodes: [...without.nodes, ...gone] });
    expect(judgeDnsProbe(without, r.serial, "lab1", "s", parseDnsProbe(served("s", r.text, q)).get("s"), gone)).toEqual([]);
    const stale = parseDnsProbe(served("s", renderZone(zone(ACTIVE)).text, q)).get("s");
    expect(judgeDnsProbe(without, r.serial, "lab1", "s", stale, gone).filter((f) => f.revoked === "lab3").length).toBeGreaterThan(3);
  });

  test("no reply, or a server without the zone (REFUSED), is one finding — never taken for a withdrawal", () => {
    expect(judge(`S\t198.51.100.12\t9\nR\t;; communications error to 198.51.100.12#53: timed out\nR\t;; no servers could be reached`).map((f) => f.message)).toEqual(["no answer from the name server (dig exit 9)"]);
    expect(judge(served("198.51.100.12", now.text, queries, "REFUSED")).map((f) => f.message)).toEqual(["does not serve lab.rplan.test (SOA: REFUSED, no record)"]);
    expect(judgeDnsProbe(zone(REVOKED), 1, "lab1", "198.51.100.12", undefined).map((f) => f.message)).toEqual(["no answer from the name server (dig exit not run)"]);
  });

  test("parses what dig 9.18 (Debian 12) really prints for several queries in one run, header comments, EDNS lines, split TXT and tabs included", () => {
    // Captured from `dig +noall +comments +question +answer +norecurse @server q1 t1 q2 t2 …` against knot 3.2 serving a rendered zone.
    const real = [
      "S\t198.51.100.12\t0",
      "R\t;; Got answer:",
      "R\t;; ->>HEADER<<- opcode: QUERY, status: NOERROR, id: 51858",
      "R\t;; flags: qr aa; QUERY: 1, ANSWER: 1, AUTHORITY: 0, ADDITIONAL: 1",
      "R\t;; OPT PSEUDOSECTION:",
      "R\t; EDNS: version: 0, flags:; udp: 1232",
      "R\t;; QUESTION SECTION:",
      "R\t;lab.rplan.test.\t\t\tIN\tSOA",
      "R\t;; ANSWER SECTION:",
      "R\tlab.rplan.test.\t\t300\tIN\tSOA\tlab1.lab.rplan.test. hostmaster.lab.rplan.test. 1 3600 600 1209600 300",
      "R\t;; Got answer:",
      "R\t;; ->>HEADER<<- opcode: QUERY, status: NXDOMAIN, id: 20108",
      "R\t;; flags: qr aa; QUERY: 1, ANSWER: 0, AUTHORITY: 1, ADDITIONAL: 1",
      "R\t;; OPT PSEUDOSECTION:",
      "R\t; EDNS: version: 0, flags:; udp: 1232",
      "R\t;; QUESTION SECTION:",
      "R\t;lab3.lab.rplan.test.\t\tIN\tA",
      "R\t;; Got answer:",
      "R\t;; ->>HEADER<<- opcode: QUERY, status: NOERROR, id: 13795",
      "R\t;; flags: qr aa; QUERY: 1, ANSWER: 1, AUTHORITY: 0, ADDITIONAL: 1",
      "R\t;; OPT PSEUDOSECTION:",
      "R\t; EDNS: version: 0, flags:; udp: 1232",
      "R\t;; QUESTION SECTION:",
      "R\t;lab1._domainkey.lab.rplan.test.\tIN\tTXT",
      "R\t;; ANSWER SECTION:",
      'R\tlab1._domainkey.lab.rplan.test.\t300 IN\tTXT\t"v=DKIM1; k=rsa; p=MIIBIjANBgkq" "tXGbltQk5qk7IDAQAB"',
      "R\t;; Got answer:",
      "R\t;; ->>HEADER<<- opcode: QUERY, status: NXDOMAIN, id: 42101",
      "R\t;; flags: qr aa; QUERY: 1, ANSWER: 0, AUTHORITY: 1, ADDITIONAL: 1",
      "R\t;; QUESTION SECTION:",
      "R\t;lab3._domainkey.lab.rplan.test.\tIN\tTXT",
    ].join("\n");
    const a = parseDnsProbe(real).get("198.51.100.12")!;
    expect(a.get("lab.rplan.test SOA")).toEqual({ code: 0, status: "NOERROR", records: ["lab1.lab.rplan.test. hostmaster.lab.rplan.test. 1 3600 600 1209600 300"] });
    expect(a.get("lab3.lab.rplan.test A")).toEqual({ code: 0, status: "NXDOMAIN", records: [] });
    expect(a.get("lab1._domainkey.lab.rplan.test TXT")!.records).toEqual(['"v=DKIM1; k=rsa; p=MIIBIjANBgkq" "tXGbltQk5qk7IDAQAB"']);
    expect(a.get("lab3._domainkey.lab.rplan.test TXT")).toEqual({ code: 0, status: "NXDOMAIN", records: [] });
    // a query dig got no reply to is absent: the judge calls it "no answer", never "withdrawn"
    expect(a.get("lab.rplan.test MX")).toBeUndefined();
  });
});
