/**
 * Trains the name/place tagger of @veil/text (src/detect/tagger.ts) and, run as a script, writes its weights to
 * src/lexicon/_generated/tagger-weights.ts. Deterministic (seeded), one core, well under a minute.
 *
 * Training text, from the DEVELOPMENT half of the presidio corpus only (even template ids; the held-out half and
 * templates.txt are never read): each record as written, and its template (the record with its gold values cut
 * out) refilled with names and places drawn from the Debian/faker lexicons (never from the corpus: baseLexicons)
 * and with the other types' values of the same records; plus clinical and e-mail frames written here (drug names,
 * eponyms, anatomy, capitalised English words: all "other"). Every text three ways: as written, lower case,
 * capitals; and each refilled value itself sometimes lower case or capitals, as the corpus's generator writes them.
 * Labels per token: NAME (inside a PERSON value), CITY (inside a GPE value that is not a country), other; words of
 * addresses, organisations and country names are left out of the loss.
 *
 *   npx tsx packages/text/test/tagger-train.ts            (all development templates; writes the weights)
 * tagger-folds.ts uses the same functions to train on one half of the development templates and score the other.
 */
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TAGGER_BUCKETS, tokenFeatures } from '../src/detect/tagger-features.ts';
import { LATIN_CLINICAL, SAFE_PROPER } from '../src/lexicon/medical.ts';
import { baseLexicons } from '../src/lexicon/names.ts';
import { tokenize } from '../src/tokens.ts';
import { isLowercaseText } from '../src/truecase.ts';
import { loadCorpus, type Record_ } from './presidio-eval.ts';
import { sharedDir } from './support.ts';

export interface Labelled {
  text: string;
  /** gold values: NAME and CITY are learnt, OTHER (dates, titles, numbers) is class "other", IGNORE is left out */
  spans: { start: number; end: number; label: 'NAME' | 'CITY' | 'OTHER' | 'IGNORE' }[];
}

