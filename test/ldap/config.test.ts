/** cn=config as data: LDIF, ACLs from rings, syncrepl strings, CSNs, change records — pure. */
import * as fc from "fast-check";
import {
  behindSids,
  bootstrapLdif,
  compareCsn,
  configChanges,
  configDnKey,
  DEFAULT_SLAPD_SETTINGS,
  describeChanges,
  desiredConfig,
  LdifEntry,
  parseLdif,
  parseSyncrepl,
  peernameIp,
  planLdap,
  readOnlyChange,
  redactSyncrepl,
  renderAcl,
  renderChanges,
  renderEntry,
  renderSlapdDefaults,
  renderSyncrepl,
  slapdNodeSpec,
  syncreplKey,
} from "../../planning/ldap";
import { ldapConfig, RING_ACCESS } from "./support";

const SECRET = "s3cretS3cretS3cretS3cretS3cretS3cret0123";
const settings = DEFAULT_SLAPD_SETTINGS;

describe("LDIF", () => {
  test("parses ldapsearch output: wrapped lines, base64, several entries", () => {
    const text = "dn: cn=config\nolcServerID: 17\n\ndn: olcDatabase={1}mdb,cn=config\nolcAccess: {0}to * by dn.exact=\"x\" manage\n  by * break\nolcSuffix:: ZGM9ZXhhbXBsZSxkYz1vcmc=\n\n";
    expect(parseLdif(text)).toEqual([
      { dn: "cn=config", attrs: { olcServerID: ["17"] } },
      { dn: "olcDatabase={1}mdb,cn=config", attrs: { olcAccess: ['{0}to * by dn.exact="x" manage by * break'], olcSuffix: ["dc=example,dc=org"] } },
    ]);
  });

  test("values LDIF cannot carry plainly are base64; everything round-trips", () => {
    fc.assert(
      fc.property(fc.array(fc.string({ maxLength: 40 }), { minLength: 1, maxLength: 4 }), (values) => {
        const e: LdifEntry = { dn: "cn=x,dc=example,dc=org", attrs: { description: values } };
        expect(parseLdif(renderEntry(e))).toEqual([e]);
      }),
    );
    expect(renderEntry({ dn: "cn=x", attrs: { a: [" lead", "trail ", ":colon", "ok"] } })).toBe("dn: cn=x\na:: IGxlYWQ=\na:: dHJhaWwg\na:: OmNvbG9u\na: ok\n");
  });

  test("change records render as ldapmodify input, one atomic record per entry", () => {
    expect(
      renderChanges([
        { dn: "olcDatabase={1}mdb,cn=config", change: "modify", mods: [{ op: "delete", attr: "olcSyncrepl" }, { op: "replace", attr: "olcReadOnly", values: ["FALSE"] }] },
        { dn: "cn=rplan,cn=schema,cn=config", change: "add", attrs: { objectClass: ["olcSchemaConfig"], cn: ["rplan"] } },
      ]),
    ).toBe(
      "dn: olcDatabase={1}mdb,cn=config\nchangetype: modify\ndelete: olcSyncrepl\n-\nreplace: olcReadOnly\nolcReadOnly: FALSE\n-\n\n" +
        "dn: cn=rplan,cn=schema,cn=config\nchangetype: add\nobjectClass: olcSchemaConfig\ncn: rplan\n",
    );
  });

  test("config DNs match whatever ordering index slapd gave them", () => {
    expect(configDnKey("olcOverlay={0}syncprov,olcDatabase={1}mdb,cn=config")).toBe(configDnKey("olcOverlay=syncprov,olcDatabase=mdb,cn=config"));
    expect(configDnKey("cn={4}rplan,cn=schema,cn=config")).toBe("cn=rplan,cn=schema,cn=config");
    expect(configDnKey("cn=module{0},cn=config")).toBe("cn=module,cn=config");
  });
});

