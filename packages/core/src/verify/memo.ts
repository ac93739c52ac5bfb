/**
 * A bounded cache for the verifier's pure text functions (word forms, dates in text, pattern hits, a value's
 * needles). A series repeats the same values in every file (names, descriptions, code meanings), so a worker
 * that verifies file after file computes each once. The cache holds clear values of the files it has seen, in
 * memory only, like the files themselves; when it is full it starts over rather than tracking recency: cheap, and
 * a series' values come back within the next file. Results are shared: callers must not mutate them.
 *
 * Example:
 *   const upper = memoize((s: string) => s.toUpperCase());
 *   upper('abc'); // computed
 *   upper('abc'); // from the cache
 */
export function memoize<T>(fn: (text: string) => T, max = 2048): (text: string) => T {
  let cache = new Map<string, T>();
  return (text) => {
    const hit = cache.get(text);
    if (hit !== undefined || cache.has(text)) return hit as T;
    const value = fn(text);
    if (cache.size >= max) cache = new Map();
    // Long values (reports, binary runs) rarely repeat and would pin memory: not kept.
    if (text.length <= 4096) cache.set(text, value);
    return value;
  };
}
