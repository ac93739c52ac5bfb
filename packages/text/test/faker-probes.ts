/**
 * Developer probe (not a test; needs the Debian package `faker`): phone numbers, postcodes and names from Python
 * Faker 0.9.3's own generators, every locale, put into sentences; prints how many the engine covers completely
 * (every letter and digit inside a detection) and the first misses. Independent of the presidio corpus.
 *   apt-get install -y faker && npx tsx packages/text/test/faker-probes.ts
 */
import { execFileSync } from 'node:child_process';
import { detectPhi } from '@veil/text';

const PY = `
import json, pkgutil, faker.providers.address as pa, faker.providers.person as pp
from faker import Faker
out = {'phone': [], 'post': [], 'names': []}
for m in sorted(x.name for x in pkgutil.iter_modules(pa.__path__)):
    f = Faker(m); f.seed(7)
    out['phone'] += [f.phone_number() for _ in range(20)]
    out['post'] += [f.postcode() for _ in range(10)]
for m in sorted(x.name for x in pkgutil.iter_modules(pp.__path__)):
    try:
        f = Faker(m); f.seed(11)
        out['names'] += [[f.name(), f.first_name(), f.last_name()] for _ in range(12)]
    except Exception:
        pass
print(json.dumps(out))
`;
const d = JSON.parse(execFileSync('/usr/bin/python3', ['-c', PY], { encoding: 'utf8', maxBuffer: 16 << 20 })) as {
  phone: string[];
  post: string[];
  names: string[][];
};

function covered(text: string, v: string): boolean {
  const s = text.indexOf(v);
  const c = new Uint8Array(text.length);
  for (const x of detectPhi(text)) c.fill(1, x.start, x.end);
  for (let i = s; i < s + v.length; i++) if (/[\p{L}\p{N}]/u.test(text[i]!) && !c[i]) return false;
  return true;
}

function probe(label: string, template: string, values: string[]): void {
  const miss = values.filter((v) => !covered(template.replace('{}', v), v));
  console.log(
    `${label} ${JSON.stringify(template)}: ${values.length - miss.length}/${values.length}`,
    miss.slice(0, 8),
  );
}

const latin = d.names.filter(([n]) => /^[\p{Script=Latin}\s'-]+$/u.test(n!)); // no titles (Dr.) nor degrees (B.Sc.)
for (const t of ['You can reach her at {} today.', 'Phone: {}', 'the number {} is hers']) probe('phone', t, d.phone);
for (const t of ['postal code {}', 'Zip code: {}.', 'my postcode is {}']) probe('postcode', t, d.post);
for (const [t, k, lower] of [
  ['I met {} at the store.', 0, false],
  ['i met {} at the store.', 0, true],
  ['{} said the food was good.', 1, false],
  ['hi {}, how are you?', 1, true],
  ['The report was written by {}.', 2, false],
] as const)
  probe(
    'name',
    t,
    latin.map((r) => (lower ? r[k]!.toLowerCase() : r[k]!)),
  );
