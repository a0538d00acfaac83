/** planning/dns/zone: the cluster's zone, what each node state keeps in it, the serial, TXT splitting and input errors. */
import { nextSerial, renderZone, txtStrings, ZoneInput, ZoneNode } from "../../planning/dns/zone";
import { ZoneError } from "../../planning/dns/validate";

const KEY = Buffer.alloc(294, 7).toString("base64"); // the size of an RSA-2048 SubjectPublicKeyInfo
const node = (name: string, state: ZoneNode["state"], publicAddress: string): ZoneNode => ({ name, state, publicAddress, dkimPublicKey: KEY });
const NODES = [node("nl1", "active", "198.51.100.11"), node("is1", "active", "2001:db8::12"), node("de1", "draining", "198.51.100.13"), node("se1", "revoked", "198.51.100.14")];
const input = (over: Partial<ZoneInput> = {}): ZoneInput => ({ domain: "example.org", nodes: NODES, ...over });

/** The zone's records as [owner, type, rdata] (comments, $ directives and the SOA left out). */
const rrs = (text: string) =>
  text
    .split("\n")
    .filter((l) => l && !l.startsWith(";") && !l.startsWith("$") && !l.includes(" SOA "))
    .map((l) => {
      const m = /^(\S+)\s+IN\s+(\S+)\s+(.*)$/.exec(l);
      if (!m) throw new Error(`not a record: ${l}`);
      return [m[1], m[2], m[3]] as const;
    });
const data = (text: string, owner: string, type: string) => rrs(text).filter(([o, t]) => o === owner && t === type).map(([, , d]) => d).sort();
const owners = (text: string) => new Set(rrs(text).map(([o]) => o));
/** A TXT rdata's strings, concatenated as a resolver does. */
const joined = (rdata: string) => [...rdata.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) => m[1]).join("");

describe("renderZone", () => {
  const { text } = renderZone(input());

  test("NS and MX of equal priority for every active node, and nothing else", () => {
    expect(data(text, "@", "NS")).toEqual(["is1.example.org.", "nl1.example.org."]);
    expect(data(text, "@", "MX")).toEqual(["10 is1.example.org.", "10 nl1.example.org."]);
  });

  test("the apex and the service names round-robin over the active nodes, A and AAAA by family", () => {
    for (const owner of ["@", "mail", "imap", "smtp", "www"]) {
      expect(data(text, owner, "A")).toEqual(["198.51.100.11"]);
      expect(data(text, owner, "AAAA")).toEqual(["2001:db8::12"]);
    }
  });

  test("a draining node keeps its own name (and DKIM selector) but leaves every shared name", () => {
    expect(data(text, "de1", "A")).toEqual(["198.51.100.13"]);
    expect(data(text, "de1._domainkey", "TXT")).toHaveLength(1);
    expect(text).not.toMatch(/de1\.example\.org\.$/m); // no NS or MX target
    for (const owner of ["@", "mail", "imap", "smtp", "www"]) expect(data(text, owner, "A")).not.toContain("198.51.100.13");
  });

  test("a revoked node appears nowhere: not its name, address, selector or SPF entry", () => {
    expect(text).not.toContain("se1");
    expect(text).not.toContain("198.51.100.14");
    expect(owners(text).has("se1._domainkey")).toBe(false);
  });

  test("every active and draining node has its own address; the SOA names the first active node", () => {
    expect(data(text, "nl1", "A")).toEqual(["198.51.100.11"]);
    expect(data(text, "is1", "AAAA")).toEqual(["2001:db8::12"]);
    expect(text).toMatch(/^@ IN SOA is1\.example\.org\. hostmaster\.example\.org\. \( 1 \d+ \d+ \d+ 300 \)$/m);
  });

  test("SPF lists the active (and draining) nodes' addresses with ip4/ip6 and ends in -all; DMARC defaults to quarantine", () => {
    const spf = joined(data(text, "@", "TXT")[0]);
    expect(spf).toBe("v=spf1 ip4:198.51.100.13 ip6:2001:db8::12 ip4:198.51.100.11 -all");
    expect(joined(data(text, "_dmarc", "TXT")[0])).toBe("v=DMARC1; p=quarantine");
    const withRua = renderZone(input({ dmarc: { policy: "reject", rua: "dmarc@example.org" } })).text;
    expect(joined(data(withRua, "_dmarc", "TXT")[0])).toBe("v=DMARC1; p=reject; rua=mailto:dmarc@example.org");
  });

  test("a DKIM key longer than 255 bytes is split into strings that concatenate back to the record", () => {
    const rdata = data(text, "nl1._domainkey", "TXT")[0];
    const strings = [...rdata.matchAll(/"([^"]*)"/g)].map((m) => m[1]);
    expect(strings.length).toBeGreaterThan(1);
    for (const s of strings) expect(Buffer.byteLength(s)).toBeLessThanOrEqual(255);
    expect(joined(rdata)).toBe(`v=DKIM1; k=rsa; p=${KEY}`);
  });

  test("a node without a DKIM key publishes no selector", () => {
    const t = renderZone(input({ nodes: [{ name: "nl1", state: "active", publicAddress: "198.51.100.11" }] })).text;
    expect([...owners(t)].filter((o) => o.endsWith("._domainkey"))).toEqual([]);
  });

  test("deterministic: the order of the nodes in the config does not change the text", () => {
    expect(renderZone(input({ nodes: [...NODES].reverse() })).text).toBe(text);
  });

  test("the TTL comes from the input", () => {
    expect(renderZone(input({ ttl: 60 })).text).toMatch(/^\$TTL 60$/m);
  });
});

