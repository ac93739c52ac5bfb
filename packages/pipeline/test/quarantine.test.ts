/** The review rules of a held job (quarantine.ts): findings from the job's state, keys, acknowledgement coverage. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { checkAcknowledgements, findingKey, heldFindings, type Job } from '../src/index.ts';

function job(stepState: Job['stepState']): Job {
  return {
    id: '01jtest0000000000000000000',
    state: 'quarantined',
    step: 'deidentify',
    stepState,
    ingress: 'inbox',
    route: 'default',
    source: {},
    studyKey: null,
    attempts: 0,
    error: 'X',
    leaseOwner: null,
    leaseUntil: null,
    createdAt: 0,
    updatedAt: 0,
    finishedAt: null,
  };
}

const record = { code: 'SOP_CLASS_NOT_ALLOWED', tagPath: '(0008,0016)', step: 'gate' };

describe('quarantine review rules', () => {
  test('every error finding of the release path, warnings left out; a record without findings: its one code', () => {
    const j = job({
      quarantine: {
        step: 'deidentify',
        findings: [
          {
            stage: 'pixels',
            detector: 'clean-pixel-data',
            code: 'PIXELS_STAGE_UNAVAILABLE',
            tagPath: '(7FE0,0010)',
            level: 'error',
          },
          {
            stage: 'verify',
            detector: 'known-name',
            code: 'VERIFY_KNOWN_NAME',
            tagPath: '(0010,0010)',
            level: 'error',
            detail: 'KNOWN_PATIENT_NAME',
          },
          {
            stage: 'verify',
            detector: 'burned-in-text-suspect',
            code: 'VERIFY_BURNED_IN_TEXT_SUSPECT',
            tagPath: '',
            level: 'warn',
          },
        ],
      },
    });
    const held = heldFindings(j, record);
    assert.deepEqual(held.map(findingKey), ['PIXELS_STAGE_UNAVAILABLE@(7FE0,0010)', 'VERIFY_KNOWN_NAME@(0010,0010)']);
    assert.equal(held[1]?.detail, 'KNOWN_PATIENT_NAME');
    assert.deepEqual(heldFindings(job({}), record).map(findingKey), ['SOP_CLASS_NOT_ALLOWED@(0008,0016)']);
  });

  test('acknowledgements must cover every finding and name only findings of the job', () => {
    const held = heldFindings(
      job({
        quarantine: {
          findings: [
            { code: 'A', tagPath: '(0010,0010)', level: 'error' },
            { code: 'A', tagPath: '(0010,0010)', level: 'error', detail: 'twice' },
            { code: 'B', tagPath: '', level: 'error' },
          ],
        },
      }),
      record,
    );
    assert.deepEqual(checkAcknowledgements(held, ['A@(0010,0010)']), {
      keys: ['A@(0010,0010)', 'B@'],
      unknown: [],
      missing: ['B@'],
    });
    assert.deepEqual(checkAcknowledgements(held, ['A@(0010,0010)', 'B@', 'C@x']).unknown, ['C@x']);
    const all = checkAcknowledgements(held, ['B@', 'A@(0010,0010)']);
    assert.deepEqual([all.unknown, all.missing], [[], []]);
  });
});
