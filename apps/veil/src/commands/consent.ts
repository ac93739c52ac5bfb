/**
 * `veil consent set|show|import`: the consent registry (per patient and purpose of use). Patients are named by
 * issuer + Patient ID on the command line or in the CSV; the registry holds only their HMAC with the project key.
 * Every change is audited (actor `cli:<login>`). The portal and the console write the same registry.
 */
import { readFileSync } from 'node:fs';
import { type Command, Option } from 'commander';
import { CliError, EXIT_USAGE } from '../deid/cli-error.ts';

type Choice = 'opt-out' | 'opt-in' | 'default';

/** Splits one CSV line (RFC 4180 quotes). */
export function csvFields(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cur += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out.map((f) => f.trim());
}

export function register(program: Command): void {
  const c = program
    .command('consent')
    .description("Patients' choices per purpose of use (opt-out, opt-in): set, show, import from CSV (audited)");

  c.command('set')
    .description('Record one choice for one patient and purpose')
    .requiredOption('-c, --config <file>', 'the server configuration')
    .requiredOption('--patient-id <id>', 'the Patient ID (0010,0020) as the hospital issues it')
    .option('--issuer <issuer>', 'Issuer of Patient ID (0010,0021), when the files carry one', '')
    .requiredOption('--purpose <purpose>', 'a purpose of governance.purposes')
    .addOption(new Option('--choice <choice>', 'what the patient chose').choices(['opt-out', 'opt-in', 'default']))
    .option('--opt-out', 'same as --choice opt-out')
    .option('--opt-in', 'same as --choice opt-in')
    .action(
      async (flags: {
        config: string;
        patientId: string;
        issuer: string;
        purpose: string;
        choice?: Choice;
        optOut?: boolean;
        optIn?: boolean;
      }) => {
        const { withGovernance, checkPurpose } = await import('../governance/cli.ts');
        const { patientKey } = await import('../governance/patient-key.ts');
        await withGovernance('consent set', flags.config, async ({ config, gov, key, actor }) => {
          const choice = flags.choice ?? (flags.optOut ? 'opt-out' : flags.optIn ? 'opt-in' : undefined);
          if (!choice) throw new CliError(EXIT_USAGE, 'say --opt-out, --opt-in or --choice default');
          const purpose = checkPurpose(config, flags.purpose);
          if (choice === 'opt-out' && !purpose.optOutAllowed) {
            throw new CliError(EXIT_USAGE, `CONSENT_OPT_OUT_NOT_ALLOWED: purpose ${purpose.name} is part of care`);
          }
          if (flags.patientId.trim() === '') throw new CliError(EXIT_USAGE, '--patient-id is empty');
          const pk = patientKey(key(), flags.patientId, flags.issuer);
          await gov.setConsent(
            pk,
            purpose.name,
            choice === 'default' ? null : choice,
            { actor, via: 'cli' },
            Date.now(),
          );
          process.stdout.write(`${purpose.name}: ${choice}\n`);
          return 0;
        });
      },
    );

  c.command('show')
    .description("A patient's choices, and what Veil does for each purpose")
    .requiredOption('-c, --config <file>', 'the server configuration')
    .requiredOption('--patient-id <id>', 'the Patient ID')
    .option('--issuer <issuer>', 'Issuer of Patient ID', '')
    .option('--json', 'JSON instead of text')
    .action(async (flags: { config: string; patientId: string; issuer: string; json?: boolean }) => {
      const { withGovernance } = await import('../governance/cli.ts');
      const { patientKey } = await import('../governance/patient-key.ts');
      const { consentDecision } = await import('../governance/runtime.ts');
      await withGovernance('consent show', flags.config, async ({ config, gov, key }) => {
        const choices = await gov.listConsent(patientKey(key(), flags.patientId, flags.issuer));
        const rows = config.server.governance.purposes.map((p) => {
          const mine = choices.find((x) => x.purpose === p.name);
          const hold = consentDecision(p, choices);
          return {
            purpose: p.name,
            choice: mine?.choice ?? 'default',
            since: mine ? new Date(mine.updatedAt).toISOString() : null,
            shared: hold === undefined,
            ...(hold ? { code: hold } : {}),
          };
        });
        for (const r of rows) {
          process.stdout.write(
            flags.json
              ? `${JSON.stringify(r)}\n`
              : `${r.purpose}\t${r.choice}\t${r.shared ? 'shared' : `withheld (${r.code})`}${r.since ? `\t${r.since}` : ''}\n`,
          );
        }
        return 0;
      });
    });

  c.command('import')
    .description(
      'Record many choices from a CSV file: patient_id,issuer,purpose,choice (choice: opt-out, opt-in, default)',
    )
    .requiredOption('-c, --config <file>', 'the server configuration')
    .argument('<csv>', 'the CSV file (a header line first)')
    .action(async (file: string, flags: { config: string }) => {
      const { withGovernance, checkPurpose } = await import('../governance/cli.ts');
      const { patientKey } = await import('../governance/patient-key.ts');
      await withGovernance('consent import', flags.config, async ({ config, gov, key, actor }) => {
        const lines = readFileSync(file, 'utf8').split(/\r?\n/);
        const header = csvFields(lines[0] ?? '').map((h) => h.toLowerCase());
        const col = (n: string): number => {
          const i = header.indexOf(n);
          if (i < 0)
            throw new CliError(EXIT_USAGE, `line 1: no column "${n}" (need patient_id, issuer, purpose, choice)`);
          return i;
        };
        const [ci, cs, cp, cc] = [col('patient_id'), col('issuer'), col('purpose'), col('choice')];
        // Checked whole before anything is written: a bad line changes nothing.
        const todo: { pk: string; purpose: string; choice: 'opt-out' | 'opt-in' | null }[] = [];
        for (let n = 1; n < lines.length; n++) {
          if (lines[n]!.trim() === '') continue;
          const f = csvFields(lines[n]!);
          const id = f[ci] ?? '';
          const choice = f[cc] ?? '';
          if (id === '') throw new CliError(EXIT_USAGE, `line ${n + 1}: empty patient_id`);
          if (choice !== 'opt-out' && choice !== 'opt-in' && choice !== 'default') {
            throw new CliError(EXIT_USAGE, `line ${n + 1}: choice must be opt-out, opt-in or default`);
          }
          let purpose: ReturnType<typeof checkPurpose>;
          try {
            purpose = checkPurpose(config, f[cp] ?? '');
          } catch (e) {
            throw new CliError(EXIT_USAGE, `line ${n + 1}: ${(e as Error).message}`);
          }
          if (choice === 'opt-out' && !purpose.optOutAllowed) {
            throw new CliError(EXIT_USAGE, `line ${n + 1}: CONSENT_OPT_OUT_NOT_ALLOWED for ${purpose.name}`);
          }
          todo.push({
            pk: patientKey(key(), id, f[cs] ?? ''),
            purpose: purpose.name,
            choice: choice === 'default' ? null : choice,
          });
        }
        const now = Date.now();
        for (const t of todo) await gov.setConsent(t.pk, t.purpose, t.choice, { actor, via: 'import' }, now);
        process.stdout.write(`${todo.length} choice(s) recorded\n`);
        return 0;
      });
    });
}
