/**
 * Governance inside `veil serve`: the consent check and the release record at the deliver step (the Runner's
 * beforeSend), signed audit checkpoints (only in the process that takes the ingress role: workers never read the
 * signing key), and the metrics veil_withheld_total{destination,code} and veil_deletions_overdue{destination}.
 *
 * The consent decision for one delivery (consentDecision):
 *   purpose requires an opt-in      sent only when the patient opted in, else CONSENT_NOT_GIVEN
 *   the patient opted out           CONSENT_OPT_OUT (when the purpose lets patients opt out)
 *   destination without a purpose   CONSENT_PURPOSE_UNDECLARED when the patient opted out of anything (fail closed)
 *   otherwise                       sent
 * It runs when each delivery is due, so a change of consent applies to every copy not yet sent.
 *
 * Example:
 *   const governance = await startGovernance({ config, gov, role: 'all', log, metrics });
 *   new Runner({ ..., beforeSend: governance.beforeSend });
 */
import { createPrivateKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import {
  type ConsentRecord,
  type GovernanceStore,
  type Job,
  type PurposeDefinition,
  purposeOf,
  type RunnerEvent,
  type StoreConfig,
  signCheckpoint,
} from '@veil/pipeline';
import { CliError, EXIT_CONFIG } from '../deid/cli-error.ts';
import type { LoadedServerConfig } from '../server/config.ts';
import type { Metrics } from '../server/metrics.ts';

export type HoldCode = 'CONSENT_OPT_OUT' | 'CONSENT_NOT_GIVEN' | 'CONSENT_PURPOSE_UNDECLARED';

/** Opens the GovernanceStore on the job store's database. */
export async function openGovernanceStore(config: StoreConfig): Promise<GovernanceStore> {
  if (config.kind === 'sqlite') {
    const { SqliteGovernanceStore } = await import('@veil/store-sqlite');
    return new SqliteGovernanceStore(config.path);
  }
  const { PostgresGovernanceStore } = await import('@veil/store-postgres');
  return new PostgresGovernanceStore({ connectionString: config.url, schema: config.schema });
}

export function consentDecision(
  purpose: PurposeDefinition | undefined,
  choices: readonly ConsentRecord[],
): HoldCode | undefined {
  if (!purpose) return choices.some((c) => c.choice === 'opt-out') ? 'CONSENT_PURPOSE_UNDECLARED' : undefined;
  const mine = choices.find((c) => c.purpose === purpose.name);
  if (purpose.requiresOptIn) return mine?.choice === 'opt-in' ? undefined : 'CONSENT_NOT_GIVEN';
  if (mine?.choice === 'opt-out' && purpose.optOutAllowed) return 'CONSENT_OPT_OUT';
  return undefined;
}

export function purposeDefinition(config: LoadedServerConfig, name: string | undefined): PurposeDefinition | undefined {
  return name === undefined ? undefined : config.server.governance.purposes.find((p) => p.name === name);
}

/** Loads the checkpoint signing key named by audit.signingKey (a CliError when it is unusable). */
export function loadSigningKey(config: LoadedServerConfig): KeyObject | undefined {
  const file = config.server.audit.signingKey;
  if (file === undefined) return undefined;
  let key: KeyObject;
  try {
    key = createPrivateKey(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new CliError(
      EXIT_CONFIG,
      `audit.signingKey: cannot read an Ed25519 private key (${(e as NodeJS.ErrnoException).code ?? 'bad key'})`,
    );
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new CliError(EXIT_CONFIG, 'audit.signingKey: not an Ed25519 key');
  return key;
}

/** Signs the chain's head when it moved since the last checkpoint. Returns the seq signed, if any. */
export async function checkpointNow(gov: GovernanceStore, key: KeyObject, now: number): Promise<number | undefined> {
  const head = await gov.auditHead();
  if (!head) return undefined;
  const last = (await gov.listCheckpoints()).at(-1);
  if (last && last.seq >= head.seq) return undefined;
  await gov.addCheckpoint(signCheckpoint({ seq: head.seq, hash: head.hash, at: now }, key));
  return head.seq;
}

export interface GovernanceRuntime {
  readonly gov: GovernanceStore;
  beforeSend(job: Job, destination: string): Promise<string | undefined>;
  onRunnerEvent(e: RunnerEvent): void;
  close(): Promise<void>;
}

export interface GovernanceOptions {
  readonly config: LoadedServerConfig;
  readonly gov: GovernanceStore;
  /** Signs checkpoints when given (the ingress/all process only). */
  readonly signingKey?: KeyObject | undefined;
  readonly metrics: Metrics;
  readonly log: {
    warn(o: object, m?: string): void;
    error(o: object, m?: string): void;
    info(o: object, m?: string): void;
  };
  readonly clock?: () => number;
}

export function startGovernance(o: GovernanceOptions): GovernanceRuntime {
  const { config, gov } = o;
  const now = o.clock ?? Date.now;
  const cfg = config.server;
  const withheld = o.metrics.counter('veil_withheld_total', 'Deliveries withheld by consent', ['destination', 'code']);
  o.metrics.gauge(
    'veil_deletions_overdue',
    'Deliveries whose retention ran out and whose deletion the vendor has not confirmed',
    ['destination'],
    async () => {
      const counts = new Map<string, number>();
      for (const d of cfg.destinations) if (d.confirmDeletion) counts.set(d.name, 0);
      for (const r of await gov.listReleases({ overdueAt: now() })) {
        counts.set(r.destination, (counts.get(r.destination) ?? 0) + 1);
      }
      return [...counts].map(([destination, n]) => [{ destination }, n] as const);
    },
  );
  for (const d of cfg.destinations) {
    if (purposeOf(d, undefined) === undefined && !config.routes.some((r) => r.to.includes(d.name) && r.purpose)) {
      o.log.warn(
        { event: 'governance.undeclared_purpose', destination: d.name },
        'destination declares no purpose: copies are withheld for patients who opted out of anything',
      );
    }
  }
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> | undefined;
  const key = o.signingKey;
  if (key) {
    const tick = (): void => {
      running = checkpointNow(gov, key, now())
        .catch((e: unknown) =>
          o.log.error({ event: 'audit.checkpoint_failed', code: (e as { code?: string }).code ?? 'ERROR' }),
        )
        .finally(() => {
          timer = setTimeout(tick, cfg.audit.checkpointSeconds * 1000);
          timer.unref();
        });
    };
    timer = setTimeout(tick, cfg.audit.checkpointSeconds * 1000);
    timer.unref();
  }

  return {
    gov,
    async beforeSend(job, destination) {
      const dest = cfg.destinations.find((d) => d.name === destination);
      if (!dest) return undefined; // the Runner makes an unknown destination dead
      const route = config.routes.find((r) => r.name === job.route);
      const purposeName = purposeOf(dest, route);
      const purpose = purposeDefinition(config, purposeName);
      const pk = typeof job.stepState.patientKey === 'string' ? job.stepState.patientKey : undefined;
      const choices = pk ? await gov.listConsent(pk) : [];
      const hold = consentDecision(purpose, choices);
      if (hold) {
        await gov.appendAudit(
          job.id,
          { event: 'consent.withheld', purpose: purposeName ?? null, detail: { destination, code: hold } },
          now(),
        );
        return hold;
      }
      // Recorded before any byte leaves: what goes where, under which contract, until when.
      await gov.recordRelease(
        {
          jobId: job.id,
          destination,
          vendor: dest.vendor ?? null,
          contract: dest.contract ?? null,
          purpose: purposeName ?? null,
          region: dest.region ?? null,
          retentionDays: dest.retentionDays ?? null,
          confirmDeletion: dest.confirmDeletion,
        },
        now(),
      );
      return undefined;
    },
    onRunnerEvent(e) {
      if (e.type === 'withheld') {
        withheld.inc({ destination: e.destination, code: e.code });
        o.log.info(
          { event: 'delivery.withheld', jobId: e.job.id, destination: e.destination, code: e.code },
          'withheld by consent',
        );
      }
    },
    async close() {
      if (timer) clearTimeout(timer);
      await running;
      if (key) await checkpointNow(gov, key, now()).catch(() => undefined);
      await gov.close();
    },
  };
}
