/**
 * Keyed, realistic surrogates: HMAC(key, type + value) picks the replacement, so the same value under the same key
 * gets the same surrogate in every document and every request, and nobody without the key can map back. Names are
 * replaced word by word (so "John Smith" and "Smith" stay consistent), from the frequency-weighted US lists;
 * numbers keep their layout digit by digit (payment cards stay Luhn-valid; SSNs start with 9, which no SSN does);
 * dates move by the patient's keyed shift (calendar.ts), so intervals between them are kept.
 *
 * Example:
 *   const s = new Surrogates({ key, patientKey: 'MRN 1234' });
 *   s.for('NAME', 'John Smith');  // e.g. 'Keith Alvarez', the same for every call with this key
 *   s.for('DATE', '3/4/2020');    // e.g. '1/17/2020'
 */
import { dateShiftDays } from './calendar.ts';
import { luhnCheckDigit, luhnValid } from './checksums.ts';
import { type DateOrder, shiftDateText } from './date-shift.ts';
import { MONTHS, WEEKDAYS } from './detect/dates.ts';
import { EXTENSION_WORDS } from './detect/patterns.ts';
import { hmacPicker } from './hmac.ts';
import { lexicons } from './lexicon/names.ts';
import type { PhiType } from './types.ts';

export interface SurrogateOptions {
  key: Uint8Array;
  /** Whose dates these are: all dates of one patient shift by the same keyed number of days. Default ''. */
  patientKey?: string;
  /** Largest shift in days (default 365). */
  maxShiftDays?: number;
  /** How to read 03/04/2020 when both numbers could be the month (default 'mdy'). */
  dateOrder?: DateOrder;
}

/** A phone number whose only words are extension marks. */
const PHONE_WORDS_ONLY = new RegExp(`^(?:[^\\p{L}]|(?<!\\p{L})(?:${EXTENSION_WORDS.join('|')})(?!\\p{L}))*$`, 'iu');
const KEEP_WORDS = new Set(
  'apt apartment suite ste unit box po p.o psc apo fpo dpo aa ae ap street st avenue ave road rd lane ln drive dr boulevard blvd court ct place pl way rue via calle rua ul and of the de del la le di da du van von hospital clinic clinics medical center centre health system healthcare infirmary hospice services nursing home rehabilitation cancer surgical imaging radiology saint mount mt'.split(
    ' ',
  ),
);

function caseLike(sample: string, word: string): string {
  if (sample.length > 1 && sample === sample.toUpperCase() && sample !== sample.toLowerCase())
    return word.toUpperCase();
  if (sample === sample.toLowerCase()) return word.toLowerCase();
  return word.charAt(0).toUpperCase() + word.slice(1).toLowerCase();
}

/**
 * Whether `surrogate` still holds a word of `value` of four letters or more that is neither a structural word an
 * address keeps ("Street", "Suite"), a month or weekday a shifted date may keep ("March 3" -> "March 9"), an
 * extension mark of a phone number nor a URL's scheme.
 */
export function keepsValueWord(value: string, surrogate: string): boolean {
  const kept = new Set((surrogate.toLowerCase().match(/[\p{L}\p{M}]{4,}/gu) ?? []) as string[]);
  if (kept.size === 0) return false;
  for (const w of value.toLowerCase().match(/[\p{L}\p{M}]{4,}/gu) ?? []) {
    if (
      !kept.has(w) ||
      KEEP_WORDS.has(w) ||
      EXTENSION_WORDS.includes(w) ||
      w === 'http' ||
      w === 'https' ||
      MONTHS.some((m) => m.startsWith(w)) ||
      WEEKDAYS.some((d) => d.startsWith(w))
    )
      continue;
    return true;
  }
  return false;
}

export class Surrogates {
  readonly shiftDays: number;
  private readonly key: Uint8Array;
  private readonly order: DateOrder;

  constructor(options: SurrogateOptions) {
    this.key = options.key;
    this.order = options.dateOrder ?? 'mdy';
    this.shiftDays = dateShiftDays(options.patientKey ?? '', options.key, options.maxShiftDays ?? 365);
  }

