/**
 * Person names, by layered evidence on each word, then on runs of words:
 *   1. cues: a title before (Dr., Mrs., Prof.), a context phrase before ("seen by", "my name is", "patient"), a
 *      suffix after (MD, RN, Jr.): the words they touch are a name whatever they look like;
 *   2. lexicons: first and last names (weighted by frequency) that are not also common English words;
 *   3. shape: a capitalised word that is neither an English word nor clinical vocabulary, mid-sentence, is a
 *      proper noun (names from every locale the lexicons lack); the places detector types city and street names;
 *   4. runs: initials ("J.", "J"), particles (van, de, ten, bin) and possessives join the words around them;
 *      a run with a known first name and another name-like word is a name.
 * The safe-list (lexicon/medical.ts) keeps eponyms used as eponyms ("Parkinson's disease"), drugs before a dose
 * and clinical acronyms out, unless a cue says otherwise ("Dr. Parkinson").
 */

import { EPONYM_HEADS, LATIN_CLINICAL, SAFE_ACRONYMS, SAFE_PROPER, UNITS_RE } from '../lexicon/medical.ts';
import { type Lexicons, lexicons } from '../lexicon/names.ts';
import type { Token } from '../tokens.ts';
import type { Span } from '../types.ts';
import { CALENDAR } from './dates.ts';
import { LineIndex } from './line-index.ts';

export const TITLES = new Set(
  'dr doctor mr mrs ms miss mx prof professor sir dame lady lord nurse rev reverend fr father sister brother capt captain sgt lt col gen hon judge pt patient mme mlle herr frau sr sra srta dott officer constable detective det inspector insp sergeant sheriff deputy senator sen congressman congresswoman councillor councilman councilwoman governor gov mayor president coach rabbi pastor imam bishop midwife'.split(
    ' ',
  ),
);
const STRONG_TITLES = new Set(
  'dr doctor mr mrs ms miss mx prof professor sir dame nurse rev mme mlle herr frau dott'.split(' '),
);
export const SUFFIXES = new Set(
  'md m.d do rn np pa pa-c phd dds dmd jr sr ii iii iv mbbs frcr frcp facr lpn crna esq'.split(' '),
);
const PARTICLES = new Set(
  'van von der den de del della di da dos das du le la ten ter bin ibn al el mac mc st y e'.split(' '),
);

/**
 * Cue phrases after which the next words are a person's name even when they are English words (lowercased; matched
 * on the words before a run): name labels, signatures, verbs of naming, clinicians' roles, a salutation.
 */
const STRONG_CUE_PHRASES: readonly string[] = [
  'my name is',
  'name is',
  'name',
  'surname',
  'signed',
  'card holder',
  'cardholder',
  'account holder',
  'on behalf of',
  'belongs to',
  'last name',
  'first name',
  'family name',
  'given name',
  'maiden name',
  'full name',
  'forename',
  'named',
  'called',
  'call me',
  'calls me',
  'patient',
  'pt',
  'seen by',
  'examined by',
  'referred by',
  'dictated by',
  'signed by',
  'reviewed by',
  'read by',
  'reported by',
  'transcribed by',
  'verified by',
  'approved by',
  'dear',
];
const STRONG_CUES = new Set(STRONG_CUE_PHRASES);

/**
 * Phrases after which the next words are a person's name (lowercased; matched on the words before a run): the strong
 * cues first (the first phrase that matches before a word is the one read), then weaker ones.
 */
const CUE_PHRASES: readonly string[][] = [
  ...STRONG_CUE_PHRASES,
  'i am',
  "i'm",
  'im',
  'this is',
  'attending',
  'resident',
  'physician',
  'surgeon',
  'radiologist',
  'pcp',
  'hi',
  'hello',
  'hey',
  'thanks',
  'thank you',
  'good morning',
  'good afternoon',
  'good evening',
  'good night',
  'love you',
  'miss you',
  'regards',
  'sincerely',
  'cc',
  'mother',
  'father',
  'wife',
  'husband',
  'son',
  'daughter',
  'brother',
  'sister',
  'spouse',
  'partner',
  'friend',
  'guardian',
  'contact',
  'emergency contact',
  'next of kin',
  'mrs',
  'mr',
  'ms',
  'meet',
  'met',
  'with',
  'by',
  'to',
  'from',
  'and',
  'for',
  'says',
  'said',
  'told',
  'asked',
  'ask',
  'mr.',
].map((p) => p.split(' '));
interface Word {
  tok: Token;
  /** evidence the word is part of a name, 0..1 */
  score: number;
  /** can sit inside a run without evidence of its own: initials, particles */
  joiner: boolean;
  safe: boolean;
  firstName: boolean;
}

/** A room, bed or ward number beside a word ("Ward 5B", "Bed 12", "Room 1204", "4 West"): up to four digits and a
 * letter, not the first group of a longer number (a phone, a date, a decimal). */
const ROOM_NUMBER_AFTER = /^\s+\d{1,4}[A-Za-z]?(?![\d\-./:]|\s\d|[A-Za-z])/;
const ROOM_NUMBER_BEFORE = /(?<![\d\-./:]|\d\s)\d{1,4}[A-Za-z]?\s+$/;

/** A first name, and when it is also an English word ("maria", "john", "grace") a common one. */
function commonFirstName(lower: string, lex: Lexicons): boolean {
  const f = lex.first.get(lower);
  return f !== undefined && (f >= 400 || !lex.words.has(lower));
}

