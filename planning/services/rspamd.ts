import type { ServiceDescriptor } from "./descriptor";

/**
 * The spam filter: rspamd from Debian as a milter on port 25 (planning/mail/spam.ts); rspamc, in
 * the same package, is how IMAP training reaches it. Off until rplan has configured it: Debian's
 * defaults would greylist, keep a per-message history and ask third parties about users' mail.
 */
export const rspamd = {
  name: "rspamd",
  purpose: "spam filtering on port 25: refuses spam, marks what goes to Junk, learns from users' Junk",
  packages: ["rspamd"],
  disabledUntilConfigured: ["rspamd.service"],
  duties: { spamFilter: (node) => `${node}-spam-filter` },
} satisfies ServiceDescriptor;
