/**
 * The report's actions per attribute (keyword -> action -> count), tallied where the files are processed: a worker
 * adds each written file's actions here and sends the tally once per batch of results, instead of a list per file
 * that the main thread would receive (a structured clone of ~50 entries per file) and add up itself.
 *
 * Example:
 *   const tally = new ActionTally();
 *   tally.add(result);          // a written file's DeidResult
 *   post({ type: 'results', results, actions: tally.take() });
 */
import type { DeidResult } from '@veil/core';

export type ActionCounts = [keyword: string, action: string, count: number][];

const TAG_AT_END = /\([0-9A-Fa-fx]{4},[0-9A-Fa-fx]{4}\)$/;

/** The keyword a record is counted under: its attribute's keyword, else its tag (private and unknown tags). */
function keywordOf(a: DeidResult['actions'][number]): string {
  return a.keyword || TAG_AT_END.exec(a.tagPath)?.[0] || a.tagPath;
}

export class ActionTally {
  private counts = new Map<string, Map<string, number>>();

  /** Adds the engine's actions on one file. */
  add(result: DeidResult): void {
    for (const a of result.actions) {
      const keyword = keywordOf(a);
      let m = this.counts.get(keyword);
      if (m === undefined) {
        m = new Map();
        this.counts.set(keyword, m);
      }
      m.set(a.action, (m.get(a.action) ?? 0) + 1);
    }
  }

  /** What was added since the last take, as [keyword, action, count]; the tally starts over. */
  take(): ActionCounts {
    const out: ActionCounts = [];
    for (const [keyword, m] of this.counts) for (const [action, n] of m) out.push([keyword, action, n]);
    this.counts = new Map();
    return out;
  }
}

/** One file's actions as [keyword, action, count] (a TaskResult's own list, where no tally is kept). */
export function countActions(result: DeidResult): ActionCounts {
  const t = new ActionTally();
  t.add(result);
  return t.take();
}
