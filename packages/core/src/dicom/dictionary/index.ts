export type { DictionaryEntry } from './dictionary.ts';
export { implicitVR, lookupPrivate, lookupTag, tagForKeyword } from './dictionary.ts';