describe("ACLs from trust rings", () => {
  test("peername.ip style", () => {
    expect(peernameIp("198.18.2.0/24")).toBe("198.18.2.0%255.255.255.0");
    expect(peernameIp("10.0.0.0/8")).toBe("10.0.0.0%255.0.0.0");
    expect(peernameIp("198.18.0.7/32")).toBe("198.18.0.7%255.255.255.255");
  });

  test("core writes, member reads everything, edge reads routing attributes only; nodes' identities AND ring addresses", () => {
    const acl = planLdap(ldapConfig(() => {}, { ringAccess: RING_ACCESS })).acl;
    const who = (net: string) => `dn.children="ou=nodes,ou=system,dc=example,dc=org" peername.ip=${net}%255.255.255.0`;
    const core = who("198.18.0.0");
    const member = who("198.18.1.0");
    const edge = who("198.18.2.0");
    expect(acl).toEqual([
      'to * by dn.exact="gidNumber=0+uidNumber=0,cn=peercred,cn=external,cn=auth" manage by * break',
      `to dn.subtree="ou=system,dc=example,dc=org" attrs=userPassword by anonymous auth by ${core} read by ${member} read by * none`,
      `to dn.subtree="ou=system,dc=example,dc=org" by ${core} read by ${member} read by * none`,
      `to attrs=userPassword by anonymous auth by ${core} write by ${member} read by * none`,
      `to attrs=entry,objectClass,dc,o,ou,uid,mail,rplanMailAlias,rplanHome,rplanMailRoute,rplanUserState,entryUUID,entryCSN by ${core} write by ${edge} read by ${member} read by peername.path="/var/run/slapd/ldapi" read by * none`,
      // the quota: the node's own dovecot reads it over ldapi; edge does not (the rule below gives it nothing)
      `to attrs=rplanQuota by peername.path="/var/run/slapd/ldapi" read by * break`,
      `to * by ${core} write by ${member} read by * none`,
    ]);
    // The system subtree is never writable over the network, and edge never sees it.
    expect(acl.slice(1, 3).join("\n")).not.toMatch(/ write/);
    expect(acl.slice(0, 4).join("\n")).not.toContain("198.18.2.0");
  });

  test("a ring with access none gets no clause", () => {
    const acl = renderAcl({ suffix: "dc=x", systemDn: "ou=system,dc=x", nodesDn: "ou=nodes,ou=system,dc=x", rings: [{ ring: "dark", cidr: "10.9.0.0/16", access: "none" }] });
    expect(acl.join("\n")).not.toContain("10.9.0.0");
  });
});

