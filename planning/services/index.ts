/**
 * The services every node runs, and what is derived from their descriptors (./descriptor.ts): the
 * packages, the services with a key directory in the encrypted mount, the units that read from it,
 * the units kept off until configured, the TLS services, the policy's duty names. To add a daemon,
 * write its descriptor beside these and add it to SERVICES; its renderer goes with its feature
 * (planning/mail, planning/dns, …). Pure: no Pulumi, no I/O.
 */
import type { ServiceDescriptor, ServiceTls } from "./descriptor";
import { dovecot } from "./dovecot";
import { knot } from "./knot";
import { opendkim } from "./opendkim";
import { postfix } from "./postfix";
import { redis } from "./redis";
import { rspamd } from "./rspamd";
import { rsyslog } from "./rsyslog";
import { senderCheck } from "./sender-check";
import { slapd } from "./slapd";
import { sshd } from "./sshd";
import { tinc } from "./tinc";

export type { ServiceDescriptor, ServiceTls, TlsAlgorithm, TlsFiles } from "./descriptor";
export { TLS_ALGORITHMS } from "./descriptor";

/** In the order their key directories and units are listed (and stopped at a lock). */
export const SERVICES = [sshd, tinc, slapd, postfix, dovecot, knot, opendkim, senderCheck, redis, rspamd, rsyslog] as const satisfies readonly ServiceDescriptor[];

/** What the rest of rplan reads off a list of services. */
export interface ServicePlan {
  /** Every Debian package they need, sorted (the encrypted mount's tools come with its kind: planning/node-plan.ts). */
  readonly packages: readonly string[];
  /** Services whose private keys live in their own directory inside the encrypted mount. */
  readonly keyServices: readonly string[];
  /** The units that read keys or data from the encrypted mount (see ServiceDescriptor.mountUnits). */
  readonly mountUnits: readonly string[];
  /** Units Debian enables on install that stay off until rplan has configured them. */
  readonly disabledUntilConfigured: readonly string[];
  /** Duty → resource name (per node: a function of the node's name). */
  readonly dutyNames: Readonly<Record<string, string | ((node: string) => string)>>;
}

export function planServices(services: readonly ServiceDescriptor[]): ServicePlan {
  const problems = serviceModelProblems(services);
  if (problems.length > 0) throw new Error(`the service descriptors are inconsistent:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
  return {
    packages: [...new Set(services.flatMap((s) => s.packages))].sort(),
    keyServices: services.filter((s) => s.keyDir).map((s) => s.name),
    mountUnits: services.flatMap((s) => s.mountUnits ?? []),
    disabledUntilConfigured: services.flatMap((s) => s.disabledUntilConfigured ?? []),
    dutyNames: Object.assign({}, ...services.map((s) => ({ ...s.duties, ...s.clusterDuties }))),
  };
}

const plan = planServices(SERVICES);
export const SERVICE_PACKAGES = plan.packages;
export const KEY_SERVICES = plan.keyServices;
export const MOUNT_UNITS = plan.mountUnits;
export const DISABLED_UNTIL_CONFIGURED = plan.disabledUntilConfigured;

type WithTls = Extract<(typeof SERVICES)[number], { tls: ServiceTls }>;
/** A service that terminates TLS with a key of its own (slapd's TLS is the LDAP component's). */
export type TlsService = WithTls["name"];
export const TLS_SERVICES = SERVICES.filter((s): s is WithTls => "tls" in s).map((s) => s.name);

/** The TLS part of a service's descriptor. */
export function serviceTls(service: TlsService): ServiceTls {
  return (SERVICES.find((s) => s.name === service) as WithTls).tls;
}

type Merge<U> = (U extends unknown ? (x: U) => void : never) extends (x: infer I) => void ? I : never;
type Duties<S> = (S extends { duties: infer D } ? D : never) | (S extends { clusterDuties: infer C } ? C : never);
/** The names the program gives the resources the policy pack requires (per node, or the cluster's one). */
export type DutyNames = Merge<Duties<(typeof SERVICES)[number]>>;
export const DUTY_NAMES = Object.freeze(plan.dutyNames) as DutyNames;

/** Every problem with the descriptors at once: names, key directories, duties claimed twice. */
export function serviceModelProblems(services: readonly ServiceDescriptor[]): string[] {
  const problems: string[] = [];
  const seen = (what: string, names: readonly string[]) => {
    const dup = names.filter((n, i) => names.indexOf(n) !== i);
    if (dup.length > 0) problems.push(`${what} claimed twice: ${[...new Set(dup)].join(", ")}`);
  };
  for (const s of services) {
    if (!/^[a-z][a-z0-9-]{0,31}$/.test(s.name)) problems.push(`service name ${JSON.stringify(s.name)} must be a lower-case name (it names a key directory)`);
    if (s.packages.some((p) => !/^[a-z0-9][a-z0-9+.-]+$/.test(p))) problems.push(`${s.name}: a package name is not a Debian package name`);
  }
  seen("service", services.map((s) => s.name));
  seen("mount unit", services.flatMap((s) => s.mountUnits ?? []));
  seen("duty", services.flatMap((s) => [...Object.keys(s.duties ?? {}), ...Object.keys(s.clusterDuties ?? {})]));
  return problems;
}
