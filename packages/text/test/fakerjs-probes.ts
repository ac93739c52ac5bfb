/**
 * Developer tool (issue 15), not part of the suite: values made by @faker-js/faker (70 locales, seeded) put into
 * sentence frames written for this check (none from the presidio corpus), as written, all in lower case and all
 * in capitals; prints recall per kind of value (every letter and digit of the value must lie inside a finding).
 * Only Latin-script names are used (non-Latin names are found by script, see foreign-script); cities and streets
 * of every script are kept. The lexicons hold faker-js's names, cities and street words since issue 15, so for
 * those kinds the check is partly circular; the frames, cues and layouts are what it tests.
 *
 * Usage: (cd /tmp && npm pack @faker-js/faker@10.1.0 && tar xzf faker-js-faker-10.1.0.tgz)
 *        npx tsx packages/text/test/fakerjs-probes.ts /tmp/package [--misses] [--type=city]
 */
import { pathToFileURL } from 'node:url';
import { runFrameProbe } from './frame-probe.ts';

const dir = process.argv[2];
if (dir === undefined || dir.startsWith('--')) throw new Error('usage: fakerjs-probes.ts FAKER_PACKAGE_DIR');
const { allFakers } = (await import(pathToFileURL(`${dir}/dist/index.js`).href)) as {
  allFakers: Record<string, FakerLike>;
};

interface FakerLike {
  seed(n: number): void;
  person: { firstName(): string; lastName(): string };
  location: { city(): string; streetAddress(): string; zipCode(): string };
  phone: { number(): string };
}

const LATIN = /^[\p{Script=Latin}\p{M}0-9 .,'’\-\n#/]+$/u;
const values: Record<string, Set<string>> = {
  name: new Set(),
  first: new Set(),
  last: new Set(),
  city: new Set(),
  street: new Set(),
  zip: new Set(),
  phone: new Set(),
};
for (const [locale, f] of Object.entries(allFakers)) {
  if (['base', 'en_BORK', 'en_AU_ocker'].includes(locale)) continue;
  f.seed(42);
  const take = (key: string, make: () => string, latinOnly = true) => {
    try {
      const v = make();
      if (v.trim() !== '' && (!latinOnly || LATIN.test(v))) values[key]!.add(v);
    } catch {
      // a locale without that definition
    }
  };
  for (let i = 0; i < 6; i++) {
    take('name', () => `${f.person.firstName()} ${f.person.lastName()}`);
    take('first', () => f.person.firstName());
    take('last', () => f.person.lastName());
    take('city', () => f.location.city(), false);
    take('street', () => f.location.streetAddress(), false);
    take('zip', () => f.location.zipCode());
    take('phone', () => f.phone.number());
  }
}

const FRAMES: Record<string, string[]> = {
  name: [
    'My name is {p} and I need help with my order.',
    'Please ask {p} to call me back.',
    'I was helped by {p} at the store.',
    'This letter is for {p}.',
    'Can you transfer me to {p}?',
    'The account belongs to {p}.',
    '{p} wrote the song in 1998.',
    'Yesterday {p} told me the news.',
    'Hi {p}, how are you?',
    'Sincerely,\n{p}',
    'Name: {p}\nPhone: 555-0101',
    'The film stars {p} as a detective.',
    'My sister {p} lives nearby.',
    'Signed: {p}',
    'Patient: {p}',
    'I am writing on behalf of {p}.',
    'Her husband, {p}, is the contact.',
    'The book by {p} was a bestseller.',
    'Mr. {p} is waiting outside.',
    'Dr. {p} reviewed the scan.',
    'Can {p} sign for the package?',
    'Tell {p} I said hello.',
    'Interview with {p} about the new album',
    'Card holder: {p}',
    'Please add {p} as an authorized user.',
  ],
  first: [
    'Hey {p}, thanks!',
    '{p} said she would come.',
    'Everyone calls me {p}.',
    'Ask {p}.',
    'I love you {p}',
    'Good morning {p}!',
  ],
  last: [
    'Mrs. {p} called.',
    'Her maiden name is {p}.',
    'Family name: {p}',
    'Prof. {p} gave a talk.',
    'The {p} family moved in.',
  ],
  city: [
    'I live in {p}.',
    'We are flying to {p} tomorrow.',
    'She was born in {p}.',
    'The package is stuck in {p}.',
    'He moved from {p} last year.',
    'Our office in {p} is closed.',
    'Weather in {p} today',
    'I am currently in {p} for work.',
    'City: {p}',
    'Shipping to {p}, please.',
  ],
  street: [
    'I live at {p}.',
    'Please ship it to {p}.',
    'Address: {p}',
    'My new address is {p}, apartment 4.',
    'The store on {p} is closed.',
    'Meet me at {p} at noon.',
    'Return to {p} if undelivered.',
    'Billing address: {p}\nCity: Springfield',
  ],
  zip: ['My zip code is {p}.', 'Postal code: {p}', 'ZIP {p}', 'postcode {p}', 'Please update my postcode to {p}.'],
  phone: ['Call me at {p}.', 'Phone: {p}', 'My number is {p}', 'Mobile: {p}', 'Text {p} after six.'],
};
runFrameProbe(FRAMES, values);