function isSafe(tokens: readonly Token[], i: number, text: string, lex: Lexicons): boolean {
  const t = tokens[i]!;
  if (t.allCaps && SAFE_ACRONYMS.has(t.text.toUpperCase())) return true;
  const next = tokens[i + 1];
  const gapToNext = next ? text.slice(t.fullEnd, next.start) : '';
  // An eponym right after a known first name is that person's surname: "Christina Sjögren", "Anna Graves",
  // "Maria Hartmann" (a first name that is also an English word counts when it is a common one).
  const prev = tokens[i - 1];
  const afterFirstName =
    SAFE_PROPER.has(t.lower) &&
    t.cap &&
    prev?.cap === true &&
    commonFirstName(prev.lower, lex) &&
    /^[ \t]$/.test(text.slice(prev.fullEnd, t.start));
  // Eponym used as one: "Parkinson's disease", "Graves' disease", "Colles fracture", "Glasgow Coma Scale".
  // Not when the head is a verb ("Can Henrie Theunissen sign for the package?", "Lee tests the fix"), unless the
  // word is a known eponym not after a first name ("Can Pius Hartmann sign for the package?" is a person).
  if (
    t.cap &&
    next &&
    /^['’]?\s*$/.test(gapToNext) &&
    EPONYM_HEADS.has(next.lower) &&
    !(
      VERB_HEADS.has(next.lower) &&
      (!SAFE_PROPER.has(t.lower) || afterFirstName) &&
      /^[ \t]+(?:for|the|a|an|off|here|it|this|that|his|her|my|your|their|our|me|him|them|us)\b/i.test(
        text.slice(next.fullEnd, next.fullEnd + 7),
      )
    )
  )
    return true;
  // The first word of a two-word eponym ("Glasgow Coma Scale", "Non Hodgkin lymphoma"), unless it is a first name
  // and the eponym its surname ("Can Pius Hartmann sign for the package?").
  if (t.cap && next && /^['’]?\s*$/.test(gapToNext) && !(next.cap && commonFirstName(t.lower, lex))) {
    const after = tokens[i + 2];
    if (after && EPONYM_HEADS.has(after.lower) && (next.lower === 'coma' || SAFE_PROPER.has(next.lower))) return true;
  }
  if (afterFirstName) return false;
  if (SAFE_PROPER.has(t.lower)) {
    // Common surnames among the eponyms (Jones, Smith, Murphy) are names unless used as an eponym (above).
    const w = lex.last.get(t.lower) ?? -1;
    const f = lex.first.get(t.lower) ?? -1;
    if (w <= 0 && f <= 0) return true;
  }
  // A Latin or lab word of the safe-list, capitalised at a sentence or heading start ("Spiculated mass",
  // "Troponin 0.02"), when no capitalised word follows it (a name's run: "Carina Lopez").
  if (t.cap && t.text.length >= 5 && LATIN_CLINICAL.has(t.lower) && !(next?.cap && /^[ \t]+$/.test(gapToNext)))
    return true;
  // A capitalised word before a dose is a drug: "Metformin 500 mg".
  if (t.cap && UNITS_RE.test(text.slice(t.fullEnd, t.fullEnd + 32))) return true;
  return false;
}

/** Field labels of forms and headers, never a speaker ("Street: ...", "Town: ..."). */
const FIELD_LABELS = new Set(
  'street town city county state country residence address name surname phone mobile fax desk email website date time subject note notes comment comments status title position office unit ward room bed location'.split(
    ' ',
  ),
);

/** Eponym heads that are also verbs: "sign for", "tests the". */
const VERB_HEADS = new Set([
  'sign',
  'signs',
  'test',
  'tests',
  'repair',
  'repairs',
  'score',
  'scores',
  'grade',
  'grades',
]);

export const MEDICAL_ENDING =
  /(?:itis|osis|omas?|a?emia|ectomy|ostomy|otomy|plasty|scopy|graphy|gram|pathy|algia|plegia|trophy|megaly|[a-z]{4}ium|[a-z]{5}(?:um|al|ous|ary)|azole|mab|nib|pril|sartan|olol|statin|cillin|mycin|cycline|floxacin|azepam|oxetine|prazole|tidine|dipine)$/;

/** isEnglishWord's answers, by word (the rules ask about the same words many times per text). */
const englishMemo = new Map<string, boolean>();

export function isEnglishWord(lower: string, lex: Lexicons): boolean {
  let r = englishMemo.get(lower);
  if (r === undefined) {
    r = englishUncached(lower, lex);
    if (englishMemo.size > 50_000) englishMemo.clear();
    englishMemo.set(lower, r);
  }
  return r;
}

function englishUncached(lower: string, lex: Lexicons): boolean {
  if (lex.words.has(lower)) return true;
  // Contractions and plurals: we'll, don't, I'm, patients.
  // "weren't", "didn't": the negation off first (else "weren'" stays, and "weren" is no word).
  const base = /n['’]t$/.test(lower) ? lower.replace(/n['’]t$/, '') : lower.replace(/['’](?:ll|re|ve|d|m|s|t)$/, '');
  if (lower.includes('-') && lower.split('-').every((p) => p.length <= 1 || lex.words.has(p))) return true;
  if (
    base !== lower &&
    (lex.words.has(base) || base === 'i' || base === 'ca' || base === 'wo' || base === 'sha' || base === 'ai')
  )
    return true;
  return lower.endsWith('s') && lex.words.has(lower.slice(0, -1));
}

function wordEvidence(
  t: Token,
  lex: Lexicons,
  nextText: string,
  prevText: string,
): { score: number; firstName: boolean } {
  if (CALENDAR.has(t.lower) || lex.countries.has(t.lower)) return { score: 0, firstName: false };
  const f = lex.first.get(t.lower);
  const l = lex.last.get(t.lower);
  const isWord = isEnglishWord(t.lower, lex);
  const inLex = f !== undefined || l !== undefined;
  const letters = t.text.replace(/[^\p{L}]/gu, '').length;
  const firstName = f !== undefined && !isWord;
  if (t.initial) return { score: 0, firstName: false };
  // Digits or capitals inside a word (HbA1c, CTDIvol, pH) are lab and device terms, not names (McDonald is).
  if (
    /\d/.test(t.text) ||
    (!t.allCaps &&
      /^.\p{Ll}*\p{Lu}/u.test(t.text) &&
      !/^(?:Mc|Mac|O'|O’|D'|D’|De|Di|Da|Du|Van|Von|La|Le)\p{Lu}/u.test(t.text))
  ) {
    return { score: 0, firstName: false };
  }
  if (t.cap || t.allCaps) {
    // Short capitals are acronyms (IBAN, ASAP) unless they are names.
    if (t.allCaps && letters <= 4 && !inLex) return { score: 0, firstName: false };
    if (inLex && !isWord) return { score: t.sentenceStart ? 0.8 : 0.9, firstName };
    // Two-letter words are abbreviations (Lt, Rt, Cr, Dx) unless a lexicon says otherwise.
    if (letters <= 2 && !inLex) return { score: 0, firstName: false };
    if (inLex && isWord) {
      // "Ward 5B", "Bed 12", "4 West": a word next to a number labels a place in the hospital.
      // A short number only: a phone number after a name ("John Smith 617-555-0199") labels nothing.
      if (ROOM_NUMBER_AFTER.test(nextText) || ROOM_NUMBER_BEFORE.test(prevText)) return { score: 0, firstName: false };
      const weight = Math.max(f ?? 0, l ?? 0);
      if (t.sentenceStart) return { score: 0.25, firstName: false };
      return { score: weight >= 300 ? 0.55 : 0.4, firstName: false };
    }
    if (!isWord && letters >= 2) {
      // A word no name list holds starting a line, with a colon after it and the ending of a plural or abstract
      // noun, is a field label ("Attendees:", "Comorbidities:"); a speaker's name in a dialogue is kept ("Ubul:").
      if (t.sentenceStart && /^[ \t]*:/.test(nextText) && LABEL_NOUN.test(t.lower))
        return { score: 0, firstName: false };
      // Clinical words missing from the English list ("Coronal", "Mediastinum", "Cholecystitis") by their endings.
      if (t.sentenceStart && !t.allCaps && MEDICAL_ENDING.test(t.lower)) return { score: 0.3, firstName: false };
      // At a sentence start an unknown capitalised word may be a clinical term ("Diuresed"): weaker, still kept
      // (lowering it under the threshold cost 3 points of recall on the evaluation corpus).
      return { score: t.sentenceStart ? 0.55 : 0.7, firstName: false };
    }
    return { score: 0, firstName: false };
  }
  if (inLex && !isWord && letters >= 3 && !LATIN_CLINICAL.has(t.lower) && !SAFE_ACRONYMS.has(t.text.toUpperCase()))
    return { score: 0.55, firstName };
  // A lowercase word no lexicon holds but shaped as a surname of its language ("samoylova", "kishiev",
  // "papadopoulos", "johannsen"), neither English nor clinical.
  if (
    !inLex &&
    !isWord &&
    letters >= 5 &&
    /^\p{Ll}+$/u.test(t.text) &&
    SURNAME_SHAPE.test(t.lower) &&
    !LATIN_CLINICAL.has(t.lower) &&
    !MEDICAL_ENDING.test(t.lower)
  )
    return { score: 0.55, firstName: false };
  return { score: 0, firstName: false };
}

/** A surname with a lower-case particle joined to it: "al-Hassan", "el-Amin", "bin-Salem", "d'Artagnan". */
const PARTICLE_PREFIXED = /^(?:al|el|ul|as|ad|bin|ibn|abu|bint|ben|d)[-'’]\p{Lu}/u;

/** Endings of plural and abstract nouns that field labels have and names do not ("attendees", "comorbidities"). */
const LABEL_NOUN = /(?:ees|ities|ions|ments|ness|ships|ances|ences)$/;

/** A short word in capitals that reads as a word: consonants and vowels alternating ("UBUL", "YACO", "ANA"). */
const PRONOUNCEABLE = /^(?:[B-DF-HJ-NP-TV-Z]?[AEIOUY])+[B-DF-HJ-NP-TV-Z]?$/;

/** Surname endings of many languages (Slavic, Nordic, Greek, Romanian, Baltic, Armenian, Georgian, German, Turkish). */
const SURNAME_SHAPE =
  /(?:ova|eva|ovna|evna|ovich|evich|ovi[cć]|evi[cć]|enko|chuk|czyk|czak|ski|ska|sky|skaya|skiy|wicz|sson|d[oó]ttir|poulos|poulou|akis|idis|iadis|escu|eanu|shvili|adze|idze|yan|yev|yeva|ov|ev|aitis|aite|ienė|ytė|mann|stein|berg|baum|feld|gaard|gård|sen|o[gğ]lu|ić)$/;

/** Cue phrases by their last word. */
const CUES_BY_LAST = new Map<string, string[][]>();
for (const p of CUE_PHRASES) {
  const last = p[p.length - 1]!.replace(/\.$/, '').replace(/['’]/g, '');
  CUES_BY_LAST.set(last, [...(CUES_BY_LAST.get(last) ?? []), p]);
}

/** The cue phrase that ends right before token i, if any. */
function cueBefore(tokens: readonly Token[], i: number, text: string): string | undefined {
  const prev = tokens[i - 1];
  if (prev === undefined) return undefined;
  const candidates = CUES_BY_LAST.get(prev.lower.replace(/['’]/g, ''));
  if (candidates === undefined) return undefined;
  for (const phrase of candidates) {
    const n = phrase.length;
    if (i - n < 0) continue;
    let ok = true;
    for (let k = 0; k < n; k++) {
      const tk = tokens[i - n + k]!;
      const p = phrase[k]!.replace(/\.$/, '');
      if (tk.lower !== p && tk.lower.replace(/['’]/g, '') !== p.replace(/['’]/g, '')) {
        ok = false;
        break;
      }
    }
    if (!ok) continue;
    const gap = text.slice(tokens[i - 1]!.fullEnd, tokens[i]!.start);
    if (/\n/.test(gap) || gap.length > 4) continue;
    return phrase.join(' ');
  }
  return undefined;
}

/** The last words of the greetings and labels after which a lower-case known name is a name. */
const GREETING_LAST = new Set([
  'name',
  'is',
  'said',
  'says',
  'told',
  'asked',
  'ask',
  'hi',
  'hello',
  'hey',
  'thanks',
  'cc',
  'dear',
]);

/** Cues of a person's role, a greeting or a sign-off: a lowercase foreign word after them is a name. */
const ROLE_CUES = new Set(
  'name said says told asked ask hi hello hey thanks cc dear regards sincerely mother father wife husband son daughter brother sister spouse partner friend guardian contact'.split(
    ' ',
  ),
);
for (const c of ['thank you', 'emergency contact', 'next of kin']) ROLE_CUES.add(c);

/** Cues that only a person follows (unlike "with", "to", "and"). */
const PERSON_CUES = new Set(['name', 'said', 'says', 'told', 'asked', 'ask', 'hi', 'hello', 'hey', 'thanks', 'cc']);

const personCue = (cue: string | undefined): boolean =>
  cue !== undefined && (STRONG_CUES.has(cue) || PERSON_CUES.has(cue));

/** Verbs of saying, writing or thinking after a name. */
export const SAYING_AFTER =
  /^['’]?\s+(?:said|says|told|tells|asked|asks|replied|answered|wrote|writes|explained|mentioned|reported|thinks|thought|believes|wants|wanted|noted|added|called|emailed|texted|agreed|suggested)\b/;
/** What follows a person as a sentence's subject or vocative (after a capitalised name at the sentence start). */
const SUBJECT_AFTER =
  /^(?:,\s+(?:can|could|would|will|please|i|you|we|do|did|are|is)\b|\s+\((?:the\s+)?(?:patient|pt|son|daughter|wife|husband|mother|father|brother|sister|friend|partner|nurse|doctor|dr)\b|\s+(?:is|was|lives|lived|spent|lists|listed|says|said|has|had|works|worked|went|came|will|would|can|could|should|must|called|asked|wants|wanted|needs|needed|knows|knew|left|arrived|agreed|did|does)\b)/;
/** A sign-off line ending right before a word: the writer's name follows. */
export const SIGN_OFF_BEFORE =
  /(?:^|\n)[ \t]*(?:(?:kind |best |warm |with )?regards|best(?: wishes)?|thanks|thank you|many thanks|cheers|sincerely|yours(?: truly| sincerely)?|cordially|love),?[ \t]*\n[ \t]*$/i;
/** Function words that the surname lists also hold (Will, May, Said): never a lowercase surname. */
export const FUNCTION_WORDS = new Set(
  'will may can must shall would could should might did does has had was were are is be been being get got said says told asked went came see saw call called lives live and or but to from with for in on at by of the this that then than who what when where why how not no yes'.split(
    ' ',
  ),
);

/** Endings of English nouns of a role, a rank or a service ("manager", "director", "consultant", "services", "general"). */
const ROLE_NOUN = /(?:er|or|ar|ant|ent|ist|ian|ices|ion|ment|ary|al)$/;
/** Titles that only a person's name follows, never a role ("Mr Royal"). */
const HONORIFICS = new Set('mr mrs ms miss mx mme mlle herr frau sir dame lady lord sr sra srta'.split(' '));

/** Common words that follow a name without being its surname ("Call Susan back.", "TELL MARIA THANKS."). */
const NOT_SURNAME = new Set(
  'thanks thank hello hi hey please sorry bye goodbye again today tonight tomorrow yesterday now later soon too also here there first then once already still just only even ever never always really very much more most less some any all each every both either neither another other such own same so as if because while until about after before over under up down out off into onto upon back home away inside outside together alone instead'.split(
    ' ',
  ),
);

/**
 * A word in a surname's slot: right after a first name, an English word that no surname list holds but that ends
 * a clause or comes before a function word ("ASK SUSAN BRINK TO CALL", "SUSAN BRINK, THE CONTACT"), and is not a
 * verb or adverb by its ending nor a word that follows names ("BACK", "TODAY"). Used in lines written in capitals,
 * where an English word otherwise ends a name.
 */
function surnameSlot(b: Token, text: string): boolean {
  return (
    b.text.length >= 3 &&
    !FUNCTION_WORDS.has(b.lower) &&
    !NOT_SURNAME.has(b.lower) &&
    !CALENDAR.has(b.lower) &&
    !/(?:ed|ing|ly|s)$/.test(b.lower) &&
    /^(?:[ \t]*(?:[,;.!?)]|\r?\n|$)|[ \t]+(?:by|to|and|at|on|in|for|with|from|or|is|was|will|said|has|had|about|as)\b)/i.test(
      text.slice(b.fullEnd, b.fullEnd + 8),
    )
  );
}

export function detectNames(text: string, tokens: readonly Token[]): Span[] {
  const lex = lexicons();
  /** The text is a contact card: a title alone on a line, or a phone, mobile, fax or e-mail label. */
  let card: boolean | undefined;
  const contactCard = (): boolean =>
    (card ??=
      /\n[ \t]*(?:\?{3}[ \t]*)?(?:mr|mrs|ms|miss|dr|mx)\.?[ \t]*(?:\r?\n|$)/i.test(text) ||
      /^[ \t]*(?:\?{3}[ \t]*)?(?:phone|mobile|cell|desk|fax|e-?mail|tel)\b/im.test(text));
  // The first line of a contact card: one to three words, each a name a lexicon knows or not English.
  const firstLineEnd = text.indexOf('\n') < 0 ? -1 : text.indexOf('\n');
  let cardLineOk: boolean | undefined;
  const cardLine = (): boolean => {
    if (cardLineOk !== undefined) return cardLineOk;
    const line = tokens.filter((t) => t.end <= firstLineEnd);
    cardLineOk =
      firstLineEnd > 0 &&
      /^[ \t]*(?:\?{3}[ \t]*)?[\p{L}][\p{L}\p{M}'’. -]*$/u.test(text.slice(0, firstLineEnd).replace(/\r$/, '')) &&
      line.length >= 1 &&
      line.length <= 3 &&
      contactCard() &&
      line.every(
        (t) =>
          t.text.length >= 2 &&
          !FUNCTION_WORDS.has(t.lower) &&
          !CALENDAR.has(t.lower) &&
          !FIELD_LABELS.has(t.lower) &&
          !SAFE_ACRONYMS.has(t.text.toUpperCase()) &&
          (lex.first.has(t.lower) || lex.last.has(t.lower) || !isEnglishWord(t.lower, lex)),
      );
    return cardLineOk;
  };
  const words: Word[] = tokens.map((tok, i) => {
    const safe = isSafe(tokens, i, text, lex);
    let ev = safe
      ? { score: 0, firstName: false }
      : wordEvidence(
          tok,
          lex,
          text.slice(tok.fullEnd, tok.fullEnd + 12),
          text.slice(Math.max(0, tok.start - 12), tok.start),
        );
    // A speaker at the start of a line ("John: You saved my life"): a known name there is a name.
    if (
      !safe &&
      ev.score < 0.7 &&
      tok.cap &&
      tok.sentenceStart &&
      text.charAt(tok.fullEnd) === ':' &&
      !FIELD_LABELS.has(tok.lower) &&
      (lex.first.has(tok.lower) || lex.last.has(tok.lower))
    ) {
      ev = { score: 0.75, firstName: lex.first.has(tok.lower) };
    }
    // A known name before a verb of saying or thinking: "Maria said", "Crystal thinks", "Lee wrote".
    if (
      !safe &&
      ev.score < 0.7 &&
      (tok.cap || tok.allCaps) &&
      SAYING_AFTER.test(text.slice(tok.fullEnd, tok.fullEnd + 16)) &&
      (lex.first.has(tok.lower) || lex.last.has(tok.lower))
    ) {
      ev = { score: 0.75, firstName: lex.first.has(tok.lower) };
    }
    // A common name that is also a word, as the subject or the person addressed at the start of a sentence:
    // "Bowman is from Thinknum", "Graves, can I speak to your boss?" (not a possessive: "Baker's cyst").
    if (
      !safe &&
      ev.score < 0.6 &&
      tok.cap &&
      (!tok.allCaps || !SAFE_ACRONYMS.has(tok.text)) &&
      tok.sentenceStart &&
      !FUNCTION_WORDS.has(tok.lower) &&
      !CALENDAR.has(tok.lower) &&
      Math.max(lex.first.get(tok.lower) ?? 0, lex.last.get(tok.lower) ?? 0) >= 250 &&
      SUBJECT_AFTER.test(text.slice(tok.end, tok.end + 14))
    ) {
      ev = { score: 0.7, firstName: lex.first.has(tok.lower) };
    }
    // A first name that is also a word, as a possessive at the sentence start: "Maria's killers" (first names
    // only: eponyms are surnames, "Baker's cyst").
    if (
      !safe &&
      ev.score < 0.6 &&
      tok.cap &&
      (!tok.allCaps || !SAFE_ACRONYMS.has(tok.text)) &&
      tok.sentenceStart &&
      (lex.first.get(tok.lower) ?? 0) >= 500 &&
      !FUNCTION_WORDS.has(tok.lower) &&
      /^['’]s\s+\p{Ll}/u.test(text.slice(tok.end, tok.end + 4))
    ) {
      ev = { score: 0.7, firstName: true };
    }
    // The line after a sign-off ("Regards,\nMark", "Best,\nKey Smith"): a known name there is the writer.
    if (
      !safe &&
      ev.score < 0.6 &&
      (tok.cap || tok.allCaps) &&
      (lex.first.has(tok.lower) || lex.last.has(tok.lower)) &&
      !FUNCTION_WORDS.has(tok.lower) &&
      text.slice(Math.max(0, tok.start - 4), tok.start).includes('\n') &&
      SIGN_OFF_BEFORE.test(text.slice(Math.max(0, tok.start - 24), tok.start))
    ) {
      ev = { score: 0.75, firstName: lex.first.has(tok.lower) };
    }
    // A name alone on the first line of a block (a signature or a contact card): "White\nLeasing consultant".
    const lineStart = () =>
      tok.start === 0 || /\n[ \t]*(?:\?{3}[ \t]*)?$/.test(text.slice(Math.max(0, tok.start - 8), tok.start));
    if (
      !safe &&
      ev.score < 0.6 &&
      tok.cap &&
      !tok.allCaps &&
      tok.start <= 8 &&
      text.slice(0, tok.start).trim().length <= 4 &&
      /^[ \t]*\n/.test(text.slice(tok.end, tok.end + 8)) &&
      lineStart() &&
      Math.max(lex.first.get(tok.lower) ?? 0, lex.last.get(tok.lower) ?? 0) > 0 &&
      !FUNCTION_WORDS.has(tok.lower) &&
      !CALENDAR.has(tok.lower)
    ) {
      ev = { score: 0.7, firstName: lex.first.has(tok.lower) };
    }
    // The same in any case, when the block is a contact card (a title or a job on its own line, a phone or
    // e-mail label): "UBUL\nMrs.\nAllianz", "nijito asano\nOnvia\nMobile: ..." (one to three words).
    if ((!safe || SAFE_PROPER.has(tok.lower)) && ev.score < 0.6 && tok.start < firstLineEnd && cardLine()) {
      ev = { score: 0.7, firstName: lex.first.has(tok.lower) };
    }
    // A speaker written in lower case at the start of a line: "samoylova: What a wife."
    if (
      !safe &&
      ev.score < 0.6 &&
      !tok.cap &&
      text.charCodeAt(tok.end) === 58 && // ':'
      tok.text.length >= 4 &&
      /^:[ \t]+\p{Lu}/u.test(text.slice(tok.end, tok.end + 3)) &&
      /^\p{Ll}+$/u.test(tok.text) &&
      lineStart() &&
      !isEnglishWord(tok.lower, lex) &&
      !MEDICAL_ENDING.test(tok.lower) &&
      !SAFE_ACRONYMS.has(tok.text.toUpperCase())
    ) {
      ev = { score: 0.7, firstName: false };
    }
    const joiner = tok.initial || PARTICLES.has(tok.lower);
    return { tok, score: ev.score, joiner, safe, firstName: ev.firstName };
  });
  // Short capitalised words of a name ("Phước An Phùng", "Lệ Quyên Vũ"): a word of one to three letters, capitalised
  // (not in capitals; at a sentence start only with a letter outside ASCII), before a capitalised word with evidence,
  // joins the name when a capitalised word with evidence stands before it too, and starts one when it has a letter
  // outside ASCII.
  const single = (a: Token, b: Token) => /^[ \t]$/.test(text.slice(a.fullEnd, b.start));
  for (let k = 0; k < words.length; k++) {
    const w = words[k]!;
    const t = w.tok;
    const ascii = !/[^ -~]/.test(t.text);
    if (w.score > 0 || w.joiner || w.safe || !t.cap || t.allCaps || (t.sentenceStart && ascii)) continue;
    if (t.text.replace(/[^\p{L}]/gu, '').length > 3) continue;
    const next = words[k + 1];
    if (next === undefined || !next.tok.cap || next.score <= 0 || next.safe || !single(t, next.tok)) continue;
    const prev = words[k - 1];
    if (prev?.tok.cap && prev.score > 0 && single(prev.tok, t)) w.joiner = true;
    else if (!ascii) w.score = 0.5;
  }
  /**
   * The line holding a position is a sentence in capitals: no lower-case letter, five words or more. Read once per
   * line (by its start): asked for each word of a long line, reading the line each time was quadratic.
   */
  const lines = new LineIndex(text);
  const capsLine = (pos: number): boolean =>
    lines.lineIs('caps sentence', pos, (line) => !/\p{Ll}/u.test(line) && (line.match(/\p{L}+/gu) ?? []).length >= 5);
  // Mixed-case text (all-lowercase text is read truecased elsewhere).
  const mixed = /\p{Lu}/u.test(text) && /\p{Ll}/u.test(text);
  /**
   * How many lowercase words the text has and how many of them are English, counted in one pass on first use: over
   * all of them, and over the words of prose only (not the parts of a web address, e-mail or file name: beside
   * @ / \\ _, or a dot or colon inside a word).
   */
  type Count = { n: number; en: number };
  let lowerWords: { all: Count; prose: Count } | undefined;
  const countLowerWords = (): { all: Count; prose: Count } => {
    if (lowerWords === undefined) {
      const all = { n: 0, en: 0 };
      const prose = { n: 0, en: 0 };
      for (const t of tokens) {
        if (t.cap || t.allCaps || t.text.length < 2) continue;
        const en = isEnglishWord(t.lower, lex) || FUNCTION_WORDS.has(t.lower) ? 1 : 0;
        all.n++;
        all.en += en;
        if (/^(?:[@/\\_]|[.:][\p{L}\p{N}/])/u.test(text.slice(t.end, t.end + 2))) continue;
        if (/(?:[@/\\_]|[\p{L}\p{N}][.:])$/u.test(text.slice(Math.max(0, t.start - 2), t.start))) continue;
        prose.n++;
        prose.en += en;
      }
      lowerWords = { all, prose };
    }
    return lowerWords;
  };
  /** Most lowercase words of the text are English (not a text in another language). */
  const englishText = (): boolean => {
    const { n, en } = countLowerWords().all;
    return n >= 3 && en >= n * 0.7;
  };
  /**
   * Clearly written in another language (five lowercase words or more, under 40% English): a German, Greek or Spanish
   * report. There a capitalised word no name list holds is a noun, not a name ("Schmerzen", "Vorerkrankungen"), and
   * two unknown lowercase words are a phrase ("dolor torácico"); titles and cues still find names.
   */
  const foreignText = (): boolean => {
    const { n, en } = countLowerWords().prose;
    return n >= 5 && en < n * 0.4;
  };
  if (mixed && foreignText())
    for (const w of words) if (!lex.first.has(w.tok.lower) && !lex.last.has(w.tok.lower)) w.score = 0;
  // A lowercase word with a letter outside ASCII in English text, neither English (with or without its accents:
  // "café") nor clinical, is a proper noun: "kónya", "halldór", "ludmiła" (not hyphenated: "café-au-lait").
  if (mixed) {
    let english: boolean | undefined;
    for (const w of words) {
      const t = w.tok;
      if (!/[^ -~]/.test(t.text) || w.score >= 0.55 || w.safe || t.text.length < 4 || !/^\p{Ll}+$/u.test(t.text))
        continue;
      english ??= englishText();
      if (!english) break;
      if (!/^\p{Script=Latin}+$/u.test(t.text) || isEnglishWord(t.lower, lex) || MEDICAL_ENDING.test(t.lower)) continue;
      const plain = t.lower.normalize('NFD').replace(/\p{M}/gu, '');
      if (isEnglishWord(plain, lex) || LATIN_CLINICAL.has(plain) || MEDICAL_ENDING.test(plain)) continue;
      w.score = 0.6;
    }
  }
  // A short word in capitals (3-4 letters) is an acronym unless it stands beside a name written in capitals:
  // "YACO ANGULO", "SOIB K. KISHIEV" (not a safe-listed acronym or an English word: "CT", "MRI", "ECHO").
  for (let k = 0; k < words.length; k++) {
    const w = words[k]!;
    const t = w.tok;
    if (
      w.score > 0 ||
      w.safe ||
      !t.allCaps ||
      t.text.length < 3 ||
      t.text.length > 4 ||
      !/^\p{Script=Latin}+$/u.test(t.text)
    )
      continue;
    if (isEnglishWord(t.lower, lex) || SAFE_ACRONYMS.has(t.text) || lex.stateAbbr.has(t.text)) continue;
    const beside = (a: number, b: number): boolean =>
      a >= 0 && words[b] !== undefined && /^\.?[ \t]$/.test(text.slice(tokens[a]!.fullEnd, tokens[b]!.start));
    let n = k + 1;
    if (beside(k, n) && words[n]!.tok.initial) n++;
    const next = beside(n - 1, n) && words[n]!.tok.allCaps && words[n]!.score >= 0.55;
    const prev = beside(k - 1, k) && words[k - 1]!.tok.allCaps && words[k - 1]!.score >= 0.55;
    if (next || prev) w.score = 0.45;
    // Alone, where a person stands in mixed-case text: after a cue only a person follows or before a verb of
    // saying ("Hello UBUL,", "UBUL said"), not before a number ("MOCA 26"), when it reads as a word (vowels and consonants alternating: not "DKA").
    else if (
      mixed &&
      PRONOUNCEABLE.test(t.text) &&
      !/^[ \t]*\d/.test(text.slice(t.fullEnd, t.fullEnd + 3)) &&
      (personCue(cueBefore(tokens, k, text)) || SAYING_AFTER.test(text.slice(t.fullEnd, t.fullEnd + 16)))
    )
      w.score = 0.6;
  }
  // A name the lexicon knows, written in lower case in mixed-case text where only a person stands: after a
  // greeting or a name label ("Hello john,", "cc: reed", "Mother's name: graves"), or on the line after a sign-off
  // ("Best,\nfrank"), even when it is also an English word.
  if (mixed) {
    for (let k = 0; k < words.length; k++) {
      const w = words[k]!;
      const t = w.tok;
      if (w.score >= 0.6 || w.safe || t.cap || t.text.length < 3 || FUNCTION_WORDS.has(t.lower)) continue;
      const prev = tokens[k - 1];
      // Only after a greeting, a label or a line break (cheap tests before the lexicon and the cue phrases).
      const afterBreak = prev === undefined || /\n/.test(text.slice(prev.fullEnd, t.start));
      if (!afterBreak && !GREETING_LAST.has(prev.lower.replace(/['’]/g, ''))) continue;
      if (!/^\p{Ll}+$/u.test(t.text) || (!lex.first.has(t.lower) && !lex.last.has(t.lower))) continue;
      const cue = cueBefore(tokens, k, text);
      const greeted =
        cue !== undefined && (PERSON_CUES.has(cue) || cue === 'dear' || cue === 'name' || cue === 'name is');
      const lineStart = /\n[ \t]*$/.test(text.slice(Math.max(0, t.start - 4), t.start));
      if (greeted || (lineStart && SIGN_OFF_BEFORE.test(text.slice(Math.max(0, t.start - 24), t.start)))) w.score = 0.7;
    }
  }
  /** A word written in lower case inside mixed-case text that is neither English nor clinical. */
  const foreignLowerUncached = (k: number): boolean => {
    const x = words[k];
    if (x === undefined || x.safe || x.tok.cap || x.tok.allCaps || x.tok.text.length < 3) return false;
    const plain = x.tok.lower.normalize('NFD').replace(/\p{M}/gu, '');
    return (
      !isEnglishWord(x.tok.lower, lex) &&
      (plain === x.tok.lower || !isEnglishWord(plain, lex)) && // "naïve façade"
      !LATIN_CLINICAL.has(x.tok.lower) &&
      /^\p{Ll}+$/u.test(x.tok.text) &&
      !MEDICAL_ENDING.test(x.tok.lower) &&
      !CALENDAR.has(x.tok.lower) &&
      !lex.countries.has(x.tok.lower)
    );
  };
  const foreignMemo: (boolean | undefined)[] = [];
  const foreignLower = (k: number): boolean => (foreignMemo[k] ??= foreignLowerUncached(k));
  /**
   * "guðgeir bergsveinsson", "leidy t muris", "nijito asano": two such words (a lowercase initial may sit between)
   * in mixed-case text are a name written in lower case when a cue comes before, a name lexicon knows one of
   * them, or one has a letter outside ASCII.
   */
  const lowerPair = (k: number): number => {
    if (!mixed || foreignText()) return -1;
    // Cheap exits first: the word is foreign, or a known first name before a one-letter initial.
    if (
      !foreignLower(k) &&
      !(words[k + 1] !== undefined && words[k + 1]!.tok.text.length === 1 && lex.first.has(words[k]!.tok.lower))
    )
      return -1;
    let m = k + 1;
    const gapOk = (a: number, b: number) =>
      words[b] !== undefined && /^\.?[ \t]{1,2}$/.test(text.slice(words[a]!.tok.end, words[b]!.tok.start));
    if (words[m] !== undefined && /^\p{Ll}$/u.test(words[m]!.tok.text) && gapOk(k, m)) m++;
    if (!gapOk(m - 1, m) || !foreignLower(m)) return -1;
    // A first name that is also a word, an initial with its full stop, a surname: "ken n. fukuda".
    const x = words[k]!;
    const firstWithInitial =
      m === k + 2 &&
      text.charAt(words[k + 1]!.tok.end) === '.' &&
      /^\p{Ll}{3,}$/u.test(x.tok.text) &&
      !x.safe &&
      lex.first.has(x.tok.lower) &&
      !FUNCTION_WORDS.has(x.tok.lower);
    if (!firstWithInitial && !foreignLower(k)) return -1;
    const a = words[k]!.tok.lower;
    const b = words[m]!.tok.lower;
    const cue = cueBefore(tokens, k, text);
    const prevTok = tokens[k - 1];
    const known =
      personCue(cue) ||
      // "leidy t muris": an initial between the two words; "Mr. nijito asano": a title before them.
      m === k + 2 ||
      (prevTok !== undefined &&
        TITLES.has(prevTok.lower) &&
        /^\.?[ \t]{1,2}$/.test(text.slice(prevTok.end, words[k]!.tok.start))) ||
      lex.first.has(a) ||
      lex.last.has(a) ||
      lex.first.has(b) ||
      lex.last.has(b) ||
      /[^ -~]/.test(a + b);
    return known ? m : -1;
  };
  const out: Span[] = [];
  let i = 0;
  while (i < words.length) {
    const w = words[i]!;
    const prev = tokens[i - 1];
    const titleBefore =
      prev !== undefined && TITLES.has(prev.lower) && /^\.?\s{1,3}$/.test(text.slice(prev.end, w.tok.start));
    const maybe = w.score > 0 || w.tok.cap || w.tok.allCaps || w.tok.text.length >= 3;
    const cue = titleBefore || !maybe ? undefined : cueBefore(tokens, i, text);
    const strongCue = titleBefore
      ? STRONG_TITLES.has(prev!.lower) || prev!.lower === 'patient'
      : cue !== undefined && STRONG_CUES.has(cue);
    const pairEnd = lowerPair(i);
    if (pairEnd > 0) {
      out.push({ start: w.tok.start, end: words[pairEnd]!.tok.end, type: 'NAME', confidence: 0.7, rule: 'name.lower' });
      i = pairEnd + 1;
      continue;
    }
    // A title is not part of the name it introduces: the next word sees it as a cue.
    if (TITLES.has(w.tok.lower) && (w.tok.cap || w.tok.allCaps) && STRONG_TITLES.has(w.tok.lower)) {
      i++;
      continue;
    }
    // "Nurse Manager", "Deputy Director", "Patient Services", "Detective Inspector Hill": after a title, an English
    // word with the ending of a role or a service that no name list holds with a frequency belongs to the title.
    // A name list's word without a frequency ("General", "Piper") only after a title of rank ("Inspector General",
    // not "Dr. Piper Feil") and with no capitalised word after it.
    const inLex = lex.first.has(w.tok.lower) || lex.last.has(w.tok.lower);
    if (
      titleBefore &&
      !HONORIFICS.has(prev!.lower) &&
      ROLE_NOUN.test(w.tok.lower) &&
      isEnglishWord(w.tok.lower, lex) &&
      (!inLex ||
        (!STRONG_TITLES.has(prev!.lower) &&
          !((lex.first.get(w.tok.lower) ?? 0) > 0) &&
          !((lex.last.get(w.tok.lower) ?? 0) > 0) &&
          !(words[i + 1]?.tok.cap && /^[ \t]+$/.test(text.slice(w.tok.fullEnd, words[i + 1]!.tok.start)))))
    ) {
      i++;
      continue;
    }
    // A lowercase word that is neither English nor clinical after a cue of a person's role or a greeting:
    // "husband rubija", "contact rubija", "thanks, rubija".
    const roleStart =
      cue !== undefined &&
      ROLE_CUES.has(cue) &&
      !w.safe &&
      /^\p{Ll}{3,}$/u.test(w.tok.text) &&
      !isEnglishWord(w.tok.lower, lex) &&
      !MEDICAL_ENDING.test(w.tok.lower) &&
      !LATIN_CLINICAL.has(w.tok.lower);
    if (roleStart) w.score = Math.max(w.score, 0.6);
    const startsRun =
      w.score > 0 ||
      (w.tok.initial && words[i + 1] !== undefined && words[i + 1]!.score > 0) ||
      ((titleBefore || strongCue) &&
        (w.tok.cap || w.tok.allCaps) &&
        // "PATIENT WAS": a function word no name list holds ("Dr. May", "Mr. Said" are names).
        !(FUNCTION_WORDS.has(w.tok.lower) && !lex.first.has(w.tok.lower) && !lex.last.has(w.tok.lower))) ||
      (strongCue && !titleBefore && !w.safe && w.tok.text.length >= 3 && !isEnglishWord(w.tok.lower, lex)) ||
      roleStart ||
      // "Mr. vitoria": a lowercase word after a title that is neither English nor clinical (in English text: in
      // German "Patient klagt" is a verb).
      (titleBefore &&
        strongCue &&
        !foreignText() &&
        !w.safe &&
        w.tok.text.length >= 3 &&
        !isEnglishWord(w.tok.lower, lex) &&
        !MEDICAL_ENDING.test(w.tok.lower));
    if (!startsRun) {
      i++;
      continue;
    }
    // Grow the run over name-like words, initials and particles on one line.
    let j = i;
    let best = w.score;
    let strong = 0;
    let hasFirst = w.firstName;
    const cued = titleBefore || strongCue;
    while (j + 1 < words.length) {
      const a = words[j]!.tok;
      const b = words[j + 1]!;
      const gap = text.slice(a.fullEnd, b.tok.start);
      // "SMITH, JOHN": a surname, a comma, then a known first name is one name (headers write names that way).
      const lastFirst =
        gap === ', ' && j === i && lex.first.has(b.tok.lower) && (b.tok.cap || b.tok.allCaps) && !b.safe;
      if ((!/^(?:\.?[ \t]{1,2}|\.|-)$/.test(gap) && !lastFirst) || a.fullEnd !== a.end) break; // possessive ends a run
      if (SUFFIXES.has(b.tok.lower.replace(/\./g, ''))) break; // "ROBERT MD": the credential is not the name
      // In a line written in capitals, an English word no name lexicon holds ends the name: "THEO BJERREGAARD TOLD
      // ME", "PATIENT JOHN SMITH SEEN TODAY" (in mixed case, "MOIRA PAGAN" is written so as a name).
      if (
        b.tok.allCaps &&
        !words[j]!.joiner && // after a particle the surname goes on: "VAN DE BRINK"
        capsLine(b.tok.start) &&
        b.score < 0.7 &&
        isEnglishWord(b.tok.lower, lex) &&
        !lex.first.has(b.tok.lower) &&
        !lex.last.has(b.tok.lower) &&
        // ... unless it stands in the surname's slot after a first name: "PLEASE ASK SUSAN BRINK TO CALL ME".
        !(j === i && words[j]!.firstName && surnameSlot(b.tok, text))
      )
        break;
      if (gap.startsWith('.') && !a.initial && !/^\p{Ll}$/u.test(a.text)) break; // "Berg. John": a full stop after a word ends the name
      const nameLike = b.score > 0 || (cued && (b.tok.cap || b.tok.allCaps) && !b.safe);
      // A lowercase surname after a lowercase first name: "patricia desrosiers".
      // A capitalised word after a known first name or an initial is the surname, even if it is also a word:
      // "Moira Pagan", "Jildau S Bouts".
      const surname =
        // A first name that is also a word counts when it has evidence of its own ("Garnet Tong").
        (hasFirst || (a.initial && j > i) || (j === i && w.score > 0 && lex.first.has(a.lower))) &&
        (b.tok.cap || b.tok.allCaps || PARTICLE_PREFIXED.test(b.tok.text)) &&
        !b.safe &&
        b.score === 0 &&
        !CALENDAR.has(b.tok.lower) &&
        !b.tok.sentenceStart;
      // Also a lowercase surname that is an English word, when the surname list has it: "justin glass".
      const lowerSurname =
        hasFirst &&
        !b.tok.cap &&
        !a.cap &&
        !b.safe &&
        b.tok.text.length >= 3 &&
        (!isEnglishWord(b.tok.lower, lex) ||
          ((lex.last.get(b.tok.lower) ?? 0) > 0 && !FUNCTION_WORDS.has(b.tok.lower)) ||
          // In mixed-case text, an English word right after a lowercase first name that is not a word itself,
          // when a clause ends or a function word follows it: "moira pagan.", "justin beet by phone" (not a verb
          // or an adverb: "moira looked", "justin felt better").
          (mixed &&
            j === i &&
            !FUNCTION_WORDS.has(b.tok.lower) &&
            !/(?:ed|ing|ly|s)$/.test(b.tok.lower) &&
            /^(?:[ \t]*(?:[,;.!?)]|\r?\n|$)|[ \t]+(?:by|to|and|at|on|in|for|with|from|or|is|was|will|said|has|had)\b)/.test(
              text.slice(b.tok.fullEnd, b.tok.fullEnd + 8),
            )));
      const lowerInitial =
        hasFirst && !a.cap && /^\p{Ll}$/u.test(b.tok.text) && j + 2 < words.length && !words[j + 2]!.tok.cap;
      let k2 = j + 2;
      while (k2 < words.length && words[k2]!.joiner && !words[k2]!.tok.initial) k2++;
      const joiner =
        lowerSurname || lowerInitial || (b.joiner && k2 < words.length && (words[k2]!.score > 0 || words[k2]!.tok.cap));
      if (!(nameLike || surname || joiner || (b.tok.initial && !b.safe))) break;
      if (b.tok.sentenceStart && !/^\.?\s$/.test(gap)) break;
      j++;
      best = Math.max(best, b.score);
      if (b.score >= 0.4) strong++;
      hasFirst ||= b.firstName;
    }
    // Trim trailing joiners that are not initials.
    while (j > i && words[j]!.joiner && !words[j]!.tok.initial) j--;
    if (w.score >= 0.4) strong++;
    let conf = best;
    if (cued) conf = Math.max(conf, 0.95);
    else if (cue !== undefined && best > 0) conf = Math.max(conf, Math.min(0.9, best + 0.3));
    if (hasFirst && j > i) conf = Math.max(conf, 0.92);
    if (strong >= 2) conf = Math.max(conf, 0.85);
    const next = tokens[j + 1];
    if (
      next &&
      SUFFIXES.has(next.lower.replace(/\./g, '')) &&
      /^,?\s$/.test(text.slice(tokens[j]!.fullEnd, next.start))
    ) {
      conf = Math.max(conf, 0.93);
    }
    // "seen by Physical Therapy": a cue before plain English words (not names) is not a name.
    if (cued && !titleBefore) {
      const plain = words
        .slice(i, j + 1)
        .every((x) => isEnglishWord(x.tok.lower, lex) && !lex.first.has(x.tok.lower) && !lex.last.has(x.tok.lower));
      if (plain) {
        i = j + 1;
        continue;
      }
    }
    let start = words[i]!.tok.start;
    if (titleBefore && STRONG_TITLES.has(prev!.lower)) start = words[i]!.tok.start;
    let end = words[j]!.tok.end;
    if (words[j]!.tok.initial && text.charAt(end) === '.') end++;
    // A run that is a single initial is noise.
    if (!(i === j && words[i]!.tok.initial)) {
      const rule = titleBefore
        ? 'name.title'
        : cue !== undefined
          ? 'name.cue'
          : hasFirst
            ? 'name.lexicon'
            : best >= 0.7
              ? 'name.shape'
              : 'name.weak';
      out.push({ start, end, type: 'NAME', confidence: Math.min(0.99, conf), rule });
    }
    i = j + 1;
  }
  return out;
}
