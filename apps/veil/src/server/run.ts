/**
 * `veil serve`: load the configuration and key, start the server in the given role, run until SIGINT or SIGTERM,
 * then stop taking files in, let running steps finish, and close. Returns the exit code.
 *
 * Example:
 *   process.exitCode = await runServe({ config: 'veil.yaml', role: 'all' });
 */
import { loadServerConfig, loadServerKey } from './config.ts';
import type { Role } from './observe.ts';
import { startServer } from './server.ts';

export interface ServeOptions {
  readonly config: string;
  readonly role: Role;
  readonly httpPort?: number | undefined;
}

export async function runServe(o: ServeOptions): Promise<number> {
  const config = loadServerConfig(o.config);
  const key = loadServerKey(config, (m) => process.stderr.write(`veil serve: ${m}\n`));
  const server = await startServer({ config, key, role: o.role, httpPort: o.httpPort });
  await new Promise<void>((resolve) => {
    const stop = (signal: NodeJS.Signals): void => {
      server.obs.log.info({ event: 'server.stopping', signal }, 'stopping');
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  await server.close();
  return 0;
}
