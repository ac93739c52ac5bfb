/**
 * Developer tool (issue 15): person names of the DEVELOPMENT half (their values only, as the corpus writes them:
 * capitalised, lower case, capitals, with initials) put into 32 sentence frames written for this check (e-mail,
 * clinical note and chat shapes; none taken from the corpus), to see which names the rules miss outside the
 * corpus's own templates. Usage: npx tsx packages/text/test/dev-frames.ts [--misses]
 */
import { detectPhi } from '@veil/text';
import { loadCorpus } from './presidio-eval.ts';
import { sharedDir } from './support.ts';

export const FRAMES = [
  'I spoke with {p} yesterday about the results.',
  '{p} will be there at noon.',
  'Please forward this to {p}.',
  'According to {p}, the scan was fine.',
  'The report was signed off by {p}.',
  '{p} (the patient’s daughter) called this morning.',
  'We thank {p} for the kind referral.',
  'Contact: {p}',
  'cc: {p}',
  'Meeting with {p} and {q} on the ward.',
  'Attending physician {p} reviewed the images.',
  '{p}’s phone number changed last week.',
  'Is {p} available tomorrow?',
  'Hello {p}, thanks for your email.',
  'From: {p}\nTo: {q}\nSubject: follow-up',
  'Best,\n{p}',
  'The children, {p} and {q}, are well.',
  "Mother's name: {p}",
  'Emergency contact {p}, daughter.',
  '{p} was admitted on the ward.',
  'Husband {p} at the bedside.',
  'Discussed with {p} by phone.',
  'Ask for {p} at the front desk.',
  'Why did {p} leave early?',
  'I think {p} knows the answer.',
  'Both {p} and I agree.',
  'Thanks, {p}!',
  'Regards,\n{p}',
  'Dear {p},\nYour appointment is confirmed.',
  'Transported by {p} to radiology.',
  'Results given to {p} in person.',
  'lol {p} said that again',
];

const dev = loadCorpus(sharedDir).filter((r) => r.template_id % 2 === 0);
const names = [
  ...new Set(dev.flatMap((r) => r.spans.filter((s) => s.entity_type === 'PERSON').map((s) => s.entity_value))),
].filter((n) => n.trim() !== '' && n.toLowerCase() !== 'nan');
let gold = 0;
let found = 0;
const misses = new Map<string, number>();
names.forEach((p, k) => {
  const q = names[(k * 7 + 3) % names.length]!;
  for (const f of FRAMES) {
    const text = f.replace('{p}', p).replace('{q}', q);
    const start = text.indexOf(p);
    const spans = detectPhi(text);
    gold++;
    let ok = true;
    for (let i = start; i < start + p.length; i++)
      if (/[\p{L}\p{N}]/u.test(text.charAt(i)) && !spans.some((s) => s.start <= i && i < s.end)) ok = false;
    if (ok) found++;
    else misses.set(`${JSON.stringify(p)} in ${JSON.stringify(f)}`, 1);
  }
});
console.log(`dev names in frames: recall ${(found / gold).toFixed(3)} (${found}/${gold}), ${names.length} names`);
if (process.argv.includes('--misses')) for (const m of misses.keys()) console.log('MISS', m);
