/** `veil serve`: the durable gateway server (see server/server.ts). */
import { type Command, InvalidArgumentError } from 'commander';
import { runCommand } from '../deid/cli-error.ts';

function parseRole(value: string): 'all' | 'ingress' | 'worker' {
  if (value === 'all' || value === 'ingress' || value === 'worker') return value;
  throw new InvalidArgumentError('all, ingress or worker');
}

function parsePort(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 65_535) throw new InvalidArgumentError('a port from 0 to 65535');
  return n;
}

export function register(program: Command): void {
  program
    .command('serve')
    .description('Run the gateway: ingress -> policy gate -> de-identify -> verify -> deliver, durable and resumable')
    .requiredOption('-c, --config <file>', 'server configuration, .yaml or .json')
    .option('--role <role>', 'all (one process), ingress or worker (scale-out: BullMQ + PostgreSQL)', parseRole, 'all')
    .option('--http-port <port>', 'health and metrics port on 127.0.0.1, overriding http.port (0: any)', parsePort)
    .addHelpText(
      'after',
      `
Endpoints (127.0.0.1 unless http.host says otherwise): GET /health, GET /metrics (Prometheus), GET /status.
Logs: one JSON line per event on stdout (ids, codes and counts; never a value from a file).

Example:
  veil keygen --out /etc/veil/veil.key
  veil serve --config veil-server.yaml
  veil serve --config scale.yaml --role ingress & veil serve --config scale.yaml --role worker --http-port 0`,
    )
    .action(async (flags: { config: string; role: 'all' | 'ingress' | 'worker'; httpPort?: number }) => {
      const { runServe } = await import('../server/run.ts');
      await runCommand('serve', () => runServe({ config: flags.config, role: flags.role, httpPort: flags.httpPort }));
    });
}
