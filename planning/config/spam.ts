/**
 * `rplan:spam` (optional): the spam filter's thresholds, read with the other settings so a bad one
 * stops the preview with every other problem (docs/mail.md "Spam").
 */
import type { SpamSettings } from "./types";

type Raw = Record<string, unknown>;
const isObj = (v: unknown): v is Raw => typeof v === "object" && v !== null && !Array.isArray(v);
const show = (v: unknown) => (v === undefined ? "nothing" : JSON.stringify(v));

/** rspamd's own defaults: refused at 15, to Junk from 6. */
export const DEFAULT_SPAM: SpamSettings = { reject: 15, junk: 6, testPatterns: false };

const isScore = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v) && v > 0 && v <= 1000;

/** `rplan:spam`: `{ reject?: score, junk?: score (below reject), testPatterns?: boolean }`. */
export function parseSpam(raw: unknown, bad: (p: string) => void): SpamSettings {
  if (raw === undefined) return DEFAULT_SPAM;
  if (!isObj(raw)) {
    bad(`rplan:spam must be a map {reject, junk, testPatterns} (got ${show(raw)})`);
    return DEFAULT_SPAM;
  }
  for (const k of Object.keys(raw)) if (!["reject", "junk", "testPatterns"].includes(k)) bad(`rplan:spam: unknown key ${JSON.stringify(k)} (known: reject, junk, testPatterns)`);
  const reject = raw.reject ?? DEFAULT_SPAM.reject;
  const junk = raw.junk ?? DEFAULT_SPAM.junk;
  const testPatterns = raw.testPatterns ?? false;
  if (!isScore(reject)) bad(`rplan:spam.reject must be a score above 0 and at most 1000 (got ${show(reject)})`);
  if (!isScore(junk)) bad(`rplan:spam.junk must be a score above 0 and at most 1000 (got ${show(junk)})`);
  if (isScore(reject) && isScore(junk) && junk >= reject) bad(`rplan:spam.junk (${junk}) must be below rplan:spam.reject (${reject}): mail scored between them goes to Junk`);
  if (typeof testPatterns !== "boolean") bad(`rplan:spam.testPatterns must be true or false (got ${show(testPatterns)})`);
  return { reject: reject as number, junk: junk as number, testPatterns: testPatterns === true };
}
