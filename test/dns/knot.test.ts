/** planning/dns/knot: knot.conf for a node serving the zone on its public address, no transfers, no DNSSEC. */
import { knotProblems, knotReload, renderKnotConf } from "../../planning/dns/knot";

describe("renderKnotConf", () => {
  const conf = renderKnotConf({ domain: "example.org", listen: "198.51.100.11" });

  test("listens on the public address, port 53, and nowhere else", () => {
    expect(conf.match(/^\s*listen:.*$/gm)).toEqual(["    listen: 198.51.100.11@53"]);
    expect(renderKnotConf({ domain: "example.org", listen: "2001:db8::11" })).toMatch(/^    listen: 2001:db8::11@53$/m);
  });

  test("one zone, from the stack's file, never written back, no journal", () => {
    expect(conf).toMatch(/^zone:\n  - domain: example\.org\n    file: "\/var\/lib\/knot\/example\.org\.zone"$/m);
    expect(conf).toMatch(/^    zonefile-load: whole$/m);
    expect(conf).toMatch(/^    zonefile-sync: -1$/m);
    expect(conf).toMatch(/^    journal-content: none$/m);
    expect(renderKnotConf({ domain: "example.org", listen: "198.51.100.11", zoneFile: "/srv/zones/example.org" })).toContain('file: "/srv/zones/example.org"');
  });

  test("no transfers, updates, remotes or DNSSEC: nothing that could make one node the source of another's zone", () => {
    for (const word of ["acl:", "remote:", "master:", "notify:", "dnssec", "keystore", "policy:"]) expect(conf).not.toContain(word);
  });

  test("hides the version and hostname", () => {
    for (const item of ["identity", "version", "nsid"]) expect(conf).toMatch(new RegExp(`^    ${item}: ""$`, "m"));
  });

  test("a simplified-YAML shape knot reads: top-level sections, 4-space items, list items under log/template/zone", () => {
    const sections = conf.split("\n").filter((l) => /^[a-z]/.test(l));
    expect(sections).toEqual(["server:", "log:", "database:", "template:", "zone:"]);
    for (const l of conf.split("\n").filter((x) => x && !x.startsWith("#") && !/^[a-z]/.test(x))) expect(l).toMatch(/^(    [a-z-]+: \S.*|  - [a-z]+: \S+)$/);
  });
});

describe("knot input and reload", () => {
  test("every problem at once", () => {
    const p = knotProblems({ domain: "Example.org", listen: "node1", zoneFile: "/var/lib/knot/../../etc/shadow" });
    expect(p).toEqual([expect.stringMatching(/lower-case/), expect.stringMatching(/listen address "node1"/), expect.stringMatching(/zone file/)]);
    expect(() => renderKnotConf({ domain: "example.org", listen: "node1" })).toThrow(/listen address/);
  });

  test("a new zone is checked then reloaded; a new config is checked then knot restarted", () => {
    const i = { domain: "example.org", listen: "198.51.100.11" };
    expect(knotReload(i, "zone")).toEqual([["knotc", "zone-check", "example.org"], ["knotc", "-b", "zone-reload", "example.org"]]);
    expect(knotReload(i, "config").map((a) => a.join(" "))).toEqual(["knotc conf-check", "systemctl enable knot", "systemctl restart knot"]);
  });
});
