/**
 * The registry of CLI commands: one line per command module, with the command names it registers. A command's
 * module (and what it imports: DIMSE, DICOMweb, the stores) is loaded only when that command runs, or when the
 * whole list is needed (help, an unknown command): `veil deid` does not load the server.
 */
import type { Command } from 'commander';

export type RegisterCommand = (program: Command) => void;

interface CommandModule {
  readonly names: readonly string[];
  readonly load: () => Promise<{ register: RegisterCommand }>;
}

export const commands: readonly CommandModule[] = [
  { names: ['deid'], load: () => import('./deid.ts') },
  { names: ['deface'], load: () => import('./deface.ts') },
  { names: ['keygen'], load: () => import('./keygen.ts') },
  { names: ['token'], load: () => import('./token.ts') },
  { names: ['reidentify'], load: () => import('./reidentify.ts') },
  { names: ['verify'], load: () => import('./verify.ts') },
  { names: ['echo'], load: () => import('./echo.ts') },
  { names: ['send'], load: () => import('./send.ts') },
  { names: ['store-scp'], load: () => import('./store-scp.ts') },
  { names: ['dump'], load: () => import('./dump.ts') },
  { names: ['stow'], load: () => import('./stow.ts') },
  { names: ['dicomweb-serve', 'dicomweb-pull'], load: () => import('./dicomweb.ts') },
  { names: ['serve'], load: () => import('./serve.ts') },
  { names: ['jobs'], load: () => import('./jobs.ts') },
  { names: ['quarantine'], load: () => import('./quarantine.ts') },
  { names: ['text'], load: () => import('./text.ts') },
  { names: ['llm-proxy'], load: () => import('./llm-proxy.ts') },
  { names: ['consent'], load: () => import('./consent.ts') },
  { names: ['audit'], load: () => import('./audit.ts') },
  { names: ['deletion'], load: () => import('./deletion.ts') },
  { names: ['portal'], load: () => import('./portal.ts') },
  { names: ['init', 'account'], load: () => import('./init.ts') },
  { names: ['risk'], load: () => import('./risk.ts') },
  { names: ['pull'], load: () => import('./pull.ts') },
  { names: ['pixels'], load: () => import('./pixels.ts') },
];

/** The modules to register for these arguments: the named command's alone, or all of them. */
export function commandsFor(args: readonly string[]): readonly CommandModule[] {
  const name = args[0];
  const one = commands.find((c) => name !== undefined && c.names.includes(name));
  return one ? [one] : commands;
}
