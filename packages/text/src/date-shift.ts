/**
 * Shifts a date written in any of the forms detect/dates.ts finds by a number of days, writing it back in the same
 * form: "March 3rd, 2020" + 30 -> "April 2nd, 2020"; "04.03.2020" stays day-first; "2020-03-04 11:34" keeps its
 * time; "Mar 2020" is shifted from the middle of the month; a year alone from the middle of the year; a weekday by
 * the same number of days. Returns undefined when the text is not a date it can read (the caller then removes it).
 *
 * Example:
 *   shiftDateText('3/4/2020', 30, 'mdy');   // '4/3/2020'
 *   shiftDateText('Tuesday', 1, 'mdy');     // 'Wednesday'
 */
import { civilFromDays, daysFromCivil, validYmd } from './calendar.ts';
import { MONTHS, WEEKDAYS } from './detect/dates.ts';

export type DateOrder = 'mdy' | 'dmy';

interface Piece {
  start: number;
  end: number;
  text: string;
  num: boolean;
}

function styleLike(sample: string, full: string): string {
  const bare = sample.replace(/\.$/, '');
  let out = full;
  if (bare.length <= 4) out = /^sept$/i.test(bare) && full === 'september' ? 'sept' : full.slice(0, 3);
  if (bare.length > 1 && bare === bare.toUpperCase()) out = out.toUpperCase();
  else if (bare.charAt(0) === bare.charAt(0).toUpperCase()) out = out.charAt(0).toUpperCase() + out.slice(1);
  return out + (sample.endsWith('.') ? '.' : '');
}

function ordinal(n: number): string {
  const t = n % 100;
  if (t >= 11 && t <= 13) return 'th';
  return ['th', 'st', 'nd', 'rd'][n % 10] ?? 'th';
}

/** A time after a date: hours and minutes, seconds and fractions, am/pm, a zone. */
const TIME_TAIL = /^[T ]\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:\s?(?:[ap]\.?m\.?|z|utc|gmt|[+-]\d{2}:?\d{2}))?$/i;
/** Words a written date holds besides months and weekdays: ordinal endings, "of", "the", "de" ("3 de marzo"). */
const DATE_FILLERS = new Set(['st', 'nd', 'rd', 'th', 'of', 'the', 'de', 'del', 'le', 'der', 'den', 't', 'z']);

function isDateWord(word: string): boolean {
  const w = word.toLowerCase().replace(/\.$/, '');
  return (
    DATE_FILLERS.has(w) || monthIndex(w) >= 0 || (w.length >= 3 && WEEKDAYS.some((d) => d.startsWith(w.slice(0, 3))))
  );
}

function monthIndex(word: string): number {
  const w = word.toLowerCase().replace(/\.$/, '');
  if (w.length < 3) return -1;
  return MONTHS.findIndex((m) => m.startsWith(w) || (w === 'sept' && m === 'september'));
}

