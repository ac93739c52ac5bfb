import assert from 'node:assert/strict';
import { test } from 'node:test';
import { lookupTag, tagForKeyword } from '../src/dicom/dictionary/index.ts';
import * as Tag from '../src/dicom/dictionary/tags.ts';

test('every tag constant is its keyword in the PS3.6 dictionary, and the other way round', () => {
  const entries = Object.entries(Tag);
  assert.ok(entries.length > 5000, `${entries.length} constants`);
  for (const [keyword, tag] of entries) {
    assert.equal(typeof tag, 'number', keyword);
    assert.equal(lookupTag(tag)?.keyword, keyword, `${keyword} = 0x${tag.toString(16)}`);
    assert.equal(tagForKeyword(keyword), tag, keyword);
  }
  assert.equal(Tag.PatientName, 0x00100010);
  assert.equal(Tag.PhotometricInterpretation, 0x00280004);
  assert.equal(Tag.DeidentificationMethodCodeSequence, 0x00120064);
  assert.equal(Tag.PixelData, 0x7fe00010);
  // Repeating groups have no constant: (60xx,3000) is built from its group.
  assert.equal((Tag as Record<string, unknown>).OverlayData, undefined);
});
