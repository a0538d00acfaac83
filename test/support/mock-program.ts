/**
 * Evaluate the real program (index.ts) under Pulumi's own mocks, as Pulumi's testing guide does.
 * Resources register as under the CLI (dynamic ones with their `__provider` source); provider CRUD
 * does not run.
 */
import type * as pulumi from "@pulumi/pulumi";
import { createHash } from "crypto";
import { fakeTincKey } from "../mesh/support";


export interface Registered {
  readonly type: string;
  readonly name: string;
  readonly inputs: Record<string, any>;
}

/** Register every resource of index.ts with the given raw `rplan:*` config; returns the registrations. */
export async function evaluateProgram(raw: Record<string, unknown>): Promise<{ resources: Registered[]; exports: Record<string, unknown> }> {
  const resources: Registered[] = [];
  const config: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw)) config[`rplan:${k}`] = typeof v === "string" ? v : JSON.stringify(v);
  let p!: typeof pulumi;
  let program: Record<string, unknown> = {};
  // A fresh @pulumi/pulumi and program per evaluation: Pulumi's runtime state is per module instance.
  jest.isolateModules(() => {
    p = require("@pulumi/pulumi");
    p.runtime.setMocks(
      {
        newResource: (args) => {
          resources.push({ type: args.type, name: args.name, inputs: args.inputs });
          return { id: `${args.name}-id`, state: { ...args.inputs, ...mockOutputs(args.type, args.name) } };
        },
        call: () => ({}),
      },
      "rplan",
      "test",
      false,
    );
    p.runtime.setAllConfig(config);
    program = require("../../index");
  });
  const exports: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(program)) exports[k] = p.Output.isInstance(v) ? await promiseOf(v as pulumi.Output<unknown>) : v;
  // Resources that no export depends on (e.g. after a long chain of dependencies) may still be
  // registering: wait until registrations stop arriving.
  for (let seen = -1; seen !== resources.length; ) {
    seen = resources.length;
    for (let i = 0; i < 50; i++) await new Promise((r) => setImmediate(r));
  }
  return { resources, exports };
}

/** The mock SHA-256 fingerprint of a ServiceTlsKey's certificate (`AB:CD:…`, derived from its name). */
export function fakeTlsFingerprint(name: string): string {
  return createHash("sha256").update(name).digest("hex").toUpperCase().match(/../g)!.join(":");
}

/** What the providers would add to their inputs: node facts, a key's public half, a certificate. */
export function mockOutputs(type: string, name: string): Record<string, unknown> {
  if (type.endsWith(":NodeHost")) return { facts: { machineId: "m", kernel: "k", os: "o", mountFsType: "f", mountSource: "s" } };
  if (type.endsWith(":NodeKey")) return { publicKey: fakeTincKey(name), fingerprint: `SHA256:${name}` };
  // a real RSA public key's base64 would do as well: the zone only checks it is base64
  if (type.endsWith(":DkimKey")) return { publicKey: Buffer.from(`fake DKIM public key of ${name}`).toString("base64") };
  // contextCSN as each provider reports it: a SlapdConfig when it was applied, the entries after writing
  if (type.endsWith(":SlapdConfig")) return { contextCSN: [`csn-when-${name}-applied`] };
  if (type.endsWith(":LdapEntries")) return { contextCSN: ["csn-after-the-entries"] };
  if (type.endsWith(":ServiceTlsKey")) return { certificate: `-----BEGIN CERTIFICATE-----\nfake ${name}\n-----END CERTIFICATE-----\n`, fingerprint: fakeTlsFingerprint(name), notAfter: "2030-01-01T00:00:00.000Z" };
  // What @pulumi/random would return: a stable alphanumeric password per resource.
  if (type === "random:index/randomPassword:RandomPassword") return { result: `mock${createHash("sha256").update(name).digest("hex").slice(0, 36)}` };
  return {};
}

function promiseOf<T>(o: pulumi.Output<T>): Promise<T> {
  return new Promise((resolve) => o.apply((v) => resolve(v)));
}

