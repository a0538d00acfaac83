import type { ServiceDescriptor } from "./descriptor";

/** Signs submitted mail with the node's own key, born in the mount (planning/mail/dkim.ts); openssl generates it. */
export const opendkim = {
  name: "opendkim",
  purpose: "DKIM signatures on submitted mail, one key per node",
  packages: ["opendkim", "openssl"],
  keyDir: true,
  mountUnits: ["opendkim"],
  disabledUntilConfigured: ["opendkim.service"],
  duties: { dkimKey: (node) => `${node}-dkim-key` },
} satisfies ServiceDescriptor;
