/**
 * The `veil` command line. Each command lives in commands/<name>.ts and exports `register(program)`.
 * Exit codes: 0 success, 1 failure of the run (some inputs failed or were quarantined), 2 usage error,
 * 3 configuration/key error, 70 internal error.
 */
import { Command } from 'commander';
import { commandsFor } from './commands/index.ts';

const program = new Command('veil')
  .description('Veil: the privacy gateway for medical imaging AI')
  .showHelpAfterError()
  .exitOverride((err) => {
    process.exit(err.exitCode === 0 ? 0 : 2);
  });

for (const m of await Promise.all(commandsFor(process.argv.slice(2)).map((c) => c.load()))) m.register(program);

if (process.argv.length <= 2) program.help();
await program.parseAsync(process.argv);
