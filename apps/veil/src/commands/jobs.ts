/** `veil jobs`: list the gateway's jobs by state, and replay dead or failed ones (see server/admin.ts). */
import type { JobState } from '@veil/pipeline';
import { type Command, InvalidArgumentError } from 'commander';
import { runCommand } from '../deid/cli-error.ts';

const STATES: readonly JobState[] = [
  'queued',
  'processing',
  'delivering',
  'done',
  'quarantined',
  'dead',
  'failed',
  'purged',
];

function parseState(value: string): JobState {
  if ((STATES as readonly string[]).includes(value)) return value as JobState;
  throw new InvalidArgumentError(STATES.join(', '));
}

function parseLimit(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1) throw new InvalidArgumentError('a whole number from 1');
  return n;
}

interface JobsFlags {
  config: string;
  state?: JobState;
  limit: number;
  json?: boolean;
  replay?: string;
}

function iso(ms: number | null): string {
  return ms === null ? '-' : new Date(ms).toISOString();
}

export function register(program: Command): void {
  program
    .command('jobs')
    .description("List the gateway's jobs (counts by state, then one line per job), or replay a dead or failed job")
    .requiredOption('-c, --config <file>', 'the server configuration (names the store)')
    .option('--state <state>', `only jobs in this state: ${STATES.join(', ')}`, parseState)
    .option('--limit <n>', 'at most this many jobs', parseLimit, 100)
    .option('--json', 'JSON lines instead of text')
    .option('--replay <id>', 'send a dead job to its dead destinations again, or run a failed job again from the start')
    .addHelpText(
      'after',
      `
Example:
  veil jobs --config veil.yaml --state dead
  veil jobs --config veil.yaml --replay 01k8x3m2qz7f2c9d0e4rj5wtay`,
    )
    .action(async (flags: JobsFlags) => {
      const [{ loadServerConfig }, { openAdmin }] = await Promise.all([
        import('../server/config.ts'),
        import('../server/admin.ts'),
      ]);
      await runCommand('jobs', async () => {
        const admin = await openAdmin(loadServerConfig(flags.config));
        try {
          if (flags.replay !== undefined) {
            const job = await admin.replay(flags.replay);
            const how = await admin.kick(job.id);
            const note =
              how === 'later' ? 'the server is not running; the job resumes when it starts' : `handed to the ${how}`;
            process.stdout.write(`replayed ${job.id}: ${job.state} (${note})\n`);
            return 0;
          }
          const counts = await admin.store.countJobs();
          const jobs = await admin.store.listJobs({
            ...(flags.state ? { states: [flags.state] } : {}),
            limit: flags.limit,
          });
          if (!flags.json) {
            process.stdout.write(
              `${Object.entries(counts)
                .map(([s, n]) => `${s} ${n}`)
                .join(', ')}\n`,
            );
          }
          for (const job of jobs) {
            const deliveries = await admin.store.listDeliveries({ jobId: job.id });
            if (flags.json) {
              process.stdout.write(
                `${JSON.stringify({
                  id: job.id,
                  state: job.state,
                  step: job.step,
                  error: job.error,
                  ingress: job.ingress,
                  route: job.route,
                  attempts: job.attempts,
                  createdAt: iso(job.createdAt),
                  finishedAt: iso(job.finishedAt),
                  deliveries: deliveries.map((d) => ({
                    destination: d.destination,
                    state: d.state,
                    attempts: d.attempts,
                    error: d.error,
                  })),
                })}\n`,
              );
            } else {
              const ds = deliveries
                .map((d) => `${d.destination}:${d.state}/${d.attempts}${d.error ? `(${d.error})` : ''}`)
                .join(' ');
              process.stdout.write(
                `${job.id} ${job.state} ${job.step}${job.error ? ` ${job.error}` : ''}${ds ? ` ${ds}` : ''} ${iso(job.createdAt)}\n`,
              );
            }
          }
          return 0;
        } finally {
          await admin.close();
        }
      });
    });
}
