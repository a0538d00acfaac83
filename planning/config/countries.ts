/**
 * ISO 3166-1 alpha-2 codes, checked with the ICU data Node ships (Intl.DisplayNames returns the
 * code itself for codes it does not know). CLDR also names a few groupings that are not countries;
 * those are refused explicitly.
 */
const regionNames = new Intl.DisplayNames(["en"], { type: "region", fallback: "code" });
const NOT_COUNTRIES = new Set(["EU", "EZ", "UN", "QO", "XA", "XB", "ZZ"]);

/** The English name of an ISO 3166-1 alpha-2 country code, or undefined when it is not one. */
export function countryName(code: string): string | undefined {
  if (!/^[A-Z]{2}$/.test(code) || NOT_COUNTRIES.has(code)) return undefined;
  const name = regionNames.of(code);
  return name && name !== code ? name : undefined;
}
