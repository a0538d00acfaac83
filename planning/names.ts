/**
 * The names that end up in file names, unit names, maps, LDAP DNs and shell commands on the hosts:
 * one definition each, so the config schema, the directory and the placement planner agree.
 */

/** A node's name: also its tinc name, hostname and TLS/DKIM selector. */
export const NODE_NAME = /^[a-z][a-z0-9-]{0,30}$/;

/** A user's login (LDAP uid): nothing exotic, as it becomes part of paths and maps on every node. */
export const USER_ID = /^[a-z0-9][a-z0-9._-]{0,63}$/;
