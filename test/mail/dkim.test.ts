/** planning/mail/dkim: what a node's DKIM plan refuses (every problem at once) and what opendkim.conf says. */
import { dkimProblems, planDkim, renderOpendkimConf, dkimRevision } from "../../planning/mail/dkim";

describe("DKIM plan", () => {
  test("a selector that is no DNS label or a service name, a bad domain, key directory and generation: all reported at once", () => {
    expect(dkimProblems({ node: "Lab_1", domain: "Example.org.", keyDir: "/srv/crypt/../keys", generation: 0 })).toEqual([
      expect.stringMatching(/^node "Lab_1": its name, the DKIM selector, is not a DNS label/),
      'domain "Example.org." must be lower-case',
      'domain "Example.org." must be written without the trailing dot',
      expect.stringMatching(/^key directory .* is not a normalized absolute path/),
      expect.stringMatching(/^dkimKeyGeneration 0 must be a positive integer/),
    ]);
    expect(dkimProblems({ node: "mail", domain: "example.org", keyDir: "/srv/crypt/keys/opendkim", generation: 1 })).toEqual([expect.stringMatching(/round-robin service names/)]);
    expect(() => planDkim({ node: "mail", domain: "example.org", keyDir: "/srv/crypt/keys/opendkim", generation: 1 })).toThrow(/cannot plan DKIM for mail/);
  });

  test("opendkim.conf signs for the domain with the node's selector and key, names the key in use, and only what postfix marks as originating", () => {
    const conf = renderOpendkimConf(planDkim({ node: "lab1", domain: "example.org", keyDir: "/srv/crypt/keys/opendkim", generation: 2 }), dkimRevision("MIIB"));
    for (const line of [/^Mode +s$/m, /^Domain +example\.org$/m, /^Selector +lab1$/m, /^KeyFile +\/srv\/crypt\/keys\/opendkim\/dkim\.private$/m, /^MTA +ORIGINATING$/m, /^Socket +inet:8891@127\.0\.0\.1$/m]) expect(conf).toMatch(line);
    expect(conf).toContain(`# in use: ${dkimRevision("MIIB")}`);
    expect(dkimRevision("MIIB")).not.toBe(dkimRevision("MIIC"));
  });
});