describe("syncrepl and CSNs", () => {
  const spec = slapdNodeSpec(planLdap(ldapConfig(() => {}, { ringAccess: RING_ACCESS })), "n4").syncrepl!;

  test("refreshAndPersist, simple bind as the node's identity, routing attributes for an edge node", () => {
    const s = renderSyncrepl(spec, SECRET);
    expect(s).toBe(
      'rid=001 provider=ldap://198.18.0.11:389/ bindmethod=simple binddn="cn=n4,ou=nodes,ou=system,dc=example,dc=org" ' +
        `credentials="${SECRET}" searchbase="dc=example,dc=org" type=refreshAndPersist retry="1 60 5 +" network-timeout=5 ` +
        'keepalive=240:3:10 schemachecking=off attrs="objectClass,dc,o,ou,uid,mail,rplanMailAlias,rplanHome,rplanMailRoute,rplanUserState,entryUUID,entryCSN"',
    );
    expect(parseSyncrepl(`{0}${s}`)).toMatchObject({ rid: "001", provider: "ldap://198.18.0.11:389/", credentials: SECRET, type: "refreshAndPersist" });
    expect(redactSyncrepl(s)).not.toContain(SECRET);
    expect(redactSyncrepl(s)).toContain('credentials="***"');
    expect(syncreplKey(`{0}${s}`)).toBe(syncreplKey(s.replace("rid=001 ", "") + " rid=001"));
    expect(syncreplKey(s)).not.toBe(syncreplKey(renderSyncrepl(spec, SECRET.replace("0123", "9999"))));
  });

  test("credentials that could break out of the quoted value are refused", () => {
    for (const bad of ['abc"def0123456789xyz', "short", "with space 0123456789"]) expect(() => renderSyncrepl(spec, bad)).toThrow(/credential/);
  });

  test("caught up means at least the master's CSN for every server ID", () => {
    const m = ["20240101120000.000100Z#000000#001#000000", "20240101120500.000000Z#000002#00a#000000"];
    expect(behindSids(m, m)).toEqual([]);
    expect(behindSids(m, ["20240101120000.000100Z#000000#001#000000"])).toEqual([10]);
    expect(behindSids(m, ["20240101120000.000099Z#000000#001#000000", "20240101120500.000000Z#000003#00a#000000"])).toEqual([1]);
    expect(behindSids(m, ["20240101120000.000100Z#000001#001#000000", "20240101120600.000000Z#000000#00a#000000", "20230101000000.000000Z#000000#002#000000"])).toEqual([]);
    expect(compareCsn(m[0], m[1])).toBe(-1);
    expect(() => behindSids(["garbage"], [])).toThrow(/not a CSN/);
  });
});

