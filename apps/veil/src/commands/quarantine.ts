/** `veil quarantine list|release ID|purge ID`: the gateway's held instances (see server/admin.ts). */
import type { Command } from 'commander';
import { runCommand } from '../deid/cli-error.ts';

async function withAdmin(
  name: string,
  config: string,
  body: (admin: import('../server/admin.ts').Admin) => Promise<number>,
): Promise<void> {
  const [{ loadServerConfig }, { openAdmin }] = await Promise.all([
    import('../server/config.ts'),
    import('../server/admin.ts'),
  ]);
  await runCommand(`quarantine ${name}`, async () => {
    const admin = await openAdmin(loadServerConfig(config));
    try {
      return await body(admin);
    } finally {
      await admin.close();
    }
  });
}

export function register(program: Command): void {
  const q = program
    .command('quarantine')
    .description('Instances the gateway held back (policy, de-identification or verification): list, release, purge');

  q.command('list')
    .description('Held instances: job id, reason code, tag path, step, since when (--all: released and purged too)')
    .requiredOption('-c, --config <file>', 'the server configuration (names the store)')
    .option('--all', 'also released and purged records')
    .option('--json', 'JSON lines instead of text')
    .action(async (flags: { config: string; all?: boolean; json?: boolean }) => {
      await withAdmin('list', flags.config, async (admin) => {
        const records = await admin.store.listQuarantine(flags.all ? {} : { states: ['held'] });
        for (const r of records) {
          const job = await admin.store.getJob(r.jobId);
          const line = {
            id: r.jobId,
            state: r.state,
            code: r.code,
            tagPath: r.tagPath,
            step: r.step,
            since: new Date(r.updatedAt).toISOString(),
            spool: job ? String(job.source.spool) : null,
          };
          process.stdout.write(
            flags.json
              ? `${JSON.stringify(line)}\n`
              : `${line.id} ${line.state} ${line.code}${line.tagPath ? ` ${line.tagPath}` : ''} ${line.step} ${line.since}\n`,
          );
        }
        if (!flags.json) process.stderr.write(`${records.length} record(s)\n`);
        return 0;
      });
    });

  q.command('release')
    .description('Let a held instance go on from the step that held it, passing that check this once (audited)')
    .argument('<id>', 'job id')
    .requiredOption('-c, --config <file>', 'the server configuration')
    .action(async (id: string, flags: { config: string }) => {
      await withAdmin('release', flags.config, async (admin) => {
        const { job, record } = await admin.release(id);
        const how = await admin.kick(job.id);
        const note = how === 'later' ? 'the server is not running; it resumes when it starts' : `handed to the ${how}`;
        process.stdout.write(`released ${job.id} (${record.code}) at step ${record.step} (${note})\n`);
        return 0;
      });
    });

  q.command('purge')
    .description("Delete a held instance's bytes from the spool for good (the record stays, as purged)")
    .argument('<id>', 'job id')
    .requiredOption('-c, --config <file>', 'the server configuration')
    .action(async (id: string, flags: { config: string }) => {
      await withAdmin('purge', flags.config, async (admin) => {
        const job = await admin.purge(id);
        process.stdout.write(`purged ${job.id}\n`);
        return 0;
      });
    });
}
