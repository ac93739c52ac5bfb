/**
 * Study grouping, decided in one place: a job's first study key counts it in its study (and reopens a stable one);
 * a study becomes stable once it has been quiet for the configured time and every one of its jobs is settled, with
 * the counts of its jobs by state as its outcome (what defacing and the per-study report wait for). Pure functions;
 * the stores read the study row and its jobs' counts inside their transaction and write back what these return.
 *
 * Example (inside a store's settleStudies transaction):
 *   for (const s of openStudiesLastSeenAtOrBefore(studyQuietCutoff(now, quietMs)))
 *     if (studyIsStable(s, countsOf(s), now, quietMs)) write(stableStudy(s, countsOf(s), now));
 */
import { type AuditInput, emptyOutcome, isSettled, JOB_STATES, type JobState, type StudyRecord } from './model.ts';

/**
 * The row a study starts from before its first instance is counted (a store inserts it if absent, locks the row,
 * then writes studyAfterInstance of it: concurrent first instances of one study are then counted one after the
 * other).
 */
export function emptyStudy(studyKey: string, now: number): StudyRecord {
  return {
    studyKey,
    state: 'open',
    instances: 0,
    firstSeenAt: now,
    lastSeenAt: now,
    stableAt: null,
    outcome: null,
  };
}

/** The study once one more instance of it is seen: counted, open again, its outcome cleared. */
export function studyAfterInstance(study: StudyRecord, now: number): StudyRecord {
  return {
    ...study,
    state: 'open',
    instances: study.instances + 1,
    lastSeenAt: Math.max(study.lastSeenAt, now),
    stableAt: null,
    outcome: null,
  };
}

/** Studies last seen at or before this time have been quiet long enough (a store's pre-filter). */
export function studyQuietCutoff(now: number, quietMs: number): number {
  return now - quietMs;
}

/** Open, quiet for quietMs, and every job of it settled (jobs counted by state). */
export function studyIsStable(
  study: StudyRecord,
  jobsByState: Readonly<Record<string, number>>,
  now: number,
  quietMs: number,
): boolean {
  if (study.state !== 'open' || study.lastSeenAt > studyQuietCutoff(now, quietMs)) return false;
  for (const [state, n] of Object.entries(jobsByState)) {
    if (n > 0 && !(JOB_STATES.includes(state as JobState) && isSettled(state as JobState))) return false;
  }
  return true;
}

/** The study once stable: its outcome is its jobs' counts by state. */
export function stableStudy(
  study: StudyRecord,
  jobsByState: Readonly<Record<string, number>>,
  now: number,
): StudyRecord {
  const outcome = emptyOutcome();
  for (const s of JOB_STATES) outcome[s] = jobsByState[s] ?? 0;
  return { ...study, state: 'stable', stableAt: now, outcome };
}

/** The audit event of a study that became stable (pseudonymised key, counts: no PHI). */
export function studyStableAudit(study: StudyRecord): AuditInput {
  return {
    event: 'study.stable',
    detail: { studyKey: study.studyKey, instances: study.instances, outcome: { ...(study.outcome ?? emptyOutcome()) } },
  };
}
