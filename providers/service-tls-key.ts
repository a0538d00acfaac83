import * as pulumi from "@pulumi/pulumi";
import type { ServiceTlsKeyInputs } from "./impl/service-tls-key";
import { ThinResource } from "./thin";

export type ServiceTlsKeyArgs = { readonly [K in keyof ServiceTlsKeyInputs]: pulumi.Input<ServiceTlsKeyInputs[K]> };

/**
 * A service's TLS private key and self-signed certificate (postfix, dovecot), generated on the node
 * inside its (verified, unlocked) encrypted mount. Only the certificate, its SHA-256 fingerprint
 * and its expiry are outputs. A new `generation` replaces it with a fresh key.
 */
export class ServiceTlsKey extends ThinResource {
  declare public readonly certificate: pulumi.Output<string>;
  declare public readonly fingerprint: pulumi.Output<string>;
  declare public readonly notAfter: pulumi.Output<string>;
  declare public readonly privateKeyPath: pulumi.Output<string>;
  declare public readonly certPath: pulumi.Output<string>;
  declare public readonly generation: pulumi.Output<number>;

  constructor(name: string, args: ServiceTlsKeyArgs, opts?: pulumi.CustomResourceOptions) {
    super("service-tls-key", "ServiceTlsKey", name, { certificate: undefined, fingerprint: undefined, notAfter: undefined, ...args }, opts);
  }
}
