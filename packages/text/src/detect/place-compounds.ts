/**
 * Place names made of a found word and words that are English or particles, which the other rules leave out and
 * which would leak beside the found part:
 *  - a place prefix before a city or name-shaped word: "New Kasandra", "Port Justinborough", "Store Merløse",
 *    "Lake Louvenia", "St. Pölten";
 *  - a place-type word after it: "Mill Village" once "Mill" is a place, "Cedar Falls", "Grand Rapids";
 *  - particles between two found words, or after a city and before capitalised words: "Brandýs nad Labem",
 *    "Ostrov nad Ohrí", "Turkovice u Prelouce", "Colle di Tora", "St. Peter am Kammersberg", "Graspeel aan de Rijn".
 * Only an existing finding is grown (its union with the new words), so nothing is found here on its own: a prefix
 * word alone ("North", "Lake") is never a place. The new span is a little less confident than the finding, so the
 * union keeps the finding's type.
 */
import type { Span } from '../types.ts';

export const PLACE_PREFIX = new Set(
  'new lake port fort mount mt east west north south upper lower great little old san santa santo são saint st ste sankt bad store lille stora lilla nieuw oud groß gross klein nord sud los las costa villa porto puerto cape glen'.split(
    ' ',
  ),
);
const SUFFIX = new Set(
  'village falls springs heights beach harbor harbour creek valley city town township county bay junction mills hills crossing landing rapids'.split(
    ' ',
  ),
);
const PARTICLES = 'u|nad|pod|na|de|do|da|dos|das|di|del|della|la|le|am|an|im|aan|op|sur|sul|en|lui|bei|ob';
const BETWEEN_RE = new RegExp(`^(?:[ \\t](?:${PARTICLES})){1,2}[ \\t]$|^-$`, 'u');
const AFTER_CITY_RE = new RegExp(
  `^(?:[ \\t](?:${PARTICLES})){1,2}[ \\t](\\p{Lu}[\\p{L}\\p{M}'’]+(?:[ -]\\p{Lu}[\\p{L}\\p{M}'’]+)?)(?![\\p{L}\\p{N}])`,
  'u',
);

function sameCase(word: string, anchor: string, lowerText: boolean): boolean {
  if (lowerText) return word === word.toLowerCase();
  if (word === word.toUpperCase()) return anchor === anchor.toUpperCase();
  return /^\p{Lu}/u.test(word);
}

export function growPlaceCompounds(text: string, spans: readonly Span[], lowerText = false): Span[] {
  const out: Span[] = [];
  const anchors = spans
    .filter((s) => (s.type === 'CITY' || s.type === 'NAME') && s.confidence >= 0.5)
    .sort((a, b) => a.start - b.start);
  for (let k = 0; k < anchors.length; k++) {
    const a = anchors[k]!;
    const anchorText = text.slice(a.start, a.end);
    if (!/^\p{L}/u.test(anchorText)) continue;
    // In lower-case text a name and a word cannot be told apart: only cities grow there.
    if (lowerText && a.type !== 'CITY') continue;
    const conf = Math.max(0.5, a.confidence - 0.01);
    let start = a.start;
    let end = a.end;
    const pre = /(?:^|[^\p{L}\p{N}])([\p{L}]+)(\.?)[ \t]$/u.exec(text.slice(Math.max(0, a.start - 12), a.start));
    if (pre && PLACE_PREFIX.has(pre[1]!.toLowerCase()) && sameCase(pre[1]!, anchorText, lowerText))
      start = a.start - 1 - pre[2]!.length - pre[1]!.length;
    const suf = /^[ \t]([\p{L}]+)(?![\p{L}\p{N}])/u.exec(text.slice(a.end, a.end + 16));
    if (suf && SUFFIX.has(suf[1]!.toLowerCase()) && sameCase(suf[1]!, anchorText, lowerText))
      end = a.end + suf[0].length;
    const b = anchors[k + 1];
    if (
      b &&
      b.type === a.type &&
      b.start > end &&
      BETWEEN_RE.test(text.slice(end, b.start)) &&
      !/\n/.test(text.slice(end, b.start))
    )
      end = b.end;
    else if (a.type === 'CITY' && !lowerText) {
      const after = AFTER_CITY_RE.exec(text.slice(end, end + 48));
      if (after) end += after[0].length;
    }
    if (start !== a.start || end !== a.end)
      out.push({ start, end, type: a.type, confidence: conf, rule: 'place.compound' });
  }
  return out;
}
