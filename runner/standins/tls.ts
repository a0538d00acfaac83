/**
 * Stand-in for @pulumi/tls's PrivateKey (the provider is a Go plugin the npm package does not
 * ship). Keys are really generated, with node:crypto, in the encodings the tls provider returns:
 * PKCS#1 / SEC1 / PKCS#8 PEM by algorithm, OpenSSH private and public keys, SPKI public PEM and the
 * OpenSSH fingerprints. Private outputs are secrets. Every input forces replacement, as upstream.
 */
import * as crypto from "crypto";
import { deepEqual, makeSecret, PropertyMap } from "../props";
import { CheckResult, DiffResult, ReadResult, ResourcePlugin, Target } from "../providers/plugin";
import { authorizedKey, fingerprintMd5, fingerprintSha256, opensshPrivateKey, publicKeyBlob } from "./openssh";

const CURVES: Record<string, string> = { P224: "P-224", P256: "P-256", P384: "P-384", P521: "P-521" };
const INPUTS = ["algorithm", "rsaBits", "ecdsaCurve"];

function generate(inputs: PropertyMap): crypto.KeyObject {
  switch (inputs.algorithm) {
    case "RSA":
      return crypto.generateKeyPairSync("rsa", { modulusLength: Number(inputs.rsaBits) }).privateKey;
    case "ECDSA":
      return crypto.generateKeyPairSync("ec", { namedCurve: CURVES[String(inputs.ecdsaCurve)] }).privateKey;
    default:
      return crypto.generateKeyPairSync("ed25519").privateKey;
  }
}

/** The outputs the tls provider computes from one private key. */
export function privateKeyOutputs(inputs: PropertyMap, key: crypto.KeyObject): PropertyMap {
  const pub = crypto.createPublicKey(key);
  const pkcs8 = key.export({ format: "pem", type: "pkcs8" }).toString();
  const pem =
    inputs.algorithm === "RSA"
      ? key.export({ format: "pem", type: "pkcs1" }).toString()
      : inputs.algorithm === "ECDSA"
        ? key.export({ format: "pem", type: "sec1" }).toString()
        : pkcs8;
  const publicKeyPem = pub.export({ format: "pem", type: "spki" }).toString();
  const blob = publicKeyBlob(pub);
  return {
    ...inputs,
    privateKeyPem: makeSecret(pem),
    privateKeyPemPkcs8: makeSecret(pkcs8),
    privateKeyOpenssh: makeSecret(opensshPrivateKey(key)),
    publicKeyPem,
    publicKeyOpenssh: authorizedKey(pub),
    publicKeyFingerprintMd5: blob ? fingerprintMd5(blob) : "",
    publicKeyFingerprintSha256: blob ? fingerprintSha256(blob) : "",
  };
}

export class TlsPrivateKey implements ResourcePlugin {
  readonly acceptSecrets = false;

  async check(_t: Target, _olds: PropertyMap, news: PropertyMap): Promise<CheckResult> {
    const inputs: PropertyMap = { ...news, rsaBits: news.rsaBits ?? 2048, ecdsaCurve: news.ecdsaCurve ?? "P224" };
    const failures = [];
    if (!["RSA", "ECDSA", "ED25519"].includes(String(inputs.algorithm))) {
      failures.push({ property: "algorithm", reason: `must be one of RSA, ECDSA, ED25519 (got ${JSON.stringify(inputs.algorithm)})` });
    }
    if (!CURVES[String(inputs.ecdsaCurve)]) failures.push({ property: "ecdsaCurve", reason: "must be one of P224, P256, P384, P521" });
    return { inputs, failures };
  }

  async diff(_t: Target, _id: string, oldInputs: PropertyMap, _o: PropertyMap, news: PropertyMap): Promise<DiffResult> {
    const replaces = INPUTS.filter((k) => !deepEqual(oldInputs[k], news[k]));
    return { changes: replaces.length ? "some" : "none", replaces, deleteBeforeReplace: false };
  }

  async create(_t: Target, inputs: PropertyMap): Promise<{ id: string; outputs: PropertyMap }> {
    const outputs = privateKeyOutputs(inputs, generate(inputs));
    const id = crypto.createHash("sha1").update(String(outputs.publicKeyPem)).digest("hex");
    return { id, outputs };
  }

  async read(_t: Target, id: string, _i: PropertyMap, outputs: PropertyMap): Promise<ReadResult> {
    return { id, outputs };
  }

  async update(_t: Target, _id: string, _oi: PropertyMap, oldOutputs: PropertyMap): Promise<PropertyMap> {
    return oldOutputs; // unreachable: every input forces replacement
  }

  async delete(): Promise<void> {
    // the key only ever existed in state
  }
}