export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const pick = <T>(r: () => number, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
const title = (s: string) => s.replace(/(^|[\s\-'’])(\p{L})/gu, (_, a: string, b: string) => a + b.toUpperCase());

interface Pools {
  firstUS: string[];
  firstAll: string[];
  firstWord: string[];
  lastUS: string[];
  lastAll: string[];
  lastWord: string[];
  cityUS: string[];
  cityAll: string[];
  cityWord: string[];
  countries: Set<string>;
  other: Map<string, string[]>;
}

let basePools: Omit<Pools, 'other'> | undefined;

function pools(records: readonly Record_[]): Pools {
  if (!basePools) {
    const lex = baseLexicons();
    const ok = (s: string) => /^\p{L}[\p{L}'’-]*\p{L}$/u.test(s) && !SAFE_PROPER.has(s) && !LATIN_CLINICAL.has(s);
    const first = [...lex.first.keys()].filter(ok);
    const last = [...lex.last.keys()].filter(ok);
    const cities = [...lex.cities].filter((c) => /^\p{L}[\p{L} '’-]*\p{L}$/u.test(c) && !lex.countries.has(c));
    basePools = {
      firstUS: lex.firstPool,
      firstAll: first.map(title),
      firstWord: first.filter((w) => lex.words.has(w)).map(title),
      lastUS: lex.lastPool,
      lastAll: last.map(title),
      lastWord: last.filter((w) => lex.words.has(w)).map(title),
      cityUS: lex.cityPool,
      cityAll: cities.map(title),
      cityWord: cities.filter((c) => c.split(' ').every((w) => lex.words.has(w))).map(title),
      countries: lex.countries,
    };
  }
  const other = new Map<string, string[]>();
  for (const r of records)
    for (const s of r.spans) other.set(s.entity_type, [...(other.get(s.entity_type) ?? []), s.entity_value]);
  return { ...basePools, other };
}

function firstName(r: () => number, p: Pools): string {
  const x = r();
  return pick(r, x < 0.4 ? p.firstUS : x < 0.85 ? p.firstAll : p.firstWord);
}
function lastName(r: () => number, p: Pools): string {
  const x = r();
  return pick(r, x < 0.4 ? p.lastUS : x < 0.85 ? p.lastAll : p.lastWord);
}

/** A person value in one of the corpus's forms: full, first or last alone, with a middle initial. */
export function personValue(r: () => number, p: Pools): string {
  const x = r();
  const initial = String.fromCharCode(65 + Math.floor(r() * 26));
  if (x < 0.35) return `${firstName(r, p)} ${lastName(r, p)}`;
  if (x < 0.55) return firstName(r, p);
  if (x < 0.75) return lastName(r, p);
  if (x < 0.85)
    return `${firstName(r, p)} ${initial}.${r() < 0.5 ? '' : ' '}${r() < 0.5 ? ' ' : ''}${lastName(r, p)}`
      .replace(/\.\s*/, '. ')
      .replace(/\s+/g, ' ');
  if (x < 0.9) return `${firstName(r, p)} ${initial} ${lastName(r, p)}`;
  if (x < 0.95) return `${firstName(r, p)} ${lastName(r, p)}-${lastName(r, p)}`;
  return `${firstName(r, p)} ${firstName(r, p)} ${lastName(r, p)}`;
}

function cityValue(r: () => number, p: Pools): string {
  const x = r();
  return pick(r, x < 0.4 ? p.cityUS : x < 0.7 ? p.cityAll : p.cityWord);
}

function caseValue(r: () => number, v: string): string {
  const x = r();
  return x < 0.7 ? v : x < 0.85 ? v.toLowerCase() : v.toUpperCase();
}

/** The record's gold values as labels (GPE countries, addresses and organisations left out of the loss). */
function labelsOf(rec: Record_, countries: Set<string>): Labelled['spans'] {
  const out: Labelled['spans'] = [];
  for (const s of rec.spans) {
    const v = s.entity_value.trim().toLowerCase();
    const label =
      s.entity_type === 'PERSON'
        ? 'NAME'
        : s.entity_type === 'GPE'
          ? countries.has(v.replace(/\s*\(.*\)$/, ''))
            ? 'IGNORE'
            : 'CITY'
          : /^(?:STREET_ADDRESS|ORGANIZATION|NRP)$/.test(s.entity_type)
            ? 'IGNORE'
            : 'OTHER';
    out.push({ start: s.start_position, end: s.end_position, label });
  }
  return out;
}

/** The record with its values replaced: PERSON and GPE from the lexicons, the other types from `p.other`. */
function refill(rec: Record_, r: () => number, p: Pools): Labelled {
  const spans = [...rec.spans].sort((a, b) => a.start_position - b.start_position);
  let text = '';
  let pos = 0;
  const out: Labelled['spans'] = [];
  for (const s of spans) {
    if (s.start_position < pos) continue;
    text += rec.full_text.slice(pos, s.start_position);
    const t = s.entity_type;
    const v =
      t === 'PERSON'
        ? caseValue(r, personValue(r, p))
        : t === 'GPE'
          ? caseValue(r, cityValue(r, p))
          : pick(r, p.other.get(t) ?? [s.entity_value]);
    const label =
      t === 'PERSON'
        ? 'NAME'
        : t === 'GPE'
          ? 'CITY'
          : /^(?:STREET_ADDRESS|ORGANIZATION|NRP)$/.test(t)
            ? 'IGNORE'
            : 'OTHER';
    out.push({ start: text.length, end: text.length + v.length, label });
    text += v;
    pos = s.end_position;
  }
  text += rec.full_text.slice(pos);
  return { text, spans: out };
}

/** Clinical and e-mail frames written for the tagger: {N} a person, {C} a place, {D} a drug or eponym, {A} anatomy. */
const FRAMES = [
  'Patient {N} was seen today for follow-up of {D} disease.',
  'Started {D} 5 mg daily; review with {N} in two weeks.',
  'History of {D} syndrome. No acute findings in the {A}.',
  'Referred by {N} from the clinic in {C}.',
  'The {A} is unremarkable. Mild {D} changes noted.',
  'Impression: no evidence of {D} fracture. Signed, {N}',
  'Family history: mother with {D} disease; father lives in {C}.',
  'Discussed the results with the patient and her son {N}.',
  'Continue {D} and {D}. Follow up in clinic.',
  'Transferred from {C} General for further management.',
  'Seen with interpreter; wife {N} present.',
  'CT of the {A} shows a small lesion, likely benign.',
  'Will call back tomorrow. May need a repeat scan in six months.',
  'Bill sent to insurance. Mark the chart as reviewed.',
  'Plan: Follow Up In Two Weeks With Primary Care.',
  'Hi {N}, the report is attached. Best, {N}',
  'Nurse {N} gave {D} 10 mg IV at 14:00.',
  'She travelled to {C} last month and returned with a cough.',
  'Known {D} disease, on {D}. Lives alone in {C}.',
  'Reviewed by {N}; agree with the findings in the {A}.',
  'No change in the {A} since the prior exam.',
  'Grace period ends on Friday; Hope to see you soon.',
  'Assessment: stable. Will continue to monitor the {A}.',
  'Message from {N}: please call about the {D} refill.',
  'Dear {N}, your appointment in {C} is confirmed.',
  'Rose from bed without help; walked to the window.',
  'Daughter {N} drove him in from {C} this morning.',
  'Positive {D} sign on exam; {A} tender to palpation.',
];

function frameTexts(r: () => number, p: Pools, rounds: number): Labelled[] {
  const drugs = [...SAFE_PROPER].filter((w) => /^\p{L}+$/u.test(w));
  const anatomy = [...LATIN_CLINICAL, 'liver', 'spleen', 'left lung', 'right kidney', 'brain', 'pelvis', 'spine'];
  const out: Labelled[] = [];
  for (let k = 0; k < rounds; k++) {
    for (const f of FRAMES) {
      let text = '';
      const spans: Labelled['spans'] = [];
      for (const part of f.split(/(\{[NCDA]\})/)) {
        const v =
          part === '{N}'
            ? caseValue(r, personValue(r, p))
            : part === '{C}'
              ? caseValue(r, cityValue(r, p))
              : part === '{D}'
                ? title(pick(r, drugs))
                : part === '{A}'
                  ? pick(r, anatomy)
                  : part;
        if (part === '{N}' || part === '{C}')
          spans.push({ start: text.length, end: text.length + v.length, label: part === '{N}' ? 'NAME' : 'CITY' });
        text += v;
      }
      out.push({ text, spans });
    }
  }
  return out;
}

const threeWays = (xs: Labelled[]) =>
  xs.flatMap((x) => [x, { ...x, text: x.text.toLowerCase() }, { ...x, text: x.text.toUpperCase() }]);

/** These development records as written, with their gold labels. */
export function recordTexts(records: readonly Record_[]): Labelled[] {
  const p = pools(records);
  return records.map((rec) => ({ text: rec.full_text, spans: labelsOf(rec, p.countries) }));
}

/** The records' templates refilled `rounds` times (names and places from the lexicons), three ways each. */
export function refilledTexts(records: readonly Record_[], seed: number, rounds: number): Labelled[] {
  const r = rng(seed);
  const p = pools(records);
  const out: Labelled[] = [];
  for (let k = 0; k < rounds; k++) for (const rec of records) out.push(refill(rec, r, p));
  return threeWays(out);
}

/** The training texts of these development records: as written, refilled, and the frames; three ways each. */
export function trainingTexts(records: readonly Record_[], seed: number, rounds = 12): Labelled[] {
  const p = pools(records);
  return [
    ...threeWays(recordTexts(records)),
    ...refilledTexts(records, seed, rounds),
    ...threeWays(frameTexts(rng(seed + 7), p, Math.max(4, rounds))),
  ];
}

export interface Example {
  feats: number[];
  label: number;
}

const CLASS = { NAME: 1, CITY: 2 } as const;

/** Token examples: hashed features and class (0 other, 1 name, 2 place); 15% of words lose their lexicon features. */
export function examples(texts: readonly Labelled[], seed: number): Example[] {
  const r = rng(seed);
  const out: Example[] = [];
  for (const x of texts) {
    const tokens = tokenize(x.text);
    const lowerText = isLowercaseText(tokens);
    const drop = tokens.map(() => r() < 0.15);
    const feats = tokenFeatures(x.text, tokens, { lowerText, dropLexicon: (i) => drop[i]! });
    tokens.forEach((t, i) => {
      const s = x.spans.find((g) => g.start < t.end && t.start < g.end);
      if (s?.label === 'IGNORE') return;
      out.push({ feats: feats.get(i)!, label: s?.label === 'NAME' || s?.label === 'CITY' ? CLASS[s.label] : 0 });
    });
  }
  return out;
}

export interface TrainOptions {
  epochs?: number;
  /** learning rate of the first epoch (divided by 1 + epoch after) */
  lr?: number;
  /** weight decay applied after each epoch (a cheap L2) */
  decay?: number;
}

/** Multinomial logistic regression by SGD (seeded shuffle); returns the weights relative to class "other". */
export function train(
  data: readonly Example[],
  seed: number,
  { epochs = 6, lr: lr0 = 0.2, decay = 0 }: TrainOptions = {},
): { name: Float32Array; city: Float32Array } {
  const w = [new Float32Array(TAGGER_BUCKETS), new Float32Array(TAGGER_BUCKETS), new Float32Array(TAGGER_BUCKETS)];
  const r = rng(seed);
  const order = data.map((_, k) => k);
  for (let e = 0; e < epochs; e++) {
    for (let k = order.length - 1; k > 0; k--) {
      const j = Math.floor(r() * (k + 1));
      [order[k], order[j]] = [order[j]!, order[k]!];
    }
    const lr = lr0 / (1 + e);
    for (const k of order) {
      const ex = data[k]!;
      const z = [0, 0, 0];
      for (const h of ex.feats) for (let c = 0; c < 3; c++) z[c]! += w[c]![h]!;
      const top = Math.max(z[0]!, z[1]!, z[2]!);
      const ez = z.map((v) => Math.exp(v - top));
      const sum = ez[0]! + ez[1]! + ez[2]!;
      for (let c = 0; c < 3; c++) {
        const g = lr * (ez[c]! / sum - (ex.label === c ? 1 : 0));
        if (g === 0) continue;
        const wc = w[c]!;
        for (const h of ex.feats) wc[h]! -= g;
      }
    }
    if (decay > 0) for (const wc of w) for (let h = 0; h < TAGGER_BUCKETS; h++) wc[h]! *= 1 - decay;
  }
  const name = new Float32Array(TAGGER_BUCKETS);
  const city = new Float32Array(TAGGER_BUCKETS);
  for (let h = 0; h < TAGGER_BUCKETS; h++) {
    name[h] = w[1]![h]! - w[0]![h]!;
    city[h] = w[2]![h]! - w[0]![h]!;
  }
  return { name, city };
}

/** The compact form read by decodeModel: int8 weights (times `scale`), varint bucket deltas, base64. */
export function encode(weights: { name: Float32Array; city: Float32Array }): { base64: string; scale: number } {
  let max = 0;
  for (let h = 0; h < TAGGER_BUCKETS; h++) max = Math.max(max, Math.abs(weights.name[h]!), Math.abs(weights.city[h]!));
  const scale = max / 127;
  const bytes: number[] = [];
  let prev = -1;
  for (let h = 0; h < TAGGER_BUCKETS; h++) {
    const a = Math.round(weights.name[h]! / scale);
    const b = Math.round(weights.city[h]! / scale);
    if (a === 0 && b === 0) continue;
    let d = h - prev;
    prev = h;
    while (d >= 0x80) {
      bytes.push((d & 0x7f) | 0x80);
      d >>>= 7;
    }
    bytes.push(d, a & 0xff, b & 0xff);
  }
  return { base64: Buffer.from(bytes).toString('base64'), scale };
}

/** Development records of the given template ids (a filter over even ids only). */
export function devRecords(keep: (templateId: number) => boolean = () => true): Record_[] {
  return loadCorpus(sharedDir).filter((r) => r.template_id % 2 === 0 && keep(r.template_id));
}

export const SEED = 20261207;
export const THRESHOLDS = { name: 0.8, city: 0.8, english: 0.95 };

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const t0 = Date.now();
  const texts = trainingTexts(devRecords(), SEED);
  const data = examples(texts, SEED + 1);
  const { base64, scale } = encode(train(data, SEED + 2));
  const out = join(dirname(fileURLToPath(import.meta.url)), '../src/lexicon/_generated/tagger-weights.ts');
  writeFileSync(
    out,
    `// GENERATED by packages/text/test/tagger-train.ts: do not edit.
// Weights of the name/place tagger (src/detect/tagger.ts): logistic regression over hashed features, trained on the
// presidio-research corpus's development half (even template ids, MIT; never the held-out half), its templates
// refilled with lexicon names and places, and clinical frames. ${texts.length} texts, ${data.length} tokens, seed ${SEED}.
export const TAGGER_META = { thresholds: ${JSON.stringify(THRESHOLDS)} } as const;
export const TAGGER_SCALE = ${scale};
export const TAGGER_WEIGHTS =
  '${base64}';
`,
  );
  console.log(`${texts.length} texts, ${data.length} tokens, ${base64.length} chars, ${Date.now() - t0} ms`);
}
