/**
 * The lines of a postal address block below a street that another rule found: an address written over several
 * lines ("728 Robert Center Apt. 671\nDonborough, NL H7K4N4", "Veszprémi utca 56.\nH-5858 bácstótkövesd",
 * "Praça Kaique Monteiro, 37\nVila Copasa\n25391-120 Farias de Costela / DF") leaks whatever part no rule reads
 * (a district code, a lower-case town, a postcode glued to its letters). Up to three lines after the street's line
 * are taken whole while they look like address lines: short (seven words, 48 characters), no label (a colon), no
 * sentence mark (? !), not a sign-off, not two lower-case English words, and not plain English (a line of English words only is taken only
 * when every word is capitalised and there are two or more: "New Haven", not "Chest pain" or "FINDINGS").
 * A blank line ends the block.
 */
import { SAFE_ACRONYMS } from '../lexicon/medical.ts';
import { lexicons } from '../lexicon/names.ts';
import type { Span } from '../types.ts';
import { FUNCTION_WORDS, isEnglishWord } from './names.ts';

const SIGN_OFF = /^(?:(?:kind |best |warm )?regards|best(?: wishes)?|thanks|thank you|cheers|sincerely|yours)\b/i;

export function detectAddressBlocks(text: string, spans: readonly Span[]): Span[] {
  const lex = lexicons();
  const out: Span[] = [];
  const seen = new Set<number>();
  const covered = new Uint8Array(text.length + 1);
  for (const s of spans) covered.fill(1, s.start, s.end);
  for (const a of spans) {
    if (a.type !== 'ADDRESS' || a.confidence < 0.8) continue;
    // The street's own line must end with the finding (a trailing full stop or comma aside).
    let lineEnd = text.indexOf('\n', a.end);
    if (lineEnd < 0 || !/^[ \t.,]*$/.test(text.slice(a.end, lineEnd).replace(/\r$/, ''))) continue;
    for (let n = 0; n < 3; n++) {
      const start = lineEnd + 1;
      if (seen.has(start)) break;
      const next = text.indexOf('\n', start);
      const end = next < 0 ? text.length : next;
      const line = text.slice(start, end).replace(/\r$/, '');
      const body = line.trim().replace(/[.]$/, '');
      if (!addressLine(body, lex)) break;
      seen.add(start);
      // Only the parts no finding covers, each from its first to its last letter or digit: the findings keep
      // their own types ("delmas, mp 35739" stays a city, a state and a ZIP).
      const s0 = start + line.indexOf(body.charAt(0));
      let k = s0;
      while (k < s0 + body.length) {
        while (k < s0 + body.length && (covered[k] === 1 || !/[\p{L}\p{N}]/u.test(text.charAt(k)))) k++;
        let e = k;
        while (e < s0 + body.length && covered[e] !== 1) e++;
        let last = e;
        while (last > k && !/[\p{L}\p{N}]/u.test(text.charAt(last - 1))) last--;
        const part = text.slice(k, last).toLowerCase();
        // A country is not an identifier: "Belgium", "Cyprus (Greek".
        const country = lex.countries.has(part) || lex.countries.has(part.replace(/\s*\(.*$/, ''));
        // Nor function words or a short street word alone between findings: "and", "St.".
        const plain =
          !/\p{N}/u.test(part) &&
          (part.match(/\p{L}+/gu) ?? []).every(
            (w) => FUNCTION_WORDS.has(w) || (w.length <= 3 && lex.streetWords.has(w)),
          );
        if (last > k && !country && !plain)
          out.push({ start: k, end: last, type: 'ADDRESS', confidence: 0.75, rule: 'address.block' });
        k = e;
      }
      if (next < 0) break;
      lineEnd = next;
    }
  }
  return out;
}

function addressLine(body: string, lex: ReturnType<typeof lexicons>): boolean {
  if (body === '' || body.length > 48 || /[:?!]/.test(body) || SIGN_OFF.test(body)) return false;
  const words = body.match(/[\p{L}][\p{L}\p{M}'’-]*/gu) ?? [];
  if (words.length > 7) return false;
  // Prose, not an address: two lower-case English words or more ("He has chest pain since 3 days").
  if (words.filter((w) => /^\p{Ll}/u.test(w) && isEnglishWord(w, lex)).length >= 2) return false;
  if (/\p{N}/u.test(body)) return true;
  if (words.length === 0) return false;
  const plain = words.every(
    (w) =>
      isEnglishWord(w.toLowerCase(), lex) || FUNCTION_WORDS.has(w.toLowerCase()) || SAFE_ACRONYMS.has(w.toUpperCase()),
  );
  if (!plain) return !words.every((w) => SAFE_ACRONYMS.has(w.toUpperCase()));
  return words.length >= 2 && words.every((w) => /^\p{Lu}/u.test(w)) && !words.every((w) => w === w.toUpperCase());
}
