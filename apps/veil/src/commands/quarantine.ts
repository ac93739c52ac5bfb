/**
 * `veil quarantine list|show ID|release ID|purge ID`: the gateway's held instances (see server/admin.ts). A held
 * instance lists every finding (stage, detector, code, tag path; never a value); `release` needs each one
 * acknowledged by its key CODE@TAGPATH (`--ack KEY`, repeatable, or `--ack-all-listed` after `show`), or `--rerun`
 * to start it over under the configuration the server runs now; either way with a `--reason`, audited with the
 * operator (`--operator`, default the OS user).
 */
import { userInfo } from 'node:os';
import type { Command } from 'commander';
import { CliError, EXIT_USAGE, runCommand } from '../deid/cli-error.ts';

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
        const { heldFindings } = await import('../server/admin.ts');
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
            findings: job ? heldFindings(job, r).length : 1,
          };
          process.stdout.write(
            flags.json
              ? `${JSON.stringify(line)}\n`
              : `${line.id} ${line.state} ${line.code}${line.tagPath ? ` ${line.tagPath}` : ''} ${line.step} ${line.since} (${line.findings} finding(s))\n`,
          );
        }
        if (!flags.json) process.stderr.write(`${records.length} record(s)\n`);
        return 0;
      });
    });

  q.command('show')
    .description('Every finding a held instance is held for, with the key to acknowledge it by (CODE@TAGPATH)')
    .argument('<id>', 'job id')
    .requiredOption('-c, --config <file>', 'the server configuration')
    .option('--json', 'JSON instead of text')
    .action(async (id: string, flags: { config: string; json?: boolean }) => {
      await withAdmin('show', flags.config, async (admin) => {
        const { heldFindings } = await import('../server/admin.ts');
        const job = await admin.job(id);
        const record = await admin.store.getQuarantine(id);
        if (!record) throw new CliError(EXIT_USAGE, `job ${id} has no quarantine record`);
        const findings = heldFindings(job, record).map((f) => ({ ...f, key: `${f.code}@${f.tagPath}` }));
        if (flags.json) {
          process.stdout.write(`${JSON.stringify({ id, state: record.state, step: record.step, findings })}\n`);
        } else {
          process.stdout.write(`${id} ${record.state} at step ${record.step}: ${findings.length} finding(s)\n`);
          for (const f of findings) {
            process.stdout.write(`  ${f.key}  (${f.stage}/${f.detector}${f.detail ? ` ${f.detail}` : ''})\n`);
          }
        }
        return 0;
      });
    });

  q.command('release')
    .description(
      'Let a held instance go on: acknowledge every finding (--ack KEY... or --ack-all-listed) or --rerun it under the current configuration; audited with operator and reason',
    )
    .argument('<id>', 'job id')
    .requiredOption('-c, --config <file>', 'the server configuration')
    .option('--ack <key>', 'acknowledge one finding by its key CODE@TAGPATH (repeat for each)', collect, [])
    .option('--ack-all-listed', 'acknowledge every finding `veil quarantine show` lists')
    .option('--rerun', 'acknowledge nothing: run it again from the first step with the configuration now in force')
    .requiredOption('--reason <text>', 'why (kept in the audit log; write no patient data here)')
    .option('--operator <name>', 'who releases it (default: the OS user)')
    .action(
      async (
        id: string,
        flags: {
          config: string;
          ack: string[];
          ackAllListed?: boolean;
          rerun?: boolean;
          reason: string;
          operator?: string;
        },
      ) => {
        await withAdmin('release', flags.config, async (admin) => {
          const modes = [flags.ack.length > 0, flags.ackAllListed === true, flags.rerun === true].filter(Boolean);
          if (modes.length !== 1) {
            throw new CliError(EXIT_USAGE, 'give exactly one of --ack KEY (repeatable), --ack-all-listed, --rerun');
          }
          const reason = flags.reason.trim().slice(0, 500);
          if (reason === '') throw new CliError(EXIT_USAGE, '--reason must not be empty');
          const operator = (flags.operator ?? safeUser()).trim().slice(0, 64);
          if (!/^[\w.@-]+$/.test(operator)) {
            throw new CliError(EXIT_USAGE, '--operator: letters, digits, . _ - @ only');
          }
          let acks = flags.ack;
          if (flags.ackAllListed) {
            const { heldFindings } = await import('../server/admin.ts');
            const job = await admin.job(id);
            const record = await admin.store.getQuarantine(id);
            acks = record ? heldFindings(job, record).map((f) => `${f.code}@${f.tagPath}`) : [];
          }
          const { job, record, acknowledged } = await admin.release(
            id,
            flags.rerun ? { mode: 'rerun', operator, reason } : { mode: 'acknowledge', acks, operator, reason },
          );
          const how = await admin.kick(job.id);
          const note =
            how === 'later' ? 'the server is not running; it resumes when it starts' : `handed to the ${how}`;
          const what = flags.rerun ? 're-run from the first step' : `${acknowledged.length} finding(s) acknowledged`;
          process.stdout.write(
            `released ${job.id} (${record.code}) at step ${record.step}: ${what} by ${operator} (${note})\n`,
          );
          return 0;
        });
      },
    );

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

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function safeUser(): string {
  try {
    return userInfo().username || 'unknown';
  } catch {
    return 'unknown';
  }
}
