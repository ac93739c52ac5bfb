/**
 * Streets whose name another rule found as a name or a place, with the parts beside it that would leak:
 *  - a street word of the lexicon before it ("os. Bochenek", "wyb. Niemczyk", "Bulevardul Aron Pumnul", "Chalet
 *    Gerardo Mata") or after it ("Yunusabad qirg'oqi", "Alkenrather Str.", "Sarıkaya Caddesi");
 *  - the house number after it ("Vestergårdsvej 47", "Chalet Gerardo Mata, 29", "Ahorngasse 42a", "Parvis Aubry
 *    821/2", "Kardi no 92", "Bloc 37") or before it ("84 Voie de Rivoli", "4378 Marginal Barros"): when a street
 *    word stands by, when the number has a letter or a slash (42a, 821/2), or when an address cue comes before.
 * A number followed by a unit or a time word ("Smith 2 days", "Metformin 500 mg") is never taken. The grown span
 * is an ADDRESS, a little more confident than the finding, so the union is typed as a street.
 */
import type { Lexicons } from '../lexicon/names.ts';
import type { Span } from '../types.ts';

const CUE_BEFORE_RE =
  /(?:address(?:\s+is)?|(?:street|residence|domicile|addr)\.?\s*:|lives?|living|resides?|located|ship(?:ped)?|send|sent|deliver(?:ed)?|mail(?:ed)?|return|forward|meet\s+(?:me|you|us)|(?:office|store|shop|house|home|restaurant|place|building|hotel|apartment|flat|caf[eé]|bar|pharmacy|bakery|school|church|clinic)\s+(?:is\s+)?(?:on|at))\b[^.\n]{0,40}$/iu;
const NOT_HOUSE_NUMBER_AFTER_RE =
  /^\s*(?:%|°|x\b|(?:mg|mcg|µg|ug|g|kg|ml|l|cc|mm|cm|m|km|mi|miles?|units?|iu|mmol|meq|years?|yrs?|y\/?o|months?|weeks?|wks?|days?|hours?|hrs?|h|minutes?|mins?|seconds?|secs?|times?|am|pm|a\.m\.|p\.m\.|o['’]clock|percent|points?|beds?|patients?|people|persons?)\b)/iu;
const NUMBER_AFTER_RE =
  /^(?:[ \t]*,)?[ \t]+(?:(?:no\.?|nr\.?|n[º°]|#|bloc|blok|block)[ \t]*)?(\d{1,5}(?:[a-zA-Z](?![\p{L}]))?(?:\/\d{1,4})?|s\/n\.?)(?![\p{N}\p{L}]|[/.:-]\d)/iu;
const NUMBER_BEFORE_RE = /(?<![\p{L}\p{N}.,:-])(\d{1,5}[a-zA-Z]?)[ \t]+((?:\p{Lu}[\p{L}'’-]*[ \t]+){0,2})$/u;

/** English street words that are taken; other English words of the street lists ("key", "end", "top") are not. */
const ENGLISH_STREET = new Set(
  'st rd ave av blvd ln dr ct pl sq hwy way row road street avenue lane drive court place square boulevard highway terrace crescent close parkway'.split(
    ' ',
  ),
);

function streetWord(word: string, lex: Lexicons): boolean {
  const w = word.toLowerCase().replace(/\.$/, '');
  if (w.length < 2 || !lex.streetWords.has(w) || /^(?:jr|sr|gen)$/.test(w)) return false;
  return ENGLISH_STREET.has(w) || !lex.words.has(w);
}

export function growStreetParts(text: string, spans: readonly Span[], lex: Lexicons): Span[] {
  const out: Span[] = [];
  for (const a of spans) {
    if (!(a.type === 'NAME' || a.type === 'CITY' || a.type === 'ADDRESS') || a.confidence < 0.5) continue;
    let start = a.start;
    let end = a.end;
    let street = a.type === 'ADDRESS';
    // A street word before: "os. Bochenek", "Bulevardul Aron Pumnul".
    const pre = /(?:^|[^\p{L}\p{N}])([\p{L}][\p{L}'’-]*\.?)[ \t]+$/u.exec(text.slice(Math.max(0, start - 16), start));
    if (pre && streetWord(pre[1]!, lex) && !/\n/.test(pre[0])) {
      start -= pre[0].length - (/^[\p{L}]/u.test(pre[0]) ? 0 : 1);
      street = true;
    }
    // A street word after: "Yunusabad qirg'oqi", "Alkenrather Str.".
    // Only as the street's last word: "ul. Miła" after "Hanne and" starts another street. A dot is taken after an
    // abbreviation only ("Str.", not "street.").
    const post = /^[ \t]+([\p{L}][\p{L}'’-]*)(?![\p{L}'’-])(\.?)(?![ \t]+\p{Lu})/u.exec(text.slice(end, end + 24));
    if (post && streetWord(post[1]!, lex)) {
      if (post[2] && post[1]!.length > 4 && !/str$/i.test(post[1]!)) post[0] = post[0].slice(0, -1);
      end += post[0].length;
      street = true;
    }
    const cue = CUE_BEFORE_RE.test(text.slice(Math.max(0, start - 48), start));
    // The house number after.
    const num = NUMBER_AFTER_RE.exec(text.slice(end, end + 24));
    if (num && !NOT_HOUSE_NUMBER_AFTER_RE.test(text.slice(end + num[0].length, end + num[0].length + 16))) {
      // A letter after the number ("42a") or a label ("Bloc 37", "no 92") shapes a house number; a slash alone
      // does not ("03/04" is a date).
      const shaped = /^\d+[a-zA-Z]$|^s\/n/i.test(num[1]!) || /bloc|blok|block|no|nr|n[º°]|#/i.test(num[0]);
      if (street || shaped || cue) {
        end += num[0].length;
        street = true;
      }
    }
    // The house number before, with up to two capitalised words between: "4378 Marginal Barros".
    const before = NUMBER_BEFORE_RE.exec(text.slice(Math.max(0, start - 40), start));
    if (before && (street || cue) && !/\n/.test(before[0])) {
      start -= before[0].length;
      street = true;
    }
    if (start !== a.start || end !== a.end)
      out.push({
        start,
        end,
        type: street ? 'ADDRESS' : a.type,
        confidence: Math.min(0.95, a.confidence + 0.01),
        rule: 'address.parts',
      });
  }
  return out;
}
