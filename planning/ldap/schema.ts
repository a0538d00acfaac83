/**
 * The directory's schema: standard object classes where they fit (inetOrgPerson for users,
 * applicationProcess + simpleSecurityObject for node identities, dcObject/organization and
 * organizationalUnit for the tree) plus a small rplan schema for what they lack: a user's home node,
 * quota, mail route, extra addresses and state.
 *
 * OIDs: 1.3.6.1.4.1.99999 is a PLACEHOLDER for the collective's own IANA Private Enterprise Number
 * (request one at https://pen.iana.org before production). The rplan arc below it:
 *   <PEN>.1       rplan
 *   <PEN>.1.1.n   attribute types
 *   <PEN>.1.2.n   object classes
 * Numbers are only ever added, never reused or renumbered: a live directory keys its data by OID.
 */

export const RPLAN_PEN = "1.3.6.1.4.1.99999";
export const RPLAN_ARC = `${RPLAN_PEN}.1`;

const IA5 = "1.3.6.1.4.1.1466.115.121.1.26";
const INTEGER = "1.3.6.1.4.1.1466.115.121.1.27";

/** Attribute types, in the form slapd prints them back (so that a read-back compares equal). */
export const RPLAN_ATTRIBUTE_TYPES: readonly string[] = [
  `( ${RPLAN_ARC}.1.1 NAME 'rplanHome' DESC 'rplan: name of the node holding the user data' EQUALITY caseIgnoreIA5Match SYNTAX ${IA5}{32} SINGLE-VALUE )`,
  `( ${RPLAN_ARC}.1.2 NAME 'rplanQuota' DESC 'rplan: storage quota in bytes, 0 for none' EQUALITY integerMatch ORDERING integerOrderingMatch SYNTAX ${INTEGER} SINGLE-VALUE )`,
  `( ${RPLAN_ARC}.1.3 NAME 'rplanMailRoute' DESC 'rplan: postfix transport for the user mail, when not derived from rplanHome' EQUALITY caseIgnoreIA5Match SYNTAX ${IA5}{256} SINGLE-VALUE )`,
  `( ${RPLAN_ARC}.1.4 NAME 'rplanMailAlias' DESC 'rplan: further addresses delivered to the user' EQUALITY caseIgnoreIA5Match SUBSTR caseIgnoreIA5SubstringsMatch SYNTAX ${IA5}{256} )`,
  `( ${RPLAN_ARC}.1.5 NAME 'rplanUserState' DESC 'rplan: active, frozen while moving, or disabled' EQUALITY caseIgnoreIA5Match SYNTAX ${IA5}{16} SINGLE-VALUE )`,
];

export const RPLAN_OBJECT_CLASSES: readonly string[] = [
  `( ${RPLAN_ARC}.2.1 NAME 'rplanUser' DESC 'rplan: placement and mail routing of a user' SUP top AUXILIARY MUST rplanHome MAY ( rplanQuota $ rplanMailRoute $ rplanMailAlias $ rplanUserState ) )`,
];

/** The standard schemas loaded before rplan's (files in the node's schema directory). */
export const STANDARD_SCHEMAS: readonly string[] = ["core", "cosine", "nis", "inetorgperson"];

/** The cn=config schema entry (slapd adds the `{n}` index to the cn itself). */
export const RPLAN_SCHEMA_DN = "cn=rplan,cn=schema,cn=config";

export function rplanSchemaEntry(): { dn: string; attrs: Record<string, string[]> } {
  return {
    dn: RPLAN_SCHEMA_DN,
    attrs: {
      objectClass: ["olcSchemaConfig"],
      cn: ["rplan"],
      olcAttributeTypes: [...RPLAN_ATTRIBUTE_TYPES],
      olcObjectClasses: [...RPLAN_OBJECT_CLASSES],
    },
  };
}

/** Schema definitions compared loosely: whitespace runs collapse, case of keywords kept. */
export function normalizeSchemaValue(v: string): string {
  return v.replace(/^\{\d+\}/, "").replace(/\s+/g, " ").trim();
}

/**
 * Attributes an edge ("routing") node may read and replicate: what mail routing and the IMAP/POP
 * proxy need, the naming attributes of the tree, and what syncrepl itself relies on.
 */
export const ROUTING_ATTRIBUTES: readonly string[] = [
  "entry",
  "objectClass",
  "dc",
  "o",
  "ou",
  "uid",
  "mail",
  "rplanMailAlias",
  "rplanHome",
  "rplanMailRoute",
  "rplanUserState",
  "entryUUID",
  "entryCSN",
];

/**
 * Attributes a node's own daemons read from its replica over ldapi beyond the routing ones: the
 * home's dovecot reads each user's quota (planning/mail/quota.ts). Not replicated to edge nodes:
 * they hold no mailboxes.
 */
export const LOCAL_READ_ATTRIBUTES: readonly string[] = ["rplanQuota"];
