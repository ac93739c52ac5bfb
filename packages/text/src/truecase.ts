/**
 * Text written all in lower case ("have you heard nijito asano speak yet?", "meet me at 2407 tawastintie 6")
 * carries no capitalisation, which the name and place rules key on. For such a text, truecase() writes a copy of
 * the same length with the first letter of each word raised when the word is neither English (wamerican), nor
 * clinical vocabulary (safe-list, clinical word endings), nor a number; single letters between two such words
 * become initials ("eric g. samoylova"), and a US state abbreviation between a comma and a ZIP is raised (", mp 35739"). The rules then run on the copy too, and offsets carry over unchanged.
 */
import { CALENDAR } from './detect/dates.ts';
import { FUNCTION_WORDS, isEnglishWord, MEDICAL_ENDING, SAYING_AFTER, SIGN_OFF_BEFORE } from './detect/names.ts';
import { PLACE_PREFIX } from './detect/place-compounds.ts';
import { LATIN_CLINICAL, SAFE_ACRONYMS, SAFE_PROPER } from './lexicon/medical.ts';
import type { Lexicons } from './lexicon/names.ts';
import type { Token } from './tokens.ts';

/** No capital letter at all but the pronoun "I": the writer did not capitalise. */
export function isLowercaseText(tokens: readonly Token[]): boolean {
  if (tokens.length < 2) return false;
  for (const t of tokens) if ((t.cap || t.allCaps) && t.text !== 'I' && !/^I['’]/.test(t.text)) return false;
  return true;
}

/** Words after which a place is named: where someone lives, comes from or travels to. */
export const PLACE_CUE_BEFORE =
  /(?:^|[^\p{L}])(?:(?:live|lives|living|lived|born|raised|grew\s+up|based|settled|stationed|staying|stuck|arrived|located)\s+in|(?:from|moved\s+(?:here\s+)?(?:to|from)|travell?(?:ed|ing)\s+to|trip\s+to|flew\s+to|returned\s+to|back\s+to|(?:i\s+am|i['’]m|we\s+are|we['’]re)\s+in|city\s+of|town\s+of|village\s+of|near|visiting|visited|(?:weather|office|offices|branch|currently|now)\s+in|(?:city|town|village|municipality|birthplace|place\s+of\s+birth|hometown)\s*:))\s*(?:the\s+)?$/u;

function raisable(t: Token, lex: Lexicons): boolean {
  if (t.text.length < 2 || /[\d'’]/.test(t.text)) return false;
  if (isEnglishWord(t.lower, lex)) return false;
  if (
    SAFE_PROPER.has(t.lower) ||
    SAFE_ACRONYMS.has(t.text.toUpperCase()) ||
    LATIN_CLINICAL.has(t.lower) ||
    MEDICAL_ENDING.test(t.lower)
  )
    return false;
  return true;
}

/** The text with its non-English words capitalised, or undefined when nothing changes. */
export function truecase(text: string, tokens: readonly Token[], lex: Lexicons): string | undefined {
  const raise = tokens.map((t) => raisable(t, lex));
  // After a greeting or an introduction, a known first name is raised even when it is also a word: "hi crystal",
  // "my name is lee", "dear terry", "everyone calls me raven", "good morning marina".
  for (let i = 1; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (raise[i] || FUNCTION_WORDS.has(t.lower) || /\d/.test(t.text)) continue;
    const before = text.slice(Math.max(0, t.start - 24), t.start).toLowerCase();
    // A surname too after a name label: "her maiden name is key", "surname: white".
    if (
      lex.last.has(t.lower) &&
      !lex.first.has(t.lower) &&
      /(?:^|[^\p{L}])(?:(?:last|family|maiden|sur)\s*name(?:\s+is|\s*:)|surname(?:\s+is|\s*:))\s+$/u.test(before)
    ) {
      raise[i] = true;
      continue;
    }
    if (!lex.first.has(t.lower)) continue;
    if (
      /(?:^|[^\p{L}])(?:hi|hello|hey|dear|thanks|named(?:\s+(?:him|her|them))?|called|calls?\s+me|name\s+is|i\s+am|i['’]m|this\s+is|good\s+(?:morning|afternoon|evening|night)|love\s+you|miss\s+you)[,\s]+$/u.test(
        before,
      ) ||
      // "ask peer.", "tell marina to call": a name after ask or tell, then the clause ends or "to" follows.
      (/(?:^|[^\p{L}])(?:ask|tell)\s+$/u.test(before) &&
        /^(?:[ \t]*(?:[,;.!?]|\r?\n|$)|[ \t]+(?:to|if|about|that)\b)/.test(text.slice(t.fullEnd, t.fullEnd + 8)))
    )
      raise[i] = true;
  }
  // A common first name (US frequency) that is also a word, where a person stands: before a verb of saying
  // ("mark said", "grace told me"), on the line after a sign-off ("regards,\nmark"), or as the closing vocative
  // ("thanks, grace!").
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (raise[i] || (lex.first.get(t.lower) ?? 0) < 100 || FUNCTION_WORDS.has(t.lower) || t.text.length < 3) continue;
    const after = text.slice(t.end, t.end + 16);
    const before = text.slice(Math.max(0, t.start - 40), t.start);
    // Not after a determiner: "the mark said", "a frank told".
    if (/(?:^|[^\p{L}])(?:the|a|an|this|that|his|her|my|your|our|their|its|no|any|each|every)\s+$/u.test(before))
      continue;
    if (
      SAYING_AFTER.test(after) ||
      SIGN_OFF_BEFORE.test(before) ||
      (/(?:^|[^\p{L}])(?:thanks|thank\s+you|bye|goodbye|love\s+you|miss\s+you|see\s+you),\s*$/u.test(before) &&
        /^\s*(?:[!.?]|$)/.test(after)) ||
      // A vocative closing a question or an exclamation: "remember me, maria?", "don't go to town, mark!".
      (/,[ \t]*$/.test(before) && /^[ \t]*[!?]/.test(after))
    )
      raise[i] = true;
  }
  // A speaker's label in a dialogue: a known first name starting a line, a colon, then what was said ("destiny:
  // remember me?", "john: you saved my life!"); not a month ("june: ...").
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (raise[i] || !lex.first.has(t.lower) || FUNCTION_WORDS.has(t.lower) || t.text.length < 3) continue;
    if (CALENDAR.has(t.lower)) continue;
    const lineStart = t.start === 0 || /\n[ \t]*$/.test(text.slice(Math.max(0, t.start - 8), t.start));
    if (lineStart && /^:[ \t]+\p{L}/u.test(text.slice(t.end, t.end + 4))) raise[i] = true;
  }
  // After a title, a known first or last name is raised even when it is also a word: "mr. hall", "dr reed",
  // "mrs. brown".
  for (let i = 1; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (raise[i] || FUNCTION_WORDS.has(t.lower) || /\d/.test(t.text) || t.text.length < 2) continue;
    if (!lex.first.has(t.lower) && !lex.last.has(t.lower)) continue;
    const before = text.slice(Math.max(0, t.start - 12), t.start).toLowerCase();
    if (/(?:^|[^\p{L}])(?:mr|mrs|ms|miss|mx|dr|prof|professor|sir|dame|mme|mlle|herr|frau)\.?\s+$/u.test(before))
      raise[i] = true;
  }
  // A raised first name and the known surname right after it: "mark hall", "lena brown", "olga k. white". After a
  // first name that is not an English word, any surname a lexicon knows ("igor reis", "pius hartmann"), or a word
  // that ends the clause or comes before a function word ("susan brink told", "felicia peter.").
  for (let i = 1; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (raise[i] || FUNCTION_WORDS.has(t.lower) || /\d/.test(t.text) || t.text.length < 2) continue;
    let k = i - 1;
    if (tokens[k]!.text.replace(/\.$/, '').length === 1 && k > 0) k--;
    const prev = tokens[k]!;
    if (!raise[k] || !lex.first.has(prev.lower) || !/^[ \t]+(?:\p{L}\.?[ \t]+)?$/u.test(text.slice(prev.end, t.start)))
      continue;
    const weight = lex.last.get(t.lower);
    if (weight !== undefined && weight > 0) raise[i] = true;
    else if (!isEnglishWord(prev.lower, lex) && t.text.length >= 3) {
      if (weight !== undefined) raise[i] = true;
      else if (
        !/(?:ed|ing|ly|s)$/.test(t.lower) &&
        /^(?:[ \t]*(?:[,;.!?)]|\r?\n|$)|[ \t]+(?:by|to|and|at|on|in|for|with|from|or|is|was|will|said|told|has|had|wrote|i)\b)/.test(
          text.slice(t.fullEnd, t.fullEnd + 8),
        )
      )
        raise[i] = true;
    }
  }
  // After a cue of residence or travel, a place the city lexicon holds is raised even when its words are English:
  // "she lives in hart", "we moved here from port o' warren", "returned to mill village".
  for (let i = 0; i < tokens.length; i++) {
    if (raise[i]) continue;
    const before = text.slice(Math.max(0, tokens[i]!.start - 28), tokens[i]!.start);
    if (!PLACE_CUE_BEFORE.test(before)) continue;
    let phrase = '';
    let last = -1;
    for (let k = i; k < Math.min(tokens.length, i + 4); k++) {
      phrase =
        k === i ? tokens[k]!.lower : `${phrase}${text.slice(tokens[k - 1]!.end, tokens[k]!.start)}${tokens[k]!.lower}`;
      if (lex.cities.has(phrase)) last = k;
    }
    // "fort nathanberg", "lake elvie": a place prefix before a word that is raised anyway.
    if (last < 0 && PLACE_PREFIX.has(tokens[i]!.lower) && raise[i + 1]) last = i;
    if (last < 0 || (last === i && (FUNCTION_WORDS.has(tokens[i]!.lower) || tokens[i]!.text.length < 3))) continue;
    for (let k = i; k <= last; k++) if (tokens[k]!.text.length > 1 || k === i) raise[k] = true;
  }
  // A common first name that is also a word, right before a raised surname: "mark samoylova", "grace t. muris";
  // with an initial between them any known first name ("valentine s. yermakov").
  for (let i = tokens.length - 2; i >= 0; i--) {
    const t = tokens[i]!;
    if (raise[i] || !lex.first.has(t.lower) || FUNCTION_WORDS.has(t.lower) || t.text.length < 3) continue;
    let k = i + 1;
    if (tokens[k]!.text.length === 1 && k + 1 < tokens.length) k++;
    if ((lex.first.get(t.lower) ?? 0) < 100 && k === i + 1) continue;
    const s = tokens[k]!;
    // The surname must be a known name or hold a letter outside ASCII: "rose periventricular" stays.
    const surname = lex.last.has(s.lower) || lex.first.has(s.lower) || /[^ -~]/.test(s.text);
    if (raise[k] && surname && s.text.length >= 3 && /^[ \t]+(?:\p{L}\.?[ \t]+)?$/u.test(text.slice(t.end, s.start)))
      raise[i] = true;
  }
  for (let i = 1; i + 1 < tokens.length; i++) {
    if (tokens[i]!.text.length === 1 && raise[i - 1] && raise[i + 1]) raise[i] = true;
  }
  // ", mp 35739": a US state abbreviation before a ZIP is written in capitals.
  const upper = tokens.map(
    (t) =>
      t.text.length === 2 &&
      lex.stateAbbr.has(t.text.toUpperCase()) &&
      /,\s*$/.test(text.slice(Math.max(0, t.start - 3), t.start)) &&
      /^\s+\d{5}(?!\d)/.test(text.slice(t.end, t.end + 7)),
  );
  let out = '';
  let pos = 0;
  let changed = false;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (upper[i]) {
      out += text.slice(pos, t.start) + t.text.toUpperCase();
      pos = t.end;
      changed = true;
      continue;
    }
    if (!raise[i]) continue;
    const first = text.charAt(t.start);
    const up = first.toUpperCase();
    if (up.length !== 1 || up === first) continue; // "ß" would grow; keep offsets exact
    out += text.slice(pos, t.start) + up;
    pos = t.start + 1;
    changed = true;
  }
  return changed ? out + text.slice(pos) : undefined;
}
