/**
 * The provider's on-node bootstrap script, run here against a temp directory with the extracted
 * slapd as `slapadd` (see ./local-slapd.ts): cn=config is created once, atomically, and a re-run
 * leaves it alone; slapd then starts from it.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { bootstrapLdif, defaultServerId, INDEXES, renderAcl, renderSlapdDropIn, SlapdNodeSpec, treeDns, DEFAULT_SLAPD_SETTINGS } from "../../planning/ldap";
import { BOOTSTRAP_SCRIPT } from "../../ops/slapd-host";
import { convergeConfig } from "../../ops/slapd-takeover";
import { landedArgv } from "../../planning/key-landing";
import { FAKE_MOUNT, fakeMountDir, onFakeMount } from "../support/fake-mount";
import { findSlapd, LocalSlapd, localRunner, SlapdDist } from "./local-slapd";

const dist = findSlapd();
const suite = typeof dist === "string" ? describe.skip : describe;
if (typeof dist === "string") console.warn(`SKIPPED test/ldap/bootstrap-local.test.ts: ${dist}`);

test("the systemd drop-in orders slapd after the VPN", () => {
  expect(renderSlapdDropIn(DEFAULT_SLAPD_SETTINGS)).toBe("# Managed by rplan (LdapReplica): slapd listens on the VPN address, so it starts after the VPN.\n[Unit]\nAfter=tinc@rplan.service\nWants=tinc@rplan.service\n");
});

suite("bootstrap script (throwaway local slapd)", () => {
  const d = dist as SlapdDist;
  const bin = fs.mkdtempSync(path.join(os.tmpdir(), "rplan-slapadd-"));
  const mount = fakeMountDir("rplan-slapd-mount-");
  let started: LocalSlapd | undefined;

  afterAll(async () => {
    await started?.stop();
    fs.rmSync(bin, { recursive: true, force: true });
    fs.rmSync(mount, { recursive: true, force: true });
  });

  test("creates cn=config once inside the given directory, then reports it present; slapd runs from it", async () => {
    fs.writeFileSync(path.join(bin, "slapadd"), `#!/bin/sh\nLD_LIBRARY_PATH='${d.env.LD_LIBRARY_PATH ?? ""}' exec '${d.slapd}' -T add "$@"\n`, { mode: 0o755 });
    const p = await LocalSlapd.prepare(d, "boot");
    const sfx = "dc=example,dc=org";
    const dns = treeDns(sfx);
    const spec: SlapdNodeSpec = {
      node: "boot",
      serverId: defaultServerId("boot"),
      suffix: sfx,
      role: "master",
      configDir: path.join(mount, "slapd", "config"),
      dataDir: path.join(mount, "slapd", "data"),
      listen: [],
      acl: renderAcl({ suffix: sfx, systemDn: dns.system, nodesDn: dns.nodes, rings: [] }),
      indexes: INDEXES,
      limits: [],
    };
    const owner = `${os.userInfo().username}:${os.userInfo().username === "root" ? "root" : String(process.getgid?.())}`;
    const argv = onFakeMount(landedArgv("boot", FAKE_MOUNT, BOOTSTRAP_SCRIPT, [spec.configDir, spec.dataDir, owner]));
    const run = () => localRunner.run(["env", `PATH=${bin}:${process.env.PATH}`, ...argv], { stdin: bootstrapLdif(spec, p.settings) });
    expect((await run()).stdout.trim()).toBe("bootstrapped");
    expect(fs.existsSync(path.join(spec.configDir, "cn=config.ldif"))).toBe(true);
    expect((fs.statSync(spec.dataDir).mode & 0o777).toString(8)).toBe("700");
    expect(fs.readdirSync(path.dirname(spec.configDir)).sort()).toEqual(["config", "data"]);
    const before = fs.readFileSync(path.join(spec.configDir, "cn=config.ldif"), "utf8");
    expect((await run()).stdout.trim()).toBe("present");
    expect(fs.readFileSync(path.join(spec.configDir, "cn=config.ldif"), "utf8")).toBe(before);
    // slapd starts from it, and it is already what a master should be.
    started = await LocalSlapd.start(d, "boot", p, spec, { existing: true });
    expect(await convergeConfig(started.ctl, spec, p.settings)).toEqual([]);
  });
});
