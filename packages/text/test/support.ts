/** Test helpers: the shared data folder beside the repository, and the engine's lexicons for scoring rules. */
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { lexicons } from '../src/lexicon/names.ts';

export const sharedDir = process.env.VEIL_SHARED_DIR
  ? resolve(process.env.VEIL_SHARED_DIR)
  : join(resolve(dirname(fileURLToPath(import.meta.url)), '../../..'), '..', 'shared');

export const lexiconsForTest = lexicons;
