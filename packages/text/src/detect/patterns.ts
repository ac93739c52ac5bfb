/**
 * Identifiers with a fixed written shape: e-mail, URL, IP, SSN, phone and fax numbers, payment cards and IBANs
 * (check digits), NHS numbers (mod 11), MRNs and other IDs after a context word, licence and device numbers, ZIP
 * codes and ages over 89. Shapes alone are weak for bare digit runs, so those need a context word or a check digit.
 */
import { ibanValid, luhnValid, nhsValid } from '../checksums.ts';
import type { PhiType, Span } from '../types.ts';

function push(out: Span[], start: number, end: number, type: PhiType, confidence: number, rule: string): void {
  out.push({ start, end, type, confidence, rule });
}

// Every repeat is bounded (RFC 5321: local part <= 64, label <= 63): an unbounded run rescanned from each start
// is quadratic on a long run of letters (ReDoS).
const EMAIL_RE = /[\p{L}\p{N}._%+-]{1,64}@[\p{L}\p{N}-]{1,63}(?:\.[\p{L}\p{N}-]{1,63}){0,8}\.\p{L}{2,24}/gu;
const URL_RE = /\b(?:https?:\/\/|ftp:\/\/|www\.)[^\s<>"'()[\]]+[^\s<>"'()[\].,;:!?]/giu;
// Bare domains: name.tld with a common TLD (not file names such as report.pdf).
const DOMAIN_RE =
  /\b[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9-]{1,63}){0,8}\.(?:com|org|net|edu|gov|mil|int|info|biz|io|co|us|uk|de|fr|nl|be|se|dk|no|fi|ch|at|es|it|pt|pl|cz|hu|gr|ie|ca|au|nz|br|uy|cy|ee|si|is|jp|cn|in|ru)(?:\.[a-z]{2})?\b(?:\/(?:[^\s<>"']*[^\s<>"'.,;:!?)])?)?/giu;
const IPV4_RE = /\b(?:25[0-5]|2[0-4]\d|1?\d?\d)(?:\.(?:25[0-5]|2[0-4]\d|1?\d?\d)){3}\b/g;
const IPV6_RE =
  /(?<![\w:])(?:[0-9a-f]{1,4}:){2,7}(?::|[0-9a-f]{1,4})(?![\w:])|(?<![\w:])::(?:[0-9a-f]{1,4}:){0,6}[0-9a-f]{1,4}(?![\w:])/gi;
const SSN_RE = /\b(?!000|666|9\d\d)\d{3}([- ])(?!00)\d{2}\1(?!0000)\d{4}\b/g;
const SSN_CONTEXT_RE = /\b(?:SSN|SS#|social security(?: number| no\.?)?)\s*[:#]?\s*(\d{9}|\d{3}[- ]\d{2}[- ]\d{4})\b/gi;
/** The marks of a phone number's extension, in the languages the phone rule reads (regular expression source). */
const EXTENSION_MARK =
  'x|ext\\.?|extension|poste|postes|apparecchio|interno|int\\.|anexo|ramal|durchwahl|dw\\.?|lokal|toestel|wewn\\.?|klapka|mellék';
/** The same marks as words (no dots): what a phone surrogate may keep. */
export const EXTENSION_WORDS: readonly string[] = EXTENSION_MARK.replace(/\\\.\??/g, '').split('|');
// Groups of digits separated by spaces, dots, dashes or brackets; an optional +CC and extension. Checked below.
const PHONE_RE = new RegExp(
  `(?<![\\w.+/-])(?:(?:\\+|00)\\d{1,3}[\\s.-]?|[01][\\s.-](?=\\())?(?:\\+?\\(\\+?\\d{1,5}\\)[\\s./-]?)?(?:\\(0\\)\\s?)?\\d{1,12}(?:(?:[\\s.-]|\\/|-\\/)\\d{1,8}){0,5}(?:,?\\s?(?:${EXTENSION_MARK})\\s?\\d{1,6})?(?![\\w/])`,
  'gi',
);
const CARD_RE = /(?<![\w.-])\d(?:[ -]?\d){11,18}(?![\w-]|\.\d)/g;
const IBAN_RE = /\b[A-Za-z]{2}\d{2}(?:\s?[A-Za-z0-9]{4}){2,7}(?:\s?[A-Za-z0-9]{1,4})?\b/g;
const NHS_RE = /\b\d{3}[ -]?\d{3}[ -]?\d{4}\b/g;

/** Context words before an identifier, and the type the identifier gets. */
const ID_CONTEXTS: readonly [RegExp, PhiType][] = [
  [/\b(?:fax|facsimile)\b/i, 'FAX'],
  [
    /\b(?:health ?plan|insurance|insurer|member|subscriber|policy|medicaid|medicare|beneficiary|group)\s*(?:id|no|number|#)?/i,
    'ACCOUNT',
  ],
  [/\b(?:account|acct|a\/c|billing|invoice|iban|card)\s*(?:no|number|#)?/i, 'ACCOUNT'],
  [
    /\b(?:licen[cs]e|licen[cs]e plate|DL|driver'?s? licen[cs]e|DEA|NPI|certificate|cert|registration|vehicle|VIN|plate)\s*(?:no|number|#)?/i,
    'LICENSE',
  ],
  [/\b(?:device|serial|implant|pacemaker|S\/N|SN|UDI|lot|model)\s*(?:no|number|#)?/i, 'DEVICE'],
  [
    /\b(?:MRN|MR|medical record|record|patient|pt|chart|hospital|unit|case|accession|acc|encounter|visit|admission|episode|specimen|study|order|requisition|NHS|CHI|ID|identifier|number|no|#)\s*(?:id|no|number|#)?/i,
    'ID',
  ],
];
/** An identifier token right after a context word: at least one digit, 4+ characters. */
const ID_AFTER_RE =
  /^[.\s]*(?:(?:is|was|of|=)\s*)?[:#]?\s*(?:no\.?\s*|number\s*)?[:#]?\s*(\d{3}[ -]\d{3}[ -]\d{4}\b|[A-Za-z]{0,4}[-/]?\d[\dA-Za-z\-/.]{2,24}[\dA-Za-z])/;
/** Things that look like IDs but are measurements, doses or room numbers: never IDs without a strong context. */
const NOT_ID_AFTER =
  /^\s*(?:mg|mcg|ml|mm|cm|kg|g|%|units?|years?|yrs?|y\/o|yo|days?|weeks?|months?|hours?|hrs?|min|mmhg|bpm)\b/i;

function digitsOf(s: string): string {
  return s.replace(/\D/g, '');
}

export function detectPatterns(text: string): Span[] {
  const out: Span[] = [];
  for (const m of text.matchAll(EMAIL_RE)) push(out, m.index, m.index + m[0].length, 'EMAIL', 0.99, 'email');
  for (const m of text.matchAll(URL_RE)) push(out, m.index, m.index + m[0].length, 'URL', 0.97, 'url');
  for (const m of text.matchAll(DOMAIN_RE)) {
    const before = text.charAt(m.index - 1);
    if (before === '@' || before === '.') continue;
    push(out, m.index, m.index + m[0].length, 'URL', 0.85, 'url.domain');
  }
  for (const m of text.matchAll(IPV4_RE)) push(out, m.index, m.index + m[0].length, 'IP', 0.95, 'ip.v4');
  for (const m of text.matchAll(IPV6_RE)) {
    if ((m[0].match(/:/g) ?? []).length >= 3) push(out, m.index, m.index + m[0].length, 'IP', 0.9, 'ip.v6');
  }
  for (const m of text.matchAll(SSN_RE)) push(out, m.index, m.index + m[0].length, 'SSN', 0.93, 'ssn');
  for (const m of text.matchAll(SSN_CONTEXT_RE)) {
    const v = m[1]!;
    const s = m.index + m[0].lastIndexOf(v);
    push(out, s, s + v.length, 'SSN', 0.98, 'ssn.context');
  }
  for (const m of text.matchAll(CARD_RE)) {
    const d = digitsOf(m[0]);
    // A dialling prefix and a phone's grouping ("001-924-699-7365", "00 44 20 7946 0958") is a phone number.
    if (/^(?:00[1-9]|011)[ -]\d{1,3}[ -]/.test(m[0])) continue;
    if (d.length >= 12 && d.length <= 19 && luhnValid(d)) {
      push(out, m.index, m.index + m[0].length, 'ACCOUNT', 0.95, 'account.luhn');
    }
  }
  for (const m of text.matchAll(IBAN_RE)) {
    if (ibanValid(m[0])) push(out, m.index, m.index + m[0].length, 'ACCOUNT', 0.98, 'account.iban');
  }
  for (const m of text.matchAll(NHS_RE)) {
    if (nhsValid(digitsOf(m[0]))) push(out, m.index, m.index + m[0].length, 'ID', 0.8, 'id.nhs');
  }
  detectPhones(text, out);
  detectPostcodes(text, out);
  detectContextIds(text, out);
  detectLongDigitRuns(text, out);
  detectAges(text, out);
  return out;
}

const DATE_LIKE = /^\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}$/;
const TIME_LIKE = /^\d{1,2}[:.]\d{2}$/;

/** "12-03-2020" could be a date; "034-23-66" (no month in it) cannot. */
function plausibleDate(v: string): boolean {
  const [a, b, c] = v.split(/[-/.]/).map(Number) as [number, number, number];
  if (String(v.split(/[-/.]/)[0]).length === 4) return b <= 12 && c <= 31;
  return (a <= 12 && b <= 31) || (a <= 31 && b <= 12);
}

/**
 * Right after a phone label ("Phone:", "Mobile:", "call me at", "my number is"), any run of digit groups with 6
 * to 15 digits is the number, whatever its national layout: "00219-8-6881", "087 770", "995 554261234",
 * "00389 2 757 4540". Not a date or a time.
 */
const PHONE_CUE_RE =
  /\b(?:tel\.?|phone(?:\s+(?:number|no\.?))?|telephone|cell(?:\s+phone)?|mobile|mob\.?|pager|whatsapp|fax|call\s+(?:me\s+)?(?:at|on)|reach\s+(?:me|him|her|us)\s+(?:at|on)|text\s+(?:me\s+(?:at|on)\s+)?|(?:my|his|her|their|our|the)\s+(?:phone\s+|mobile\s+|cell\s+)?number\s+is|(?:my|his|her|their|our)\s+(?:phone|mobile|cell|telephone)\s+is)\s*[:#.]?\s*(?=[+(\d])/giu;
const PHONE_AFTER_CUE_RE = /^\+?(?:\(\d{1,5}\)[ .-]?)?\d[\d]*(?:[ .-]\d+){0,6}(?:\s?(?:x|ext\.?)\s?\d{1,6})?/u;

function detectCuedPhones(text: string, out: Span[]): void {
  for (const m of text.matchAll(PHONE_CUE_RE)) {
    const s = m.index + m[0].length;
    const v = PHONE_AFTER_CUE_RE.exec(text.slice(s, s + 32));
    if (v === null || /^[\p{L}\p{N}]/u.test(text.charAt(s + v[0].length))) continue;
    const d = digitsOf(v[0].replace(/\s?(?:x|ext\.?)\s?\d+$/i, ''));
    if (d.length < 6 || d.length > 15 || DATE_LIKE.test(v[0]) || TIME_LIKE.test(v[0])) continue;
    const fax = /^fax/i.test(m[0]);
    push(out, s, s + v[0].length, fax ? 'FAX' : 'PHONE', 0.85, fax ? 'fax.cue' : 'phone.cue');
  }
}

function detectPhones(text: string, out: Span[]): void {
  detectCuedPhones(text, out);
  for (const m of text.matchAll(PHONE_RE)) {
    let v = m[0];
    let start = m.index;
    // Trim separators the regex allowed at the edges.
    while (/[\s.-]$/.test(v)) v = v.slice(0, -1);
    while (/^[\s.-]/.test(v)) {
      v = v.slice(1);
      start++;
    }
    const d = digitsOf(v.replace(/(?:x|ext\.?|extension)\s?\d+$/i, ''));
    if (d.length < 7 || d.length > 15) continue;
    if ((DATE_LIKE.test(v) && plausibleDate(v)) || TIME_LIKE.test(v)) continue;
    // A decimal number or a list of small numbers is not a phone: require phone-like grouping.
    const groups = v.split(/[\s.\-()]+/).filter(Boolean);
    const plain = /^\d+$/.test(v);
    if (plain && (d.length < 10 || d.length > 11)) continue;
    // Single digits between groups are a list or a version ("1 2 3 4"), but a leading trunk or country digit is
    // common: "1-294-821-9935", "1 (975) 432-3194", "0 800 123 4567".
    if (
      !plain &&
      groups.slice(1).some((g) => /^\d+$/.test(g) && g.length === 1) &&
      !/^(?:\+|00[1-9])/.test(v) &&
      !/^\(/.test(v)
    ) {
      continue;
    }
    if (!plain && groups[0]!.length === 1 && !/^[01]$/.test(groups[0]!) && !v.startsWith('+')) continue;
    // A card, reported by account.luhn; not with a dialling prefix ("001-924-699-7365") or an extension.
    if (luhnValid(d) && d.length >= 13 && !/^(?:[+(]|00[1-9]|011)|^\d\s?\(/.test(v) && !/[a-z]\.?\s?\d+$/i.test(v))
      continue;
    const before = text.slice(Math.max(0, start - 24), start);
    const fax = /\bfax\b[^\n]*$/i.test(before);
    const cue = /\b(?:tel|phone|telephone|call|cell|mobile|mob|ph|pager|contact|number|reach)\b[^\n]*$/i.test(before);
    // Five digits, a dash and four with no phone word before: a US ZIP+4 (zip.shape), not a phone.
    if (!cue && !fax && /^\d{5}-\d{4}$/.test(v)) continue;
    const shaped = v.startsWith('+') || /[()]/.test(v) || /^\d{3}[-. ]\d{3}[-. ]\d{4}/.test(v) || groups.length >= 2;
    const conf = fax ? 0.95 : cue ? 0.9 : shaped ? 0.85 : 0.7;
    push(out, start, start + v.length, fax ? 'FAX' : 'PHONE', conf, fax ? 'fax' : 'phone');
  }
}

/**
 * A postal code after its label ("ZIP: 7412 SL", "postcode SW1A 1AA", "PLZ 10115", "code postal 75008",
 * "postal code H-6472"): any national layout (digits, letters and digits, one space or dash inside, a country
 * letter prefix); it must hold a digit.
 */
const POSTCODE_CUE_RE =
  /\b(?:zip[\s-]?code|zip|postal[\s-]?code|post[\s-]?code|postcode|plz|cap|code\s+postal|c[oó]digo\s+postal|c\.?p\.?)(?:\s+(?:is|was|of|to|be|now|should|will|has|had|changed|updated|moved|number|no\.?)){0,3}\s*(?:[:#=]|[-–](?=\s))?\s*/giu;
const POSTCODE_VALUE_RE =
  /^\d{4} (?!(?:is|or|to|in|on|at|an|as|by|if|it|of|so|up|we|me|my|no|do|be|he|am|and|for|the)\b)[a-z]{2}(?![\p{L}\p{N}])|^(?:[\p{Lu}]{1,2}[- ])?(?=[\p{L}\d]*\d)[\p{Lu}\d]{2,8}(?:[ -](?=[\p{Lu}\d]*\d|[\p{Lu}]{2}(?![\p{L}\d]))[\p{Lu}\d]{2,4})?(?![\p{L}\p{N}])|^(?=[a-z\d]*\d)[a-z\d]{2,8}(?: (?=[a-z\d]*\d)[a-z\d]{2,4})?(?![\p{L}\p{N}])|^[a-z]{1,2}-\d{2,5}(?:-\d{2,5})?(?![\p{L}\p{N}])/u;

function detectPostcodes(text: string, out: Span[]): void {
  for (const m of text.matchAll(POSTCODE_CUE_RE)) {
    const s = m.index + m[0].length;
    const v = POSTCODE_VALUE_RE.exec(text.slice(s, s + 24));
    if (v === null) continue;
    // "12345 IS WRONG" in capitals: a two-letter English word after the code is not its letters (a Dutch code,
    // four digits, keeps them: "6722 WE").
    const len = /^(?:\d{1,3}|\d{5,}) (?:IS|OR|TO|IN|ON|AT|AN|AS|BY|IF|IT|OF|SO|UP|WE|ME|MY|NO|DO|BE|HE|AM)$/.test(v[0])
      ? v[0].length - 3
      : v[0].length;
    push(out, s, s + len, 'ZIP', 0.9, 'zip.cue');
  }
  // The label after: "10115 is my zip code", "SW1A 1AA was their postcode".
  for (const m of text.matchAll(
    /(?<![\p{L}\p{N}])((?=[\p{Lu}\d -]{0,9}\d)[\p{Lu}\d][\p{Lu}\d -]{1,8}[\p{Lu}\d])\s+(?:is|was)\s+(?:my|our|his|her|their|the|your)\s+(?:zip|postal|post)\s?code\b/gu,
  ))
    push(out, m.index, m.index + m[1]!.length, 'ZIP', 0.85, 'zip.cue');
  // The label after the code with an article: "in the 90210 zip code", "the 02115 postcode".
  for (const m of text.matchAll(/\bthe\s+(\d{5}(?:-\d{4})?)\s+(?:zip|postal|post)\s?code\b/giu)) {
    const s = m.index + m[0].indexOf(m[1]!);
    push(out, s, s + m[1]!.length, 'ZIP', 0.85, 'zip.cue');
  }
  // Five digits (or ZIP+4) alone after a preposition of place, ending a clause: "it's in 99178.", "near 02115,".
  // Not a ratio ("1 in 10000."), not before a word (a count: "in 10000 cells").
  for (const m of text.matchAll(
    /(?<!\d[ \t]?)\b(?:in|near|around)[ \t]+(\d{5}(?:-\d{4})?)(?=[ \t]*(?:[.,;!?)]|\r?\n|$))/giu,
  )) {
    const s = m.index + m[0].length - m[1]!.length;
    push(out, s, s + m[1]!.length, 'ZIP', 0.6, 'zip.place');
  }
  // A US ZIP+4 ("19406-3137") is specific enough to stand alone.
  for (const m of text.matchAll(/(?<![\p{L}\p{N}+./-])\d{5}-\d{4}(?![\p{L}\p{N}]|[-./]\d)/gu))
    push(out, m.index, m.index + m[0].length, 'ZIP', 0.75, 'zip.shape');
  // Layouts specific enough to stand alone: Canadian "V8S 8G8" (with its space: TNM stages such as "T2N1M0" have
  // none), British "SW1A 1AA", "B0T 7AL".
  for (const m of text.matchAll(
    /(?<![\p{L}\p{N}])(?:[ABCEGHJ-NPRSTVXY]\d[A-Z] \d[A-Z]\d|[A-Z]{1,2}\d[A-Z\d]? \d[ABD-HJLNP-UW-Z]{2})(?![\p{L}\p{N}])/gu,
  ))
    push(out, m.index, m.index + m[0].length, 'ZIP', 0.8, 'zip.shape');
}

function detectContextIds(text: string, out: Span[]): void {
  for (const [re, type] of ID_CONTEXTS) {
    const g = new RegExp(re.source, 'gi');
    for (const m of text.matchAll(g)) {
      const after = text.slice(m.index + m[0].length, m.index + m[0].length + 48);
      const idm = ID_AFTER_RE.exec(after);
      if (!idm) continue;
      const value = idm[1]!;
      const vStart = m.index + m[0].length + idm[0].length - value.length;
      const rest = text.slice(vStart + value.length, vStart + value.length + 8);
      if (NOT_ID_AFTER.test(rest)) continue;
      // "Room 4", "bed 12", "page 3", a year or a plain small number: not identifiers.
      if (/^\d{1,3}$/.test(value)) continue;
      const word = m[0].trim().toLowerCase();
      const weakWord = /^(?:number|no|#|id|unit|case|order|study|group|model|lot|record|card|visit)$/.test(word);
      if (weakWord && digitsOf(value).length < 4) continue;
      push(out, vStart, vStart + value.length, type, weakWord ? 0.75 : 0.92, `id.context.${type.toLowerCase()}`);
    }
  }
  // Licence-shaped: a letter then 6+ digits (many US driver's licences, passports) standing alone.
  for (const m of text.matchAll(/\b[A-Z]\d{6,14}\b/g))
    push(out, m.index, m.index + m[0].length, 'LICENSE', 0.7, 'license.shape');
}

/** Any run of 6+ digits not otherwise explained: unlabelled identifiers leak as easily as labelled ones. */
function detectLongDigitRuns(text: string, out: Span[]): void {
  for (const m of text.matchAll(/(?<![\w.,])\d{6,}(?![\w]|[.,]\d)/g)) {
    push(out, m.index, m.index + m[0].length, 'ID', 0.6, 'id.digits');
  }
  for (const m of text.matchAll(/(?<![\w-])\d{3,5}-\d{2,4}-\d{3,5}(?![\w-])/g)) {
    push(out, m.index, m.index + m[0].length, 'ID', 0.6, 'id.grouped');
  }
}

/**
 * Ages over 89 (HIPAA Safe Harbor): "92-year-old", "aged 95", "age: 91", "91 yo", "91 y/o", "91 years old".
 * Younger ages are not identifiers and stay.
 */
function detectAges(text: string, out: Span[]): void {
  const re =
    /\b(?:(\d{2,3})(?=[- ]?(?:years?|yrs?|y)[- ]?(?:old|o\b|\/o\b))|(?<=\b(?:aged?|age:)\s*)(\d{2,3})\b|(\d{2,3})(?=\s*(?:yo|y\/o|yr old|year old|years old)\b))/gi;
  for (const m of text.matchAll(re)) {
    const v = m[1] ?? m[2] ?? m[3]!;
    const n = Number(v);
    if (n > 89 && n < 130) push(out, m.index, m.index + v.length, 'AGE', 0.95, 'age.over89');
  }
}
