import type { ServiceDescriptor } from "./descriptor";

/** How admins and rplan's providers reach a node (pinned host keys); rsync copies over it. */
export const sshd = {
  name: "sshd",
  purpose: "admin access and every provider's connection, with pinned host keys",
  packages: ["openssh-server", "rsync"],
} satisfies ServiceDescriptor;
