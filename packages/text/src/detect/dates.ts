/**
 * Dates in the ways people write them: ISO (2020-03-04, with or without a time), numeric (3/4/2020, 04.03.2020,
 * 3-4-20), with month names (March 4, 2020; 4th March 2020; Mar-2020; 04-MAR-2020), weekdays, and years standing
 * alone. Relative expressions ("3 days ago", "two weeks later", "yesterday") are not dates to shift and are never
 * matched: none of the shapes below has a unit of time in it. A bare month/day ("3/4") needs a cue ("on", "since",
 * "DOB") because it is also a fraction.
 */
import type { Span } from '../types.ts';

export const MONTHS = [
  'january',
  'february',
  'march',
  'april',
  'may',
  'june',
  'july',
  'august',
  'september',
  'october',
  'november',
  'december',
];
export const WEEKDAYS = ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'];
/** Month and weekday names, lowercased: words that are never a name or a place on their own. */
export const CALENDAR: ReadonlySet<string> = new Set([...MONTHS, ...WEEKDAYS]);

const MON =
  '(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\\.?';
const DAY = '(?:0?[1-9]|[12]\\d|3[01])(?:st|nd|rd|th)?';
const YEAR = "(?:1[89]\\d\\d|20\\d\\d|'\\d\\d)";
const TIME = '(?:[T ]\\d{1,2}:\\d{2}(?::\\d{2}(?:\\.\\d+)?)?(?:Z|[+-]\\d{2}:?\\d{2})?)?';

export const DATE_RULES: readonly [RegExp, string, number][] = [
  [
    new RegExp(`\\b(?:1[89]|20)\\d\\d-(?:0?[1-9]|1[0-2])-(?:0?[1-9]|[12]\\d|3[01])${TIME}(?![\\d-])`, 'g'),
    'date.iso',
    0.97,
  ],
  [/\b(?:1[89]|20)\d\d[/.](?:0?[1-9]|1[0-2])[/.](?:0?[1-9]|[12]\d|3[01])(?![\d/.])/g, 'date.ymd', 0.95],
  [
    /(?<![\d/.-])(?:0?[1-9]|[12]\d|3[01])([/.-])(?:0?[1-9]|[12]\d|3[01])\1(?:1[89]\d\d|20\d\d|\d\d)(?![\d/-]|\.\d)/g,
    'date.numeric',
    0.95,
  ],
  [new RegExp(`\\b${DAY}(?:\\s+of)?[\\s-]+${MON}(?:,?[\\s-]+${YEAR})?\\b`, 'gi'), 'date.dmy', 0.93],
  [new RegExp(`\\b${MON}[\\s-]+${DAY}(?:,?\\s+${YEAR})?\\b`, 'gi'), 'date.mdy', 0.93],
  [new RegExp(`\\b${MON}[\\s,-]+(?:of\\s+)?(?:1[89]\\d\\d|20\\d\\d)\\b`, 'gi'), 'date.my', 0.9],
  [/\b(?:0?[1-9]|1[0-2])\/(?:1[89]\d\d|20\d\d)\b/g, 'date.numeric.my', 0.85],
  [
    /\b(?:on|since|from|until|till|dated|dob|d\.o\.b\.?|born|date|admitted|discharged)\s*:?\s*((?:0?[1-9]|1[0-2])\/(?:0?[1-9]|[12]\d|3[01]))(?![\d/])/gi,
    'date.md',
    0.85,
  ],
  [/\b(?:mon|tues?|wed(?:nes)?|thu(?:rs?)?|fri|sat(?:ur)?|sun)day\b/gi, 'date.weekday', 0.6],
  [/(?<![\d.,#-])(?:1[89]\d\d|20\d\d)(?![.,]?\d|\s*(?:mg|mcg|ml|mm|cm|kg|g|%|units?|cc|hu|ms)\b)/g, 'date.year', 0.55],
];

/** The month words: "May" alone is a verb or a name far more often than a date, so it needs a number beside it. */
export function detectDates(text: string): Span[] {
  const out: Span[] = [];
  for (const [re, rule, confidence] of DATE_RULES) {
    re.lastIndex = 0;
    for (const m of text.matchAll(re)) {
      let start = m.index;
      let end = start + m[0].length;
      if (m[1] !== undefined && rule === 'date.md') {
        start = m.index + m[0].lastIndexOf(m[1]);
        end = start + m[1].length;
      }
      // "10 mar" inside words like "10 market" is excluded by \b; "Mar" as a surname before a year is rare.
      out.push({ start, end, type: 'DATE', confidence, rule });
    }
  }
  return out;
}
