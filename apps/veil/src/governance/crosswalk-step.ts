/**
 * The crosswalk at the deidentify step of `veil serve`: the step (server/steps.ts, in a release thread) hands the
 * instance's identities (original -> pseudonym, PHI) back beside its outcome; here, in the main thread, they are
 * sealed to the crosswalk public key (crosswalk.ts) and written to the store before the Runner commits the step, and
 * always dropped from the outcome, so that nothing downstream (the job's state, logs, events) ever sees them.
 *
 * A failed write is a retry (CROSSWALK_WRITE_FAILED): with a crosswalk configured, nothing is released whose
 * identities were not recorded. A re-run after a crash writes the same rows again, which the store ignores.
 *
 * Example:
 *   const steps = withCrosswalk(pooled.steps, { gov, publicKeyPem, projectKey });
 */
import type { GovernanceStore, Step, StepOutcome } from '@veil/pipeline';
import { type IdentityPair, sealIdentities } from './crosswalk.ts';

export interface CrosswalkStepOptions {
  readonly gov: GovernanceStore;
  /** crosswalk.publicKey's PEM; without it no crosswalk is kept (identities are still dropped). */
  readonly publicKeyPem?: string | undefined;
  readonly projectKey: Uint8Array;
  readonly now?: () => number;
}

export function withCrosswalk(steps: readonly Step[], o: CrosswalkStepOptions): Step[] {
  const now = o.now ?? Date.now;
  return steps.map((step) => ({
    name: step.name,
    async run(job) {
      const outcome = (await step.run(job)) as StepOutcome & { identities?: IdentityPair[] };
      const identities = outcome.identities;
      if (identities === undefined) return outcome;
      const { identities: _dropped, ...rest } = outcome;
      if (o.publicKeyPem === undefined || rest.kind !== 'next') return rest as StepOutcome;
      try {
        await o.gov.putCrosswalk(sealIdentities(identities, o.publicKeyPem, o.projectKey), now());
      } catch {
        return { kind: 'retry', code: 'CROSSWALK_WRITE_FAILED' };
      }
      return rest as StepOutcome;
    },
  }));
}
