/** `pixels.text.redact`: 'all' by default, 'identifying' accepted, anything else CONFIG_INVALID at its path. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isVeilError } from '@veil/core';
import { parsePixelTextConfig } from '../src/config.ts';

test('pixels.text.redact: all (default) | identifying; other values are CONFIG_INVALID', () => {
  assert.equal(parsePixelTextConfig(undefined).redact, 'all');
  assert.equal(parsePixelTextConfig({}).redact, 'all');
  assert.equal(parsePixelTextConfig({ redact: 'all' }).redact, 'all');
  assert.equal(parsePixelTextConfig({ redact: 'identifying' }).redact, 'identifying');
  for (const bad of ['some', 'IDENTIFYING', true, 1, ['all']]) {
    assert.throws(
      () => parsePixelTextConfig({ redact: bad }),
      (e: unknown) => isVeilError(e) && e.code === 'CONFIG_INVALID' && e.path === 'pixels.text.redact',
      String(bad),
    );
  }
});

test('pixels.text.closerLooks: true by default, false accepted, anything else CONFIG_INVALID', () => {
  assert.equal(parsePixelTextConfig(undefined).closerLooks, true);
  assert.equal(parsePixelTextConfig({}).closerLooks, true);
  assert.equal(parsePixelTextConfig({ closerLooks: false }).closerLooks, false);
  for (const bad of ['no', 0, null]) {
    assert.throws(
      () => parsePixelTextConfig({ closerLooks: bad }),
      (e: unknown) => isVeilError(e) && e.code === 'CONFIG_INVALID' && e.path === 'pixels.text.closerLooks',
      String(bad),
    );
  }
});