export function shiftDateText(value: string, days: number, order: DateOrder): string | undefined {
  const timeAt = value.search(/[T ]\d{1,2}:\d{2}/);
  const head = timeAt > 0 ? value.slice(0, timeAt) : value;
  const tail = timeAt > 0 ? value.slice(timeAt) : '';
  // Only a date's own words are written back: a finding merged with a neighbour ("Massachusetts General Hospital
  // on March 3rd, 2020") would otherwise keep the neighbour's words in the surrogate.
  if (tail !== '' && !TIME_TAIL.test(tail)) return undefined;
  const pieces: Piece[] = [];
  for (const m of head.matchAll(/\d+|[\p{L}]+\.?/gu)) {
    pieces.push({ start: m.index, end: m.index + m[0].length, text: m[0], num: /^\d/.test(m[0]) });
  }
  for (const p of pieces) if (!p.num && !isDateWord(p.text)) return undefined;
  // Weekday alone.
  const wd =
    pieces.length === 1 ? WEEKDAYS.findIndex((w) => w.startsWith(pieces[0]!.text.toLowerCase().slice(0, 3))) : -1;
  if (wd >= 0 && !pieces[0]!.num) {
    const next = WEEKDAYS[(((wd + days) % 7) + 7) % 7]!;
    return styleLike(pieces[0]!.text, next) + tail;
  }
  const nums = pieces.filter((p) => p.num);
  const monthPiece = pieces.find((p) => !p.num && monthIndex(p.text) >= 0);
  let y: Piece | undefined;
  let mo: Piece | undefined;
  let d: Piece | undefined;
  let month = 0;
  if (monthPiece) {
    month = monthIndex(monthPiece.text) + 1;
    for (const p of nums) {
      const apostropheYear = head.charAt(p.start - 1) === "'";
      if (p.text.length === 4 || apostropheYear) y = p;
      else if (!d && Number(p.text) <= 31) d = p;
      else if (!y) y = p;
    }
  } else if (nums.length === 1 && nums[0]!.text.length === 4) {
    y = nums[0];
  } else if (nums.length === 3 && nums[0]!.text.length === 4) {
    [y, mo, d] = nums;
  } else if (nums.length === 3) {
    const [a, b, c] = nums as [Piece, Piece, Piece];
    const dotted = head.includes('.');
    let dmy = order === 'dmy' || dotted;
    if (Number(a.text) > 12) dmy = true;
    else if (Number(b.text) > 12) dmy = false;
    [d, mo] = dmy ? [a, b] : [b, a];
    y = c;
  } else if (nums.length === 2 && nums[1]!.text.length === 4) {
    [mo, y] = nums;
  } else if (nums.length === 2) {
    const [a, b] = nums as [Piece, Piece];
    const dmy = Number(a.text) > 12 || (order === 'dmy' && Number(b.text) <= 12);
    [d, mo] = dmy ? [a, b] : [b, a];
  } else {
    return undefined;
  }
  if (mo) month = Number(mo.text);
  let year = 2000;
  let twoDigit = false;
  if (y) {
    const t = y.text;
    twoDigit = t.length === 2;
    year = twoDigit ? (Number(t) < 50 ? 2000 + Number(t) : 1900 + Number(t)) : Number(t);
  }
  let mm = month || 7;
  let dd = d ? Number(d.text) : month ? 15 : 2;
  if (!validYmd(year, mm, dd)) return undefined;
  const r = civilFromDays(daysFromCivil(year, mm, dd) + days);
  if (r.y < 1 || r.y > 9999) return undefined;
  mm = r.m;
  dd = r.d;
  const repl = new Map<Piece, string>();
  if (y) repl.set(y, twoDigit ? String(r.y % 100).padStart(2, '0') : String(r.y).padStart(y.text.length, '0'));
  // Two-digit fields stay two digits ("12.31.2019" -> "02.09.2020"); one-digit fields stay unpadded.
  if (mo) repl.set(mo, String(mm).padStart(mo.text.length >= 2 ? 2 : 1, '0'));
  if (monthPiece) repl.set(monthPiece, styleLike(monthPiece.text, MONTHS[mm - 1]!));
  // With a month name, days are zero-padded only when they were ("March 12" -> "April 5", "05-JAN-2020" -> "14-FEB-2020").
  const padDay = d !== undefined && d.text.length >= 2 && (!monthPiece || d.text.startsWith('0'));
  if (d) repl.set(d, String(dd).padStart(padDay ? 2 : 1, '0'));
  let out = '';
  let pos = 0;
  for (const p of pieces) {
    const r2 = repl.get(p);
    out += head.slice(pos, p.start);
    if (r2 !== undefined) out += r2;
    else if (!p.num && /^(?:st|nd|rd|th)$/i.test(p.text) && d && p.start === d.end) out += ordinal(dd);
    else out += p.text;
    pos = p.end;
  }
  out += head.slice(pos);
  // Ordinal suffix attached to the day ("3rd" is one piece "3" then "rd").
  return out + tail;
}