  private readonly memo = new Map<string, string>();

  /** The surrogate of one value (memoised: a document repeats its names and dates). */
  for(type: PhiType, value: string): string {
    const k = `${type}\u0000${value}`;
    let r = this.memo.get(k);
    if (r === undefined) {
      r = this.compute(type, value);
      // Fail closed: a surrogate that still holds a word of the value (a finding merged with a neighbour that the
      // type's rewriting keeps) gives way to the placeholder.
      if (keepsValueWord(value, r)) r = `[${type}]`;
      if (this.memo.size > 10_000) this.memo.clear();
      this.memo.set(k, r);
    }
    return r;
  }

  private compute(type: PhiType, value: string): string {
    switch (type) {
      case 'NAME':
        return this.name(value);
      case 'DATE':
        return shiftDateText(value, this.shiftDays, this.order) ?? '[DATE]';
      case 'AGE':
        return '90';
      case 'EMAIL':
        return this.email(value);
      case 'URL':
        return this.url(value);
      case 'IP':
        return this.ip(value);
      case 'SSN':
        return `9${this.digits('SSN', value).slice(1)}`;
      case 'ACCOUNT':
        return this.account(value);
      case 'CITY':
        return this.pick('CITY', value, lexicons().cityPool, value);
      case 'STATE':
        return this.state(value);
      case 'ADDRESS':
      case 'HOSPITAL':
        return this.words(type, value);
      case 'PHONE':
      case 'FAX':
        // Extension words stay ("x204", "ext. 12"); any other word (a finding merged with a neighbour: "John Smith
        // 617-555-0199") is replaced like the digits.
        return this.digits(type, value, !PHONE_WORDS_ONLY.test(value));
      default:
        return this.digits(type, value);
    }
  }

  /**
   * A keyed choice from `pool`, never the value itself and never a common English word ("Will", "Grace", "Mark"):
   * a surrogate that is also a word would be mistaken for one when an answer is restored.
   */
  private pick(tag: string, value: string, pool: readonly string[], sample: string): string {
    const words = lexicons().words;
    const next = hmacPicker(this.key, `${tag}:${value.toLowerCase()}`);
    for (let tries = 0; tries < 16; tries++) {
      const w = pool[next(pool.length)]!;
      const l = w.toLowerCase();
      if (l !== value.toLowerCase() && !words.has(l)) return caseLike(sample, w);
    }
    return caseLike(sample, pool.find((w) => !words.has(w.toLowerCase()) && w.toLowerCase() !== value.toLowerCase())!);
  }

  /** One surrogate word for a name word: a first name for a first name, a last name otherwise. */
  nameWord(word: string, position: number, count: number): string {
    const lex = lexicons();
    const l = word.toLowerCase();
    if (/^\p{L}\.?$/u.test(word)) {
      const letters = 'ABCDEFGHIJKLMNOPRSTW';
      const c = letters.charAt(hmacPicker(this.key, `initial:${l}`)(letters.length));
      return caseLike(word, c) + (word.endsWith('.') ? '.' : '');
    }
    const isFirst =
      lex.first.has(l) && !lex.last.has(l)
        ? true
        : lex.last.has(l) && !lex.first.has(l)
          ? false
          : position === 0 && count > 1;
    return this.pick(isFirst ? 'first' : 'last', l, isFirst ? lex.firstPool : lex.lastPool, word);
  }

