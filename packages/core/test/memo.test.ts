import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { memoize } from '../src/verify/memo.ts';

describe('memoize', () => {
  test('computes each text once, results included when undefined', () => {
    let calls = 0;
    const f = memoize((s: string) => {
      calls++;
      return s === 'none' ? undefined : s.length;
    });
    assert.equal(f('abc'), 3);
    assert.equal(f('abc'), 3);
    assert.equal(f('none'), undefined);
    assert.equal(f('none'), undefined);
    assert.equal(calls, 2);
  });

  test('bounded: starts over when full, and never keeps long texts', () => {
    let calls = 0;
    const f = memoize((s: string) => {
      calls++;
      return s;
    }, 2);
    f('a');
    f('b');
    f('c'); // full: the cache starts over with 'c'
    f('a');
    assert.equal(calls, 4);
    const long = 'x'.repeat(5000);
    f(long);
    f(long);
    assert.equal(calls, 6);
  });
});
