/**
 * Throwaway TLS material for the security tests, made with openssl in a temp folder: a CA, a server certificate for
 * localhost and 127.0.0.1, a client certificate of that CA, and a client certificate of another ("rogue") CA. And the
 * peers those tests play against a DIMSE listener: a raw Verification A-ASSOCIATE-RQ, and a C-ECHO association.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DimseClient, encodePdu, VERIFICATION_SOP_CLASS } from '@veil/dimse';

const IMPLICIT = '1.2.840.10008.1.2';

export const hasOpenssl = spawnSync('openssl', ['version'], { stdio: 'ignore' }).status === 0;

/** A CA, a server certificate for localhost/127.0.0.1, a client certificate, and a rogue CA's client certificate. */
export function makeCerts(dir: string): Record<string, string> {
  const ssl = (...args: string[]): void => {
    execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
  };
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  for (const ca of ['ca', 'rogue']) {
    ssl('req', '-x509', ...ec, '-keyout', `${ca}.key`, '-out', `${ca}.crt`, '-days', '2', '-subj', `/CN=${ca}`);
  }
  writeFileSync(join(dir, 'server.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
  writeFileSync(join(dir, 'client.ext'), 'extendedKeyUsage=clientAuth\n');
  const leaf = (name: string, ca: string, ext: string): void => {
    ssl('req', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`);
    ssl(
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      `${ca}.crt`,
      '-CAkey',
      `${ca}.key`,
      '-CAcreateserial',
      '-out',
      `${name}.crt`,
      '-days',
      '2',
      '-extfile',
      ext,
    );
  };
  leaf('server', 'ca', 'server.ext');
  leaf('client', 'ca', 'client.ext');
  leaf('intruder', 'rogue', 'client.ext');
  const out: Record<string, string> = {};
  for (const f of ['ca.crt', 'server.crt', 'server.key', 'client.crt', 'client.key', 'intruder.crt', 'intruder.key'])
    out[f] = readFileSync(join(dir, f), 'utf8');
  return out;
}

/** The bytes of a Verification A-ASSOCIATE-RQ to VEIL from `callingAeTitle` (for peers that send it raw). */
export function associateRq(callingAeTitle: string): Uint8Array {
  return encodePdu({
    type: 'A-ASSOCIATE-RQ',
    protocolVersion: 1,
    calledAeTitle: 'VEIL',
    callingAeTitle,
    applicationContextName: '1.2.840.10008.3.1.1.1',
    presentationContexts: [{ id: 1, abstractSyntax: VERIFICATION_SOP_CLASS, transferSyntaxes: [IMPLICIT] }],
    userInformation: { maxLength: 16384, implementationClassUid: '1.2.3.4' },
  });
}

/** A C-ECHO over a new association (GOODAE -> VEIL unless named); its status. Rejections and failures throw. */
export async function echo(
  port: number,
  o: {
    calling?: string;
    called?: string;
    tls?: { ca: string; cert?: string; key?: string };
    user?: [string, string];
  } = {},
): Promise<number> {
  const client = await DimseClient.connect({
    host: '127.0.0.1',
    port,
    callingAeTitle: o.calling ?? 'GOODAE',
    calledAeTitle: o.called ?? 'VEIL',
    contexts: [{ abstractSyntax: VERIFICATION_SOP_CLASS, transferSyntaxes: [IMPLICIT] }],
    timeouts: { acseMs: 5000, idleMs: 5000 },
    ...(o.tls ? { tls: { ...o.tls, servername: 'localhost' } } : {}),
    ...(o.user
      ? {
          userIdentity: {
            type: 2,
            positiveResponseRequested: true,
            primaryField: Buffer.from(o.user[0]),
            secondaryField: Buffer.from(o.user[1]),
          },
        }
      : {}),
  });
  try {
    return await client.echo();
  } finally {
    await client.release().catch(() => client.abort());
  }
}
