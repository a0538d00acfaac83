import type { ServiceDescriptor } from "./descriptor";

/** The From header of submitted mail must be the logged-in user's (planning/mail/sender-check.ts): a milter in Python. */
export const senderCheck = {
  name: "sender-check",
  purpose: "refuses submitted mail whose From header the logged-in user does not own",
  packages: ["python3-milter"],
} satisfies ServiceDescriptor;
