/**
 * Policy test support: the resources the real program registers (index.ts under Pulumi's mocks)
 * as the rules' ResourceDescs, plus resources of the conventions the program follows (HostFiles,
 * NodeKey, commands, copies, @pulumi/tls keys) built on a real registered NodeHost.
 */
import * as crypto from "crypto";
import { plain, ResourceDesc } from "../../policy/rules";
import { rawConfig } from "../support/config-fixture";
import { evaluateProgram, Registered } from "../support/mock-program";

export const HOST_FILES = "pulumi-nodejs:dynamic/rplan:HostFiles";
export const NODE_KEY = "pulumi-nodejs:dynamic/rplan:NodeKey";
export const NODE_HOST = "pulumi-nodejs:dynamic/rplan:NodeHost";

export function urnOf(type: string, name: string, stack = "test"): string {
  return `urn:pulumi:${stack}::rplan::${type}::${name}`;
}

/** Registered resources (mock inputs) as ResourceDescs with URNs. */
export function toDescs(resources: readonly Registered[], stack = "test"): ResourceDesc[] {
  return resources.map((r) => ({ type: r.type, name: r.name, urn: urnOf(r.type, r.name, stack), props: plain(r.inputs) as Record<string, unknown> }));
}

/** The real program's resources for a raw `rplan:*` config (the fixture by default). */
export async function programResources(raw: Record<string, unknown> = rawConfig()): Promise<ResourceDesc[]> {
  return toDescs((await evaluateProgram(raw)).resources);
}

export function hostOf(resources: readonly ResourceDesc[], node: string): ResourceDesc {
  const h = resources.find((r) => r.type === NODE_HOST && r.props.node === node);
  if (!h) throw new Error(`no NodeHost for ${node}`);
  return h;
}

/** A resource of ours on the node of `host`: the node, ssh and encryptedMount copied from that NodeHost. */
export function onNode(host: ResourceDesc, type: string, name: string, props: Record<string, unknown>, propertyDependencies?: Record<string, string[]>): ResourceDesc {
  const h = host.props as Record<string, any>;
  return {
    type,
    name,
    urn: urnOf(type, name),
    props: { node: h.node, ssh: h.ssh, encryptedMount: h.encryptedMount, ...props },
    ...(propertyDependencies ? { propertyDependencies } : {}),
  };
}

/** A command:remote resource reaching the node of `host` with one of its pinned keys. */
export function remote(host: ResourceDesc, type: string, name: string, props: Record<string, unknown>, propertyDependencies?: Record<string, string[]>): ResourceDesc {
  const ssh = (host.props as Record<string, any>).ssh;
  return {
    type,
    name,
    urn: urnOf(type, name),
    props: { connection: { host: ssh.host, port: ssh.port, user: ssh.user, hostKey: ssh.hostKeys[0] }, ...props },
    ...(propertyDependencies ? { propertyDependencies } : {}),
  };
}

/** A real RSA key in PKCS#1 PEM, the format tinc writes (`-----BEGIN RSA PRIVATE KEY-----`). */
export const RSA_PEM = crypto.generateKeyPairSync("rsa", { modulusLength: 1024 }).privateKey.export({ type: "pkcs1", format: "pem" }).toString();
/** A real ed25519 key in PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`). */
export const PKCS8_PEM = crypto.generateKeyPairSync("ed25519").privateKey.export({ type: "pkcs8", format: "pem" }).toString();
/** An OpenSSH private key block (body random: detection is by armour). */
export const OPENSSH_KEY = `-----BEGIN OPENSSH PRIVATE KEY-----\n${crypto.randomBytes(180).toString("base64").replace(/.{70}/g, "$&\n")}\n-----END OPENSSH PRIVATE KEY-----\n`;

/** A @pulumi/tls PrivateKey as validateStack sees it after creation (outputs known). */
export function tlsKey(name: string, pem = PKCS8_PEM): ResourceDesc {
  const type = "tls:index/privateKey:PrivateKey";
  return {
    type,
    name,
    urn: urnOf(type, name),
    props: { algorithm: "ED25519", privateKeyPem: pem, privateKeyPemPkcs8: pem, privateKeyOpenssh: OPENSSH_KEY, publicKeyPem: "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA\n-----END PUBLIC KEY-----\n", publicKeyOpenssh: "ssh-ed25519 AAAA" },
  };
}

export function messages(out: { violations: { message: string }[] }): string[] {
  return out.violations.map((v) => v.message);
}
