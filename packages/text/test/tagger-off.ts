/**
 * Preload for A/B runs of the developer probes: the tagger's weights zeroed, so detectPhi runs the rules alone.
 *   node --import tsx --import ./packages/text/test/tagger-off.ts packages/text/test/pyfaker-frames.ts
 */
import { defaultTagger } from '../src/detect/tagger.ts';

defaultTagger().weights.fill(0);
