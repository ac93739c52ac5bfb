/** `veil risk`: re-identification risk of de-identified DICOM files (see risk/run.ts). */

import type { Command } from 'commander';
import { CliError, EXIT_USAGE, runCommand } from '../deid/cli-error.ts';
import type { RecordUnit } from '../risk/quasi-identifiers.ts';
import { runRisk } from '../risk/run.ts';

interface RiskFlags {
  out?: string;
  json?: boolean;
  k: string;
  l: string;
  unit: string;
  sensitive?: string;
  population?: string;
  check?: boolean;
}

export function register(program: Command): void {
  program
    .command('risk')
    .description(
      'Measure the re-identification risk of de-identified DICOM: k-anonymity, unique records, l-diversity, population estimates, generalisation advice',
    )
    .argument('<input...>', 'de-identified DICOM files and folders (walked recursively; never written to)')
    .option('-o, --out <dir>', 'write risk-report.json and risk-report.html (charts as inline SVG) there')
    .option('--json', 'print the JSON report on stdout')
    .option('--k <n>', 'the k to reach: records in smaller classes are at risk', '5')
    .option('--l <n>', 'the l to reach for the sensitive attribute', '2')
    .option('--unit <unit>', 'a record is a study, a patient or an instance', 'study')
    .option('--sensitive <keyword>', 'a DICOM keyword whose values must be diverse within each class (l-diversity)')
    .option(
      '--population <file>',
      'CSV of population counts: a header naming quasi-identifiers (age, sex, studyDate...) and count',
    )
    .option('--check', 'exit 1 when some record is in a class smaller than k')
    .addHelpText(
      'after',
      `
Quasi-identifiers: age, sex, ethnicGroup, birthDate, studyDate, height, weight, institution, station, device,
deviceSerial, procedure (modalities + body part + study description), privateCreators.

Population CSV example (ranges "40-49", open ranges "90+", date prefixes "2020"):
  sex,age,count
  F,40-49,5210
  M,90+,112

Exit codes: 0 done, 1 --check and some record is in a class smaller than k, 2 usage error, 3 unreadable population file.

Example:
  veil risk /tmp/veil-out --out /tmp/risk --k 5 --sensitive StudyDescription`,
    )
    .action(async (inputs: string[], flags: RiskFlags) => {
      await runCommand('risk', () => {
        if (!['study', 'patient', 'instance'].includes(flags.unit))
          throw new CliError(EXIT_USAGE, '--unit must be study, patient or instance');
        return runRisk({
          inputs,
          out: flags.out,
          json: flags.json === true,
          k: Number(flags.k),
          l: Number(flags.l),
          unit: flags.unit as RecordUnit,
          sensitive: flags.sensitive,
          population: flags.population,
          check: flags.check === true,
        });
      });
    });
}
