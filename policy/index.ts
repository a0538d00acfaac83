/**
 * The rplan policy pack: `pulumi preview --policy-pack policy [--policy-pack-config policy/prod-config.json]`.
 * Loading this module starts the analyzer's gRPC server (that is what `new PolicyPack` does), so
 * tests and the stack runner use ./policies (the wiring) or ./rules (the plain rules) instead.
 */
import { PolicyPack } from "@pulumi/policy";
import { policies } from "./policies";

new PolicyPack("rplan", {
  description: "rplan: private keys only inside each node's encrypted mount, pinned SSH host keys, country diversity.",
  policies,
});