  private name(value: string): string {
    // Word by word; punctuation and spacing stay ("SMITH, JOHN A" -> "NGUYEN, KEVIN R").
    const WORD = /[\p{L}\p{M}][\p{L}\p{M}'’]*\.?/gu;
    const count = (value.match(WORD) ?? []).length;
    let k = 0;
    const commaFirst = /^[^,]+,\s*\p{L}/u.test(value);
    // A name merged with a neighbouring finding may hold digits ("Joaquin Suarez 2906"): they are replaced too.
    return value
      .replace(/\d+/g, (d) => this.digits('NAME', d))
      .replace(WORD, (w) => {
        const pos = k++;
        if (/^(?:van|von|der|den|de|del|della|di|da|du|le|la|ten|ter|bin|ibn|al|el)$/i.test(w)) return w;
        // In "Last, First" the first word is the surname. A full stop after a word (not an initial) stays.
        const role = commaFirst ? (pos === 0 ? 1 : 0) : pos;
        if (w.length > 2 && w.endsWith('.')) return `${this.nameWord(w.slice(0, -1), role, count)}.`;
        return this.nameWord(w, role, count);
      });
  }

  private email(value: string): string {
    const lex = lexicons();
    const next = hmacPicker(this.key, `EMAIL:${value.toLowerCase()}`);
    const f = lex.firstPool[next(lex.firstPool.length)]!.toLowerCase();
    const l = lex.lastPool[next(lex.lastPool.length)]!.toLowerCase();
    const domains = ['example.com', 'example.org', 'example.net'];
    return `${f}.${l}${next(100)}@${domains[next(domains.length)]}`;
  }

  private url(value: string): string {
    const scheme = /^[a-z]+:\/\//i.exec(value)?.[0] ?? '';
    const www = /^(?:[a-z]+:\/\/)?www\./i.test(value) ? 'www.' : '';
    const lex = lexicons();
    const next = hmacPicker(this.key, `URL:${value.toLowerCase()}`);
    const host = `${lex.lastPool[next(lex.lastPool.length)]!.toLowerCase()}${next(1000)}.example`;
    const slash = /\/$/.test(value) ? '/' : '';
    return `${scheme}${www}${host}${slash}`;
  }

  private ip(value: string): string {
    const next = hmacPicker(this.key, `IP:${value.toLowerCase()}`);
    if (value.includes(':')) return value.replace(/[0-9a-f]/gi, () => '0123456789abcdef'.charAt(next(16)));
    return `10.${next(256)}.${next(256)}.${1 + next(254)}`;
  }

  private account(value: string): string {
    const d = value.replace(/\D/g, '');
    if (d.length >= 12 && luhnValid(d)) {
      const body = this.digits('ACCOUNT', value).replace(/\D/g, '').slice(0, -1);
      const full = body + luhnCheckDigit(body);
      let i = 0;
      return value.replace(/\d/g, () => full.charAt(i++));
    }
    return this.digits('ACCOUNT', value);
  }

  private state(value: string): string {
    const lex = lexicons();
    if (/^[A-Z]{2}$/.test(value))
      return this.pick(
        'STATE',
        value,
        [...lex.stateAbbr].filter((s) => s !== value),
        value,
      );
    return this.pick('STATE', value, [...lex.states.values()], value);
  }

  /** Layout-preserving: every digit (and letter, unless `letters` is false: "ext.") replaced by a keyed one of the same kind and case. */
  private digits(type: string, value: string, letters = true): string {
    const next = hmacPicker(this.key, `${type}:${value.toLowerCase()}`);
    let out = '';
    let first = true;
    for (const ch of value) {
      if (ch >= '0' && ch <= '9') {
        out += String(first ? 1 + next(9) : next(10));
        first = false;
      } else if (letters && /\p{Lu}/u.test(ch)) out += 'ABCDEFGHJKLMNPRSTUVWXYZ'.charAt(next(23));
      else if (letters && /\p{Ll}/u.test(ch)) out += 'abcdefghjkmnprstuvwxyz'.charAt(next(22));
      else out += ch;
    }
    return out === value ? `${out}0` : out;
  }

  /** Address and hospital names: numbers by digit, structural words kept, other words replaced like names. */
  private words(type: string, value: string): string {
    return value.replace(/[\p{L}\p{M}][\p{L}\p{M}'’.-]*|\d+/gu, (w) => {
      if (/^\d/.test(w)) return this.digits(type, w);
      const bare = w.toLowerCase().replace(/[.]$/, '');
      if (KEEP_WORDS.has(bare) || bare.length <= 1) return w;
      return this.pick(`${type}-word`, bare, lexicons().lastPool, w);
    });
  }
}
