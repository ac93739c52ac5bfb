/**
 * Developer tool (issue 15): person names of the DEVELOPMENT half (their values only, as the corpus writes them:
 * capitalised, lower case, capitals, with initials) put into 32 sentence frames written for this check (e-mail,
 * clinical note and chat shapes; none taken from the corpus), to see which names the rules miss outside the
 * corpus's own templates. Usage: npx tsx packages/text/test/dev-frames.ts [--misses]
 */
import { detectPhi } from '@veil/text';
import { valueCovered } from './frame-probe.ts';
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

/** Frames for the other types (same rule: written for this check, not from the corpus). */
export const TYPED_FRAMES: Record<string, string[]> = {
  GPE: [
    'I live in {p}.',
    'She moved to {p} last year.',
    '{p} is lovely in spring.',
    'Flights to {p} are cheap now.',
    'He was born in {p} and studied abroad.',
    'We met in {p}, then drove home.',
    'The office in {p} closed.',
    'He grew up near {p}.',
    'Transferred from a hospital in {p}.',
    'Lives alone in {p}; daughter nearby.',
  ],
  ZIP_CODE: ['ZIP {p}', 'zip code {p}', 'Postcode: {p}', 'postal code is {p}.', 'Mail goes to PO Box 12, {p}'],
  STREET_ADDRESS: [
    'I live at {p}.',
    'Send it to {p}, please.',
    'Address: {p}',
    'The clinic is on {p}.',
    'Meet me at {p} tomorrow.',
    'Home address\n{p}',
    'Patient resides at {p} with her son.',
  ],
  PHONE_NUMBER: ['call me at {p}', 'Phone: {p}', 'tel. {p}', 'reach her on {p} after 5', 'Cell {p} (preferred)'],
};

const dev = loadCorpus(sharedDir).filter((r) => r.template_id % 2 === 0);
const values = (type: string) =>
  [...new Set(dev.flatMap((r) => r.spans.filter((s) => s.entity_type === type).map((s) => s.entity_value)))].filter(
    (n) => n.trim() !== '' && n.toLowerCase() !== 'nan',
  );

function run(type: string, frames: readonly string[], variant: (v: string) => string = (v) => v, label = ''): void {
  const vals = values(type).map(variant);
  let gold = 0;
  let found = 0;
  const misses: string[] = [];
  vals.forEach((p, k) => {
    const q = vals[(k * 7 + 3) % vals.length]!;
    for (const f of frames) {
      const text = f.replace('{p}', p).replace('{q}', q);
      const start = text.indexOf(p);
      const spans = detectPhi(text);
      gold++;
      if (valueCovered(text, start, p.length, spans)) found++;
      else misses.push(`${JSON.stringify(p)} in ${JSON.stringify(f)}`);
    }
  });
  console.log(
    `dev ${type}${label} in frames: recall ${(found / gold).toFixed(3)} (${found}/${gold}), ${vals.length} values`,
  );
  if (process.argv.includes('--misses')) for (const m of misses) console.log('MISS', type, m);
}

// As written, then in lower case and in capitals (the corpus's generator writes values all three ways).
for (const [variant, label] of [
  [(v: string) => v, ''],
  [(v: string) => v.toLowerCase(), ' lower'],
  [(v: string) => v.toUpperCase(), ' UPPER'],
] as const) {
  run('PERSON', FRAMES, variant, label);
  for (const [t, f] of Object.entries(TYPED_FRAMES)) run(t, f, variant, label);
}
