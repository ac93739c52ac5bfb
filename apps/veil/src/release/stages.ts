/**
 * The release stages the app registers between header de-identification and verification (see ReleaseStage in
 * @veil/core), in order: burned-in text (pixels:text, when the configuration asks for Clean Pixel Data or
 * pixels.text), defacing (when a series pass planned it), then the pixel verification stages. A configuration that
 * asks for pixels.cleanPixelData or cleanRecognizableVisualFeatures with no stage able to earn it holds every image
 * back (PIXELS_STAGE_UNAVAILABLE) instead of claiming work that was not done. Every caller of the release path
 * (veil deid's workers, the gateway's release worker) gets its stages from this one function, once per thread.
 *
 * Example:
 *   const stages = await loadReleaseStages(rawConfig, config);
 *   const outcome = await releaseFile(src, { config, keys, stages });
 */
import type { DeidConfig, FreeTextCleaner, IdentifyingValues, ReleaseStage } from '@veil/core';
import type { DefacePlan } from '../deface/prepass.ts';

/** What a run prepared for its stages before the per-file path started (e.g. the defacing series pass). */
export interface StageContext {
  readonly defacePlan?: DefacePlan | undefined;
  /** veil serve: the spool folder of the study-level series pass's decisions (server/deface-series.ts). */
  readonly defaceDir?: string | undefined;
}

/**
 * The stages for one configuration: `raw` is the configuration as read from its file (stage sections the core does
 * not parse, e.g. pixels.text, live there), `config` the core's parsed form.
 */
export async function loadReleaseStages(
  _raw: Record<string, unknown>,
  config: DeidConfig,
  context: StageContext = {},
): Promise<ReleaseStage[]> {
  const stages: ReleaseStage[] = [];
  // Burned-in text (pixels.text, or pixels.cleanPixelData: see pixels/stages.ts): the text stage first, its
  // verification last, after every stage that changes pixels.
  const { loadPixelStages } = await import('../pixels/stages.ts');
  const [text, ...verifyPixels] = await loadPixelStages(_raw.pixels);
  if (text) stages.push(text);
  // Defacing: the series pass ran before (veil deid's plan), or runs when the study is stable (veil serve: decisions
  // read from the spool, DEFACE_PENDING until then); with neither, a configuration asking for it holds images back
  // (PIXELS_STAGE_UNAVAILABLE).
  if (config.pixels?.cleanRecognizableVisualFeatures && context.defacePlan) {
    const { defaceStagesFromPlan } = await import('../deface/prepass.ts');
    stages.push(...defaceStagesFromPlan(context.defacePlan));
  } else if (config.pixels?.cleanRecognizableVisualFeatures && context.defaceDir) {
    const [{ defaceStages }, { defaceLookupFromDir }] = await Promise.all([
      import('../deface/prepass.ts'),
      import('../server/deface-series.ts'),
    ]);
    stages.push(...defaceStages(defaceLookupFromDir(context.defaceDir)));
  }
  stages.push(...verifyPixels);
  return stages;
}

/**
 * The free-text de-identifier the header engine calls on each value the C action cleans (Clean Descriptors, Clean
 * Structured Content), when the configuration enables either: @veil/text's engine (names, dates, phones, IDs...
 * the file does not hold, plus the file's own values as known values), in placeholder mode ("[NAME]", "[DATE]"):
 * short ASCII tokens, so the result fits the value's VR and character set (the engine truncates to the VR's
 * maximum length after it). The engine's built-in scrubber runs after it. Undefined when neither option is on.
 *
 * Example:
 *   const cleanFreeText = await loadFreeTextCleaner(config);
 *   const outcome = await releaseFile(src, { config, keys: { key, cleanFreeText }, stages });
 */
export async function loadFreeTextCleaner(config: DeidConfig): Promise<FreeTextCleaner | undefined> {
  const o = config.options;
  if (!o.cleanDescriptors && !o.cleanStructuredContent) return undefined;
  const { knownValuesFrom, textCleaner } = await import('@veil/text');
  // One cleaner per file: the engine passes the same values object for every value of one file.
  const byFile = new WeakMap<IdentifyingValues, (text: string) => string>();
  return (text, values) => {
    let clean = byFile.get(values);
    if (clean === undefined) {
      clean = textCleaner({ known: knownValuesFrom(values), mode: 'placeholder' });
      byFile.set(values, clean);
    }
    return clean(text);
  };
}
