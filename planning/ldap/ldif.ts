/**
 * LDIF (RFC 2849) as data: parsing what `ldapsearch -LLL` prints, rendering entries and change
 * records for `slapadd`/`ldapmodify`. Pure. Values that LDIF cannot carry as plain text (leading
 * space, colon or '<', trailing space, control or non-ASCII characters) travel base64-encoded.
 */

/** An entry: its DN and attribute values in order, attribute names as written. */
export interface LdifEntry {
  readonly dn: string;
  readonly attrs: Readonly<Record<string, readonly string[]>>;
}

export type Modification =
  | { readonly op: "add" | "replace"; readonly attr: string; readonly values: readonly string[] }
  | { readonly op: "delete"; readonly attr: string; readonly values?: readonly string[] };

/** A change record for ldapmodify. All modifications of one record apply atomically to one entry. */
export type ChangeRecord =
  | { readonly dn: string; readonly change: "add"; readonly attrs: Readonly<Record<string, readonly string[]>> }
  | { readonly dn: string; readonly change: "modify"; readonly mods: readonly Modification[] }
  | { readonly dn: string; readonly change: "delete" };

/** Parse LDIF content records (wrapped lines, base64 values, comments). `include:` lines are ignored. */
export function parseLdif(text: string): LdifEntry[] {
  const entries: LdifEntry[] = [];
  const logical: string[] = [];
  for (const raw of text.replace(/\r\n/g, "\n").split("\n")) {
    if (raw.startsWith(" ") && logical.length > 0 && logical[logical.length - 1] !== "") logical[logical.length - 1] += raw.slice(1);
    else logical.push(raw);
  }
  let dn: string | undefined;
  let attrs: Record<string, string[]> = {};
  const flush = () => {
    if (dn !== undefined) entries.push({ dn, attrs });
    dn = undefined;
    attrs = {};
  };
  for (const [i, line] of logical.entries()) {
    const lineNo = i + 1;
    if (line === "") {
      flush();
      continue;
    }
    if (line.startsWith("#") || /^version:\s*1$/.test(line) || line.startsWith("include:")) continue;
    const m = /^([A-Za-z0-9;.-]+)(::?)\s?(.*)$/.exec(line);
    // The line is not echoed: cn=config lines carry replication credentials.
    if (!m) throw new Error(`not an LDIF line (line ${lineNo}, ${line.length} characters)`);
    const value = m[2] === "::" ? Buffer.from(m[3].trim(), "base64").toString("utf8") : m[3];
    if (m[1].toLowerCase() === "dn") {
      flush();
      dn = value;
    } else {
      if (dn === undefined) throw new Error(`LDIF attribute ${m[1]} before any dn:`);
      (attrs[m[1]] ??= []).push(value);
    }
  }
  flush();
  return entries;
}

/** True when a value must be base64-encoded in LDIF (RFC 2849 SAFE-STRING). */
export function needsBase64(value: string): boolean {
  return value !== "" && (/^[ :<]/.test(value) || / $/.test(value) || /[^\x20-\x7e]/.test(value));
}

/** One `attr: value` line (base64 when needed). */
export function ldifLine(attr: string, value: string): string {
  return needsBase64(value) ? `${attr}:: ${Buffer.from(value, "utf8").toString("base64")}` : `${attr}: ${value}`;
}

export function renderEntry(e: LdifEntry): string {
  const lines = [ldifLine("dn", e.dn)];
  for (const [a, vs] of Object.entries(e.attrs)) for (const v of vs) lines.push(ldifLine(a, v));
  return lines.join("\n") + "\n";
}

/** Change records as one LDIF document for ldapmodify (records separated by blank lines). */
export function renderChanges(records: readonly ChangeRecord[]): string {
  return records
    .map((r) => {
      const lines = [ldifLine("dn", r.dn), `changetype: ${r.change}`];
      if (r.change === "add") for (const [a, vs] of Object.entries(r.attrs)) for (const v of vs) lines.push(ldifLine(a, v));
      if (r.change === "modify") {
        r.mods.forEach((m, i) => {
          if (i > 0) lines.push("-");
          lines.push(`${m.op}: ${m.attr}`);
          for (const v of m.values ?? []) lines.push(ldifLine(m.attr, v));
        });
        lines.push("-");
      }
      return lines.join("\n") + "\n";
    })
    .join("\n");
}

/** Values of an attribute, the name matched case-insensitively. */
export function valuesOf(e: LdifEntry | undefined, attr: string): string[] {
  if (!e) return [];
  const key = Object.keys(e.attrs).find((k) => k.toLowerCase() === attr.toLowerCase());
  return key ? [...e.attrs[key]] : [];
}

/** Strip slapd's ordering prefix `{n}` from an X-ORDERED value. */
export function stripOrder(value: string): string {
  return value.replace(/^\{-?\d+\}/, "");
}

/**
 * A cn=config DN normalized for matching: attribute names lowercased, `{n}` ordering indexes removed
 * from RDN values (`olcDatabase={1}mdb` → `olcdatabase=mdb`, `cn=module{0}` → `cn=module`,
 * `cn={4}rplan` → `cn=rplan`), spaces after commas dropped, values lowercased.
 */
export function configDnKey(dn: string): string {
  return splitDn(dn)
    .map((rdn) => {
      const eq = rdn.indexOf("=");
      return rdn.slice(0, eq).trim().toLowerCase() + "=" + rdn.slice(eq + 1).trim().replace(/\{-?\d+\}/g, "").toLowerCase();
    })
    .join(",");
}

/** Split a DN into RDN strings (honours backslash escapes and quoted values). */
export function splitDn(dn: string): string[] {
  const out: string[] = [];
  let cur = "";
  let quoted = false;
  for (let i = 0; i < dn.length; i++) {
    const c = dn[i];
    if (c === "\\" && i + 1 < dn.length) {
      cur += c + dn[++i];
      continue;
    }
    if (c === '"') quoted = !quoted;
    if (c === "," && !quoted) {
      out.push(cur);
      cur = "";
    } else cur += c;
  }
  if (cur !== "" || out.length > 0) out.push(cur);
  return out.map((r) => r.trim());
}

/** Escape a value for use in a DN's RDN (RFC 4514). */
export function escapeDnValue(value: string): string {
  return value
    .replace(/[\\,+"<>;=]/g, (c) => "\\" + c)
    .replace(/^[ #]/, (c) => "\\" + c)
    .replace(/ $/, "\\ ");
}
