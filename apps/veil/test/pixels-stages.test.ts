/**
 * The app's switch for the burned-in text stage (apps/veil/src/pixels): on with no configuration, off only with
 * pixels.text.enabled: false, the detector and codecs loaded once per thread however many times the stages are made
 * (a deid worker or a serve release thread builds them once; a second build must not load a second model).
 *
 * Run: npm run test:unit -- apps/veil/test/pixels-stages.test.ts   (~2 s: loads the detector once)
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isVeilError } from '@veil/core';
import { PIXEL_STAGE_BY_DEFAULT, pixelTextConfig } from '../src/pixels/config.ts';
import { loadPixelStages, pixelTools } from '../src/pixels/stages.ts';

test('on by default; pixels.text.enabled: false is the only off switch', () => {
  assert.equal(PIXEL_STAGE_BY_DEFAULT, true);
  assert.equal(pixelTextConfig(undefined).enabled, true);
  assert.equal(pixelTextConfig({}).enabled, true);
  assert.equal(pixelTextConfig({ cleanPixelData: false }).enabled, true, 'cleanPixelData: false does not turn it off');
  assert.equal(pixelTextConfig({ text: {} }).enabled, true);
  assert.equal(pixelTextConfig({ text: { enabled: false } }).enabled, false);
  assert.equal(pixelTextConfig({ cleanPixelData: true, text: { enabled: false } }).enabled, false);
  assert.throws(
    () => pixelTextConfig({ text: { enabled: 'no' } }),
    (e: unknown) => isVeilError(e) && e.code === 'CONFIG_INVALID' && e.path === 'pixels.text.enabled',
  );
});

test('the stages by default: text then verify; none when off; one detector per thread', async () => {
  const a = await loadPixelStages(undefined);
  assert.deepEqual(
    a.map((s) => s.name),
    ['pixels:text', 'pixels:verify'],
  );
  assert.deepEqual(await loadPixelStages({ text: { enabled: false } }), []);
  assert.deepEqual(
    (await loadPixelStages({ text: { verify: false } })).map((s) => s.name),
    ['pixels:text'],
  );
  const first = await pixelTools();
  await loadPixelStages({});
  const again = await pixelTools();
  assert.equal(again.detector, first.detector, 'the same detector object: loaded once');
  assert.equal(again.codec, first.codec);
});
