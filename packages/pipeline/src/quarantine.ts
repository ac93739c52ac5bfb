/**
 * The rules of a held job's review, shared by every way an operator releases one (`veil quarantine`, the console):
 * what it is held for (the release path's findings in stepState.quarantine, or, for a record made before findings
 * were kept, its one code), the key each finding is acknowledged by (CODE@TAGPATH), and whether a set of
 * acknowledgements covers them. The stores only persist what these decide.
 *
 * Example:
 *   const held = heldFindings(job, record);
 *   const { unknown, missing } = checkAcknowledgements(held, ['VERIFY_KNOWN_NAME@(0010,0010)']);
 *   if (missing.length === 0 && unknown.length === 0) release(job, held.map(findingKey));
 */
import type { Job, QuarantineRecord } from './model.ts';

/** A finding a job is held for: stage, detector, stable code, tag path; never a value. */
export interface HeldFinding {
  readonly stage: string;
  readonly detector: string;
  readonly code: string;
  readonly tagPath: string;
  readonly level: 'error';
  readonly detail?: string;
}

/** The key a finding is acknowledged by: CODE@TAGPATH ('VERIFY_KNOWN_NAME@(0010,0010)'; '' for the whole file). */
export function findingKey(f: { readonly code: string; readonly tagPath: string }): string {
  return `${f.code}@${f.tagPath}`;
}

/** Every error finding the job is held for, as the step that held it recorded them; else the record's one code. */
export function heldFindings(job: Job, record: Pick<QuarantineRecord, 'code' | 'tagPath' | 'step'>): HeldFinding[] {
  const q = job.stepState.quarantine;
  const list = q && typeof q === 'object' && !Array.isArray(q) ? q.findings : undefined;
  if (Array.isArray(list)) {
    const out: HeldFinding[] = [];
    for (const f of list) {
      if (!f || typeof f !== 'object' || Array.isArray(f)) continue;
      const str = (k: string): string => (typeof f[k] === 'string' ? (f[k] as string) : '');
      if (str('level') !== 'error' || str('code') === '') continue;
      out.push({
        stage: str('stage') || record.step,
        detector: str('detector'),
        code: str('code'),
        tagPath: str('tagPath'),
        level: 'error',
        ...(str('detail') ? { detail: str('detail') } : {}),
      });
    }
    if (out.length > 0) return out;
  }
  return [{ stage: record.step, detector: '', code: record.code, tagPath: record.tagPath ?? '', level: 'error' }];
}

/**
 * Compares acknowledgements with what a job is held for: `unknown` are keys that are not among its findings (a typo,
 * another job's), `missing` the findings not acknowledged. A release by acknowledgement needs both empty.
 */
export function checkAcknowledgements(
  held: readonly HeldFinding[],
  acks: Iterable<string>,
): { readonly keys: string[]; readonly unknown: string[]; readonly missing: string[] } {
  const keys = [...new Set(held.map(findingKey))];
  const given = new Set(acks);
  return {
    keys,
    unknown: [...given].filter((k) => !keys.includes(k)),
    missing: keys.filter((k) => !given.has(k)),
  };
}
