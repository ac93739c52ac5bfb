/** The registry of CLI commands: one line per command module. */
import type { Command } from 'commander';
import { register as deid } from './deid.ts';
import { register as dicomweb } from './dicomweb.ts';
import { register as dump } from './dump.ts';
import { register as echo } from './echo.ts';
import { register as jobs } from './jobs.ts';
import { register as keygen } from './keygen.ts';
import { register as quarantine } from './quarantine.ts';
import { register as reidentify } from './reidentify.ts';
import { register as send } from './send.ts';
import { register as serve } from './serve.ts';
import { register as storeScp } from './store-scp.ts';
import { register as stow } from './stow.ts';
import { register as verify } from './verify.ts';

export type RegisterCommand = (program: Command) => void;

export const commands: RegisterCommand[] = [
  deid,
  keygen,
  reidentify,
  verify,
  echo,
  send,
  storeScp,
  dump,
  stow,
  dicomweb,
  serve,
  jobs,
  quarantine,
];
