/**
 * The QIDO-RS wild card matcher: the same answers as a regular expression on small cases (property test), and
 * linear work on hostile patterns, bounded by counting its inner steps (never by the clock).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { matchesAttribute } from '../src/index.ts';
import { type StepCounter, wildcardMatch } from '../src/qido/wildcard.ts';

function reference(value: string, pattern: string, ignoreCase: boolean): boolean {
  const body = pattern
    .split('')
    .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`^${body}$`, ignoreCase ? 'is' : 's').test(value);
}

describe('QIDO wild card matching', () => {
  test('agrees with a regular expression (property, 3000 cases)', () => {
    const ch = fc.constantFrom('a', 'b', 'A', '^', '.', ' ');
    const pch = fc.constantFrom('a', 'b', 'A', '^', '.', '*', '?');
    fc.assert(
      fc.property(
        fc.array(ch, { maxLength: 40 }).map((a) => a.join('')),
        fc.array(pch, { maxLength: 60 }).map((a) => a.join('')),
        fc.boolean(),
        (value, pattern, ignoreCase) =>
          wildcardMatch(value, pattern, ignoreCase) === reference(value, pattern, ignoreCase),
      ),
      { numRuns: 3000 },
    );
  });

  test('examples', () => {
    assert.equal(wildcardMatch('DOE^JOHN', 'DOE*'), true);
    assert.equal(wildcardMatch('DOE^JOHN', '*JOHN'), true);
    assert.equal(wildcardMatch('DOE^JOHN', 'D?E^*N'), true);
    assert.equal(wildcardMatch('DOE^JOHN', 'doe*', true), true);
    assert.equal(wildcardMatch('DOE^JOHN', 'doe*'), false);
    assert.equal(wildcardMatch('AB', 'A*B*B'), false);
    assert.equal(wildcardMatch('', '*'), true);
    assert.equal(wildcardMatch('', '?'), false);
    // A middle segment longer than one 32-bit word.
    const long = `${'x'.repeat(100)}${'ab'.repeat(40)}${'y'.repeat(100)}`;
    assert.equal(wildcardMatch(long, `*${'ab'.repeat(39)}a?*`), true);
    assert.equal(wildcardMatch(long, `*${'ab'.repeat(41)}*`), false);
    assert.equal(matchesAttribute({ vr: 'PN', Value: [{ Alphabetic: 'Doe^Jane' }] }, 'DOE^J*'), true);
    assert.equal(matchesAttribute({ vr: 'LO', Value: ['CHEST'] }, 'CH?ST'), true);
  });

  test('hostile patterns on long values: work linear in the value (steps counted)', () => {
    const n = 100_000;
    const value = 'a'.repeat(n);
    const hostile = [
      '*a*a*a*a*a*a*a*a*a*b', // the 19-character pattern that took seconds as a regular expression
      `*${'a'.repeat(63)}b*`,
      `*${'?'.repeat(40)}b`,
      `${'*a'.repeat(200)}*b`,
      `*${'a?'.repeat(100)}c*a`,
    ];
    for (const p of hostile) {
      const counter: StepCounter = { steps: 0 };
      assert.equal(wildcardMatch(value, p, false, counter), false);
      const words = Math.ceil(p.length / 32);
      // Each value character is read once per 32-bit word of the longest segment, plus the anchored ends.
      assert.ok(counter.steps <= (n + p.length) * words + p.length, `${p.slice(0, 20)}: ${counter.steps} steps`);
    }
    const counter: StepCounter = { steps: 0 };
    assert.equal(wildcardMatch(`${value}b`, '*a*a*a*a*a*a*a*a*a*b', true, counter), true);
    assert.ok(counter.steps <= 2 * (n + 20));
  });
});
