/**
 * Hostile text shapes for the hang guard (hostile.test.ts) and bench/text-hostile.bench.ts: long runs that made
 * a rule rescan the run from every position (quadratic) or split it many ways (polynomial backtracking) before
 * they were bounded. Each maker returns about `n` characters.
 */
const words =
  (ws: readonly string[], sep = ' ') =>
  (n: number): string => {
    let t = '';
    for (let i = 0; t.length < n; i++) t += (i > 0 ? sep : '') + ws[i % ws.length];
    return t.slice(0, n);
  };
const repeat = (unit: string) => (n: number) => unit.repeat(Math.ceil(n / unit.length)).slice(0, n);

export const HOSTILE_SHAPES: Readonly<Record<string, (n: number) => string>> = {
  // "City, ST": `[ -]` between words and `-` inside them (800 characters took 27 s).
  'hyphen chain': repeat("Smith'-"),
  'hyphenated capitals': words(['Alpha', 'Maria', 'Smith', 'Street'], '-'),
  // e-mail local part, unbounded before the `@` it never finds
  'one long word': repeat('A'),
  'lower-case word': repeat('a'),
  'CJK run': repeat('张伟'),
  'digit run': repeat('1'),
  // bare domains: `(?:\.label)*` before the TLD
  'dotted letters': repeat('A.'),
  'dotted url': (n) => `http://${repeat('a.')(n - 7)}`,
  // "... is my zip code": a look-ahead over the whole run of capitals, digits and spaces
  spaces: (n) => `a${' '.repeat(n - 2)}b`,
  // "Estonia 62488": capitalised words before a number
  'capitalised words': words(['Alpha', 'Maria', 'Smith', 'Bravo', 'Delta']),
  'accented capitals': words(['Ólafur', 'Łukasz', 'Zoë', 'Ñúñez']),
  'capitals line': words(['ALPHA', 'MARIA', 'SMITH', 'BRAVO', 'DELTA']),
  // medical word endings tested on one long word
  'Mc run': repeat('Mc'),
  // lower-case text with many findings (a token scan per finding)
  'lower-case colons': repeat('ab:'),
  'lower-case words': words(['alpha', 'maria', 'smith', 'bravo', 'delta']),
  'hospital words': repeat('ÓMrxalpha'),
  titles: repeat('Dr. '),
  'lower-case report': words(
    'patient john smith mrn 4412889 seen by dr ana ortiz on 03/04/2021 lives at 1668 glyn st springfield il 62704'.split(
      ' ',
    ),
  ),
  'e-mail list': words(['a.b@c.com', 'x@y.org']),
  'address lines': words(['1668 Glyn St', 'Springfield, IL 62704', 'Estonia 62488'], '\n'),
  // one line: a line scan per finding
  'addresses on one line': repeat('1668 Glyn St, Springfield, IL 62704; '),
  'capitals addresses on one line': repeat('1668 GLYN ST SPRINGFIELD IL 62704 '),
  'names on one line': words(['Dr.', 'Ana', 'Ortiz', 'and', 'John', 'Smith', 'met', 'Maria', 'Garcia.']),
};

/** Periodic strings of 1-5 tokens from a pool of rule triggers (seeded): the hang guard's random part. */
export function periodicShapes(count: number, seed: number): [string, (n: number) => string][] {
  const POOL = [
    ...['A', 'a', 'Ab', 'ab', 'AB', 'Alpha', 'alpha', 'ALPHA', 'Maria', 'Smith', '-', '.', ' ', ' ', '\n', ','],
    ...['1', '12', '123', '12345', '@', "'", '(', ')', '/', ':', '#', 'St', 'Dr.', 'MD', '+', 'é', 'Ó', '张'],
    ...['\t', 'x', 'com', 'www.', 'is', 'my', 'zip', 'code', 'of', 'and', 'Street', 'Apt', 'PO Box', 'Mr', '-1'],
    ...['Estonia', 'born', 'on', 'MRN', 'Tel', 'St.', 'Ave', 'at', 'the', '0', 'x1', 'Jan', 'January', '2020'],
    ...['03/04', 'am', 'a.m.', 'Mc', 'van', 'de', 'PA', 'ZIP', 'phone', 'Hospital', 'lives', 'in', 'my name is'],
  ];
  let s = seed;
  const rnd = () => {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    return s / 0x7fffffff;
  };
  const out: [string, (n: number) => string][] = [];
  for (let i = 0; i < count; i++) {
    const k = 1 + Math.floor(rnd() * 5);
    const parts = Array.from({ length: k }, () => POOL[Math.floor(rnd() * POOL.length)]!);
    const unit = parts.join(rnd() < 0.5 ? '' : ' ');
    out.push([`periodic ${JSON.stringify(unit)}`, repeat(unit)]);
  }
  return out;
}