describe("serial", () => {
  test("the same content keeps the serial; a change bumps it by one", () => {
    const first = renderZone(input());
    expect(first.serial).toBe(1);
    const again = renderZone(input({ previous: { serial: 7, digest: first.digest } }));
    expect(again.serial).toBe(7);
    expect(again.digest).toBe(first.digest);
    const revoked = renderZone(input({ nodes: NODES.map((n) => (n.name === "de1" ? { ...n, state: "revoked" as const } : n)), previous: { serial: 7, digest: first.digest } }));
    expect(revoked.digest).not.toBe(first.digest);
    expect(revoked.serial).toBe(8);
    expect(revoked.text).toMatch(/\( 8 /);
  });

  test("wraps after 2^32-1 (RFC 1982)", () => {
    expect(nextSerial("b".repeat(64), { serial: 0xffffffff, digest: "a".repeat(64) })).toBe(1);
  });
});

describe("txtStrings", () => {
  test("255-byte strings, quotes and backslashes escaped, non-ASCII as \\DDD", () => {
    expect(txtStrings("a".repeat(256))).toBe(`"${"a".repeat(255)}" "a"`);
    expect(txtStrings('say "hi" \\')).toBe('"say \\"hi\\" \\\\"');
    expect(txtStrings("é")).toBe('"\\195\\169"');
    expect(txtStrings("")).toBe('""');
  });
});

describe("validation", () => {
  const problemsOf = (i: ZoneInput): string[] => {
    try {
      renderZone(i);
    } catch (e) {
      expect(e).toBeInstanceOf(ZoneError);
      return [...(e as ZoneError).problems];
    }
    throw new Error("renderZone accepted the input");
  };

  test("every problem is reported at once", () => {
    const problems = problemsOf({
      domain: "Ex_ample.-org",
      ttl: 0,
      nodes: [
        { name: "Nl1", state: "draining", publicAddress: "198.51.100.300", dkimPublicKey: "not base64!" },
        { name: "mail", state: "revoked", publicAddress: "fe80::1%eth0" },
        { name: "de-", state: "draining", publicAddress: "example.org" },
      ],
      previous: { serial: -1, digest: "x" },
      dmarc: { rua: "a;b@example.org" },
    });
    const expected = [
      /domain "Ex_ample\.-org" must be lower-case/,
      /label "ex_ample"/,
      /label "-org"/,
      /TTL 0 must be positive/,
      /node "Nl1": its name is not a DNS label/,
      /node "Nl1": public address "198\.51\.100\.300"/,
      /node "Nl1": DKIM public key is not base64/,
      /node "mail": its name is one of the zone's round-robin service names/,
      /node "mail": public address "fe80::1%eth0"/,
      /node "de-": its name is not a DNS label/,
      /node "de-": public address "example\.org"/,
      /no active node/,
      /previous serial -1/,
      /previous digest "x"/,
      /DMARC report address "a;b@example\.org"/,
    ];
    for (const re of expected) expect(problems.some((p) => re.test(p))).toBe(true);
    expect(problems).toHaveLength(expected.length);
  });

  test.each([[-300], [0.5], [86401], [Number.NaN]])("TTL %p is refused", (ttl) => {
    expect(problemsOf(input({ ttl }))).toEqual([expect.stringMatching(/TTL/)]);
  });

  test("a domain too long, a label too long, a trailing dot", () => {
    expect(problemsOf(input({ domain: `${"a".repeat(64)}.org` }))).toEqual([expect.stringMatching(/longer than 63/)]);
    expect(problemsOf(input({ domain: Array(64).fill("abc").join(".") })).some((p) => /at most 253/.test(p))).toBe(true);
    expect(problemsOf(input({ domain: "example.org." }))).toEqual([expect.stringMatching(/trailing dot/)]);
  });

  test("a node listed twice", () => {
    expect(problemsOf(input({ nodes: [...NODES, NODES[0]] }))).toEqual([expect.stringMatching(/nl1" is listed twice/)]);
  });
});
