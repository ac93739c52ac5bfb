/**
 * The release stages the app registers between header de-identification and verification (see ReleaseStage in
 * @veil/core). None is registered yet: with none, a configuration that asks for pixels.cleanPixelData or
 * cleanRecognizableVisualFeatures quarantines every image (PIXELS_STAGE_UNAVAILABLE) instead of claiming work that
 * was not done. @veil/pixels plugs its stages in here; every caller of the release path (veil deid's workers, the
 * gateway's release worker) gets them from this one function, once per thread.
 *
 * Example:
 *   const stages = await loadReleaseStages(rawConfig, config);
 *   const outcome = await releaseFile(src, { config, keys, stages });
 */
import type { DeidConfig, ReleaseStage } from '@veil/core';

/**
 * The stages for one configuration: `raw` is the configuration as read from its file (stage sections the core does
 * not parse, e.g. pixels.text, live there), `config` the core's parsed form.
 */
export async function loadReleaseStages(_raw: Record<string, unknown>, _config: DeidConfig): Promise<ReleaseStage[]> {
  return [];
}