describe("desired cn=config and the changes to reach it", () => {
  const plan = planLdap(ldapConfig(() => {}, { ringAccess: RING_ACCESS }));
  const masterSpec = slapdNodeSpec(plan, "n1");
  /** What a freshly bootstrapped node reads back (the bootstrap LDIF, without its includes). */
  const bootstrapped = (spec = masterSpec): LdifEntry[] => parseLdif(bootstrapLdif(spec, settings));

  test("a fresh node is already what a master should be", () => {
    expect(configChanges(bootstrapped(), desiredConfig(masterSpec, settings))).toEqual([]);
  });

  test("becoming a consumer is one modify of the database entry (syncrepl, referral), secret from the node", () => {
    const spec = slapdNodeSpec(plan, "n3");
    const changes = configChanges(bootstrapped(spec), desiredConfig(spec, settings, SECRET));
    expect(changes).toEqual([
      {
        dn: "olcDatabase={1}mdb,cn=config",
        change: "modify",
        mods: [
          { op: "replace", attr: "olcSyncrepl", values: [expect.stringContaining(`credentials="${SECRET}"`)] },
          { op: "replace", attr: "olcUpdateRef", values: ["ldap://198.18.0.11:389/"] },
        ],
      },
    ]);
    expect(describeChanges(changes).join("\n")).not.toContain(SECRET);
    expect(() => desiredConfig(spec, settings)).toThrow(/needs the node's replication credential/);
  });

  test("a frozen old master is demoted and unfrozen in the same modify", () => {
    const db = bootstrapped().find((e) => e.dn.startsWith("olcDatabase={1}mdb"))!;
    const frozen = bootstrapped().map((e) => (e.dn === db.dn ? { ...e, attrs: { ...e.attrs, olcReadOnly: ["TRUE"] } } : e));
    const n1AsConsumer = slapdNodeSpec(planLdap(ldapConfig((raw) => (raw.ldap.master = "n2"), { ringAccess: RING_ACCESS })), "n1");
    const changes = configChanges(frozen, desiredConfig(n1AsConsumer, settings, SECRET));
    expect(changes).toHaveLength(1);
    expect((changes[0] as any).mods.map((m: any) => `${m.op} ${m.attr}`)).toEqual(["replace olcSyncrepl", "replace olcUpdateRef", "replace olcReadOnly"]);
    expect(readOnlyChange(db.dn, true)).toEqual({ dn: db.dn, change: "modify", mods: [{ op: "replace", attr: "olcReadOnly", values: ["TRUE"] }] });
  });

  test("promotion deletes syncrepl and referral; modules are only ever added; missing entries go under the real parent DN", () => {
    const spec = slapdNodeSpec(plan, "n2");
    const current = bootstrapped(spec)
      .filter((e) => !e.dn.startsWith("olcOverlay="))
      .map((e) => (e.dn.startsWith("olcDatabase={1}") ? { ...e, attrs: { ...e.attrs, olcSyncrepl: ["{0}rid=001 provider=ldap://198.18.0.11:389/"], olcUpdateRef: ["ldap://198.18.0.11:389/"] } } : e))
      .map((e) => (e.dn.startsWith("cn=module") ? { ...e, attrs: { ...e.attrs, olcModuleLoad: ["{0}back_mdb.la"] } } : e));
    const changes = configChanges(current, desiredConfig({ ...spec, role: "master", syncrepl: undefined, updateRef: undefined }, settings));
    expect(changes).toEqual([
      { dn: "cn=module{0},cn=config", change: "modify", mods: [{ op: "add", attr: "olcModuleLoad", values: ["syncprov"] }] },
      { dn: "olcDatabase={1}mdb,cn=config", change: "modify", mods: [{ op: "delete", attr: "olcSyncrepl" }, { op: "delete", attr: "olcUpdateRef" }] },
      { dn: "olcOverlay=syncprov,olcDatabase={1}mdb,cn=config", change: "add", attrs: expect.objectContaining({ olcOverlay: ["syncprov"], olcSpCheckpoint: ["100 10"] }) },
    ]);
  });

  test("an ACL change replaces the whole ordered list; the same list with slapd's indexes is no change", () => {
    const current = bootstrapped();
    expect(configChanges(current, desiredConfig(masterSpec, settings))).toEqual([]);
    const withMoreAccess = desiredConfig({ ...masterSpec, acl: [...masterSpec.acl.slice(0, 5), "to * by * read"] }, settings);
    const [c] = configChanges(current, withMoreAccess);
    expect(c).toMatchObject({ change: "modify", mods: [{ op: "replace", attr: "olcAccess" }] });
  });

  test("the bootstrap LDIF: server ID, syncprov, standard schemas by include, root over ldapi only, database in the mount", () => {
    const ldif = bootstrapLdif(masterSpec, settings);
    expect(ldif).toContain(`olcServerID: ${masterSpec.serverId}\n`);
    expect(ldif).toContain("olcModuleLoad: {1}syncprov");
    expect(ldif).toContain("include: file:///etc/ldap/schema/inetorgperson.ldif");
    expect(ldif).toContain("olcDbDirectory: /srv/crypt/slapd/data");
    expect(ldif).toContain("olcRootDN: gidNumber=0+uidNumber=0,cn=peercred,cn=external,cn=auth");
    expect(ldif).not.toMatch(/olcRootPW|olcSyncrepl/);
  });

  test("/etc/default/slapd points at the mount and lists only loopback, VPN and ldapi", () => {
    expect(renderSlapdDefaults(masterSpec, settings)).toContain('SLAPD_CONF="/srv/crypt/slapd/config"\n');
    expect(renderSlapdDefaults(masterSpec, settings)).toContain('SLAPD_SERVICES="ldap://127.0.0.1:389/ ldap://198.18.0.11:389/ ldapi:///"\n');
  });
});

describe("revoked nodes in the ACLs", () => {
  test("refused by identity and by VPN address ahead of every other rule", () => {
    const acl = planLdap(ldapConfig((raw) => (raw.nodes[2].state = "revoked"))).acl;
    expect(acl[1]).toBe('to * by dn.exact="cn=n3,ou=nodes,ou=system,dc=example,dc=org" none by peername.ip=198.18.1.13%255.255.255.255 none by * break');
    expect(planLdap(ldapConfig()).acl).toHaveLength(7);
  });
});
