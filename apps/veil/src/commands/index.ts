/** The registry of CLI commands: one line per command module. */
import type { Command } from 'commander';
import { register as deid } from './deid.ts';
import { register as dump } from './dump.ts';
import { register as keygen } from './keygen.ts';
import { register as reidentify } from './reidentify.ts';
import { register as verify } from './verify.ts';

export type RegisterCommand = (program: Command) => void;

export const commands: RegisterCommand[] = [deid, keygen, reidentify, verify, dump];
