/**
 * Developer tool (issue 15), not part of the suite: values from @faker-js/faker in a third set of sentence frames
 * written blind (chat, e-mail, news, social posts, lists and clinical notes; none from the presidio corpus,
 * fakerjs-probes.ts or pyfaker-frames.ts), where a value stands with a weak cue or none:
 *  - name, first, last: names of English-speaking and four European locales;
 *  - oov-first, oov-last: names of every locale with one vowel changed so that no lexicon holds them (the
 *    held-out half's names are often in no list: this is how the rules meet a name they cannot look up);
 *  - street, city: street addresses and towns of fifteen locales (European layouts: "Elmevej 5", "Incrocio
 *    Dolce 44", "Am Märchen 12").
 * Prints recall per kind and the findings outside the value.
 *   npx tsx packages/text/test/context-probe.ts /tmp/package [--misses] [--type=street]
 */
import { pathToFileURL } from 'node:url';
import { lexicons } from '../src/lexicon/names.ts';
import { runFrameProbe } from './frame-probe.ts';

interface FakerLike {
  seed(n: number): void;
  person: { firstName(): string; lastName(): string };
  location: { city(): string; streetAddress(): string };
}
const dir = process.argv[2];
if (dir === undefined || dir.startsWith('--')) throw new Error('usage: context-probe.ts FAKER_PACKAGE_DIR');
const { allFakers } = (await import(pathToFileURL(`${dir}/dist/index.js`).href)) as {
  allFakers: Record<string, FakerLike>;
};
const values: Record<string, Set<string>> = {};
const add = (kind: string, v: string | undefined) => {
  if (v === undefined || v.trim() === '') return;
  const set = values[kind] ?? new Set<string>();
  values[kind] = set;
  set.add(v);
};
for (const locale of ['en_US', 'en_GB', 'en_AU', 'en_CA', 'en_IE', 'en_IN', 'en_NG', 'en_ZA', 'de', 'fr', 'es', 'it']) {
  const f = allFakers[locale];
  if (f === undefined) continue;
  f.seed(7);
  for (let i = 0; i < 8; i++) {
    add('name', `${f.person.firstName()} ${f.person.lastName()}`);
    add('first', f.person.firstName());
    add('last', f.person.lastName());
  }
}
const places = [
  'en_US',
  'en_GB',
  'en_AU',
  'en_CA',
  'de',
  'fr',
  'es',
  'it',
  'nl',
  'pl',
  'hu',
  'da',
  'sv',
  'fi',
  'pt_BR',
];
for (const locale of places) {
  const f = allFakers[locale];
  if (f === undefined) continue;
  f.seed(11);
  for (let i = 0; i < 8; i++) {
    add('street', f.location.streetAddress());
    add('city', f.location.city());
  }
}
// Out-of-lexicon names: one vowel after the first letter changed (seeded), kept only when no list holds the result.
const lex = lexicons();
let seed = 99;
const rnd = () => {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return seed / 0x7fffffff;
};
const unknown = (w: string): string | undefined => {
  if (!/^[\p{Script=Latin}\p{M}'’-]{4,}$/u.test(w)) return undefined;
  for (let tries = 0; tries < 6; tries++) {
    const at = [...w].flatMap((c, i) => (i > 0 && 'aeiou'.includes(c) ? [i] : []));
    if (at.length === 0) return undefined;
    const i = at[Math.floor(rnd() * at.length)]!;
    const m = w.slice(0, i) + 'aeiou'.replace(w[i]!, '')[Math.floor(rnd() * 4)]! + w.slice(i + 1);
    const l = m.toLowerCase();
    if (!lex.first.has(l) && !lex.last.has(l) && !lex.words.has(l) && !lex.cities.has(l)) return m;
  }
  return undefined;
};
for (const [locale, f] of Object.entries(allFakers)) {
  if (['base', 'en_BORK', 'en_AU_ocker'].includes(locale)) continue;
  f.seed(3);
  for (let i = 0; i < 3; i++) {
    add('oov-first', unknown(f.person.firstName()));
    add('oov-last', unknown(f.person.lastName()));
  }
}

const FRAMES: Record<string, string[]> = {
  name: [
    'lol did you see what {p} posted',
    'Congratulations to {p} on the promotion!',
    '{p} (born 1962) is a retired teacher.',
    'Photo credit: {p}',
    'RT @news: {p} wins the local election',
    'Attendees: {p}, the treasurer and two guests.',
    'Forwarded message from {p}',
    'According to {p}, the road will reopen soon.',
    'Ward round with {p}; plan unchanged.',
    'I think {p} would agree with you.',
    'Reviewed with attending {p} today.',
    'Can I speak with {p} please?',
    'Thank you {p} for the quick reply.',
    "{p}'s account was suspended.",
    'Ask for {p} at reception.',
    'Written by {p}',
    'From: {p} <office@example.org>',
    '{p}, 45, was arrested on Friday.',
    'Our new intern, {p}, starts Monday.',
    "I'm {p}, your nurse today.",
    'This is {p} from billing.',
    'It was {p} who called.',
    'Send my regards to {p}.',
    'Who is {p}?',
    '{p} was born in 1980 in a small town.',
    'Employee: {p}',
    'Both {p} and I agree.',
  ],
  first: [
    'ok {p} see you at 5',
    'Where is {p} today?',
    'Me and {p} went to the beach.',
    'Happy birthday {p}!!',
    '{p} is allergic to penicillin per her daughter.',
    'Spoke with {p} (daughter) by phone.',
    'Is {p} still on the rota?',
    'My son {p} has a fever.',
    'I miss you {p}',
    'Has anyone seen {p}?',
    'Waiting for {p} to finish the report.',
    'Lunch with {p} was fun.',
    "{p}'s mum called the ward.",
    'Thanks, {p}',
    'Regards,\n{p}',
    'Is this {p}?',
    'Say hi to {p} for me.',
    '{p} and I are flying out tonight.',
  ],
  last: [
    'Per {p}, the scan was uneventful.',
    'Referred by {p} for follow-up.',
    'Officer {p} took the statement.',
    'Coach {p} resigned on Monday.',
    'The {p}s are away for the weekend.',
    'Contact {p} in billing for a refund.',
    'Pt seen by {p} in clinic.',
    'Go {p}!',
    'Senator {p} voted against the bill.',
    'Nurse {p} changed the dressing.',
    'Mr and Mrs {p} attended.',
    "{p}'s lawyer filed the appeal.",
    'Letter from the {p} family.',
    'Dear Dr {p},',
  ],
  'oov-first': [
    '{p} called about the bill.',
    'I met {p} yesterday.',
    'Happy birthday {p}!!',
    'Me and {p} went out.',
    'Has anyone seen {p}?',
    'Thanks, {p}',
    'My son {p} has a fever.',
    'Is {p} coming?',
  ],
  'oov-last': [
    'Mrs. {p} called.',
    'Per {p}, the scan was fine.',
    'The {p} family moved in.',
    'Contact {p} in billing.',
    'Officer {p} took the statement.',
    'Referred by {p}.',
    'Ask {p} about it.',
    "{p}'s lawyer filed the appeal.",
  ],
  street: [
    'We walked past {p} on the way home.',
    'The fire at {p} was put out quickly.',
    'Parcel left at {p}, by the side door.',
    'Her office moved to {p} in March.',
    'Is {p} still the right address?',
    'Pick up from {p} at 7.',
    'Location of incident: {p}',
    'Found wandering near {p} by police.',
  ],
  city: [
    'Greetings from {p}!',
    'She commutes between {p} and the coast.',
    'The {p} branch will close.',
    'Flight delayed out of {p}.',
    'Patient is visiting from {p}.',
    'Transferred to {p} General for ICU care.',
    'Lives alone in {p} with her cat.',
    '{p} weather is terrible today.',
  ],
};
runFrameProbe(FRAMES, values, { over: true });
