import type { ServiceDescriptor } from "./descriptor";

/**
 * What the spam filter learns, shared by every node (planning/mail/spam.ts): redis, its data in the
 * encrypted mount (learned tokens come from users' mail). The directory's master holds the one
 * writable copy; every other node a read-only replica over the VPN.
 */
export const redis = {
  name: "redis",
  purpose: "the spam filter's learned state, written on the directory's master, replicated to every node",
  packages: ["redis-server"],
  mountUnits: ["redis-server"],
  disabledUntilConfigured: ["redis-server.service"],
} satisfies ServiceDescriptor;
