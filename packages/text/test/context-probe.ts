/**
 * Developer tool (issue 15), not part of the suite: names (full, first only, surname only) from @faker-js/faker's
 * English-speaking locales in a third set of sentence frames written blind (chat, e-mail, news, social posts, lists
 * and clinical notes; none from the presidio corpus, fakerjs-probes.ts or pyfaker-frames.ts): where a name stands
 * with a weak cue or none. Prints recall per kind and the findings outside the value.
 *   npx tsx packages/text/test/context-probe.ts /tmp/package [--misses] [--type=first]
 */
import { pathToFileURL } from 'node:url';
import { runFrameProbe } from './frame-probe.ts';

const dir = process.argv[2];
if (dir === undefined || dir.startsWith('--')) throw new Error('usage: context-probe.ts FAKER_PACKAGE_DIR');
const { allFakers } = (await import(pathToFileURL(`${dir}/dist/index.js`).href)) as {
  allFakers: Record<string, { seed(n: number): void; person: { firstName(): string; lastName(): string } }>;
};
const values: Record<string, Set<string>> = { name: new Set(), first: new Set(), last: new Set() };
for (const locale of ['en_US', 'en_GB', 'en_AU', 'en_CA', 'en_IE', 'en_IN', 'en_NG', 'en_ZA', 'de', 'fr', 'es', 'it']) {
  const f = allFakers[locale];
  if (f === undefined) continue;
  f.seed(7);
  for (let i = 0; i < 8; i++) {
    values.name!.add(`${f.person.firstName()} ${f.person.lastName()}`);
    values.first!.add(f.person.firstName());
    values.last!.add(f.person.lastName());
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
  ],
};
runFrameProbe(FRAMES, values, { over: true });
