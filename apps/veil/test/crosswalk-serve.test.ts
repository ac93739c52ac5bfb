/**
 * The gateway's crosswalk end to end, on real files from ../shared/data: `veil serve` (startServer, in process)
 * de-identifies patient A's and B's CT instances with a crosswalk public key configured; `veil reidentify --config`
 * (the real executable) maps each pseudonymous patient ID, accession and study/series/SOP instance UID read from the
 * delivered files back to the original in the input file, for a privacy officer; an operator, a wrong password and a
 * wrong private key are refused, every attempt is on the hash-chained audit trail with the account as actor and no
 * pseudonym or identity, the store holds nothing in clear, and `veil audit verify` still passes. Run once on SQLite
 * and once on PostgreSQL (127.0.0.1:5432, as the store tests; skipped when unreachable outside CI).
 */
import assert from 'node:assert/strict';
import { createPrivateKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { findElement, readString, scanFile } from '@veil/core';
import { type GovernanceStore, verifyChain } from '@veil/pipeline';
import Database from 'better-sqlite3';
import pg from 'pg';
import {
  loadCrosswalkPrivateKey,
  loadCrosswalkPublicKey,
  newCrosswalkKeyPair,
  openRecord,
  reidentifyInGateway,
  sealIdentities,
} from '../src/governance/crosswalk.ts';
import { hashPassword } from '../src/governance/passwords.ts';
import { openGovernanceStore } from '../src/governance/runtime.ts';
import { loadServerConfig } from '../src/server/config.ts';
import { createObservability } from '../src/server/observe.ts';
import { type ServerHandle, startServer } from '../src/server/server.ts';
import { governanceConfig, PATIENT_A, PATIENT_B, put } from './governance-support.ts';
import { corpusDir, ensureDir, keyFile, PG_URL, postgresProblem, runVeil, waitFor } from './server-support.ts';

const root = mkdtempSync(join(tmpdir(), 'veil-crosswalk-'));
after(() => rmSync(root, { recursive: true, force: true }));

const pgSkip = await postgresProblem();
if (pgSkip && process.env.CI) throw new Error(`${pgSkip}; CI=true: the service is required`);

const TAGS = {
  patientId: 0x00100020,
  accession: 0x00080050,
  studyUID: 0x0020000d,
  seriesUID: 0x0020000e,
  sopInstanceUID: 0x00080018,
} as const;

function values(path: string): Record<keyof typeof TAGS, string | undefined> {
  const file = scanFile(readFileSync(path));
  const out = {} as Record<keyof typeof TAGS, string | undefined>;
  for (const [k, tag] of Object.entries(TAGS)) {
    const el = findElement(file.dataset, tag);
    const v = el ? readString(el).trim() : '';
    out[k as keyof typeof TAGS] = v === '' ? undefined : v;
  }
  return out;
}

const PASSWORD = { po: randomBytes(12).toString('base64url'), op: randomBytes(12).toString('base64url') };

for (const kind of ['sqlite', 'postgres'] as const) {
  describe(`gateway crosswalk (${kind})`, { skip: kind === 'postgres' ? (pgSkip ?? false) : false }, () => {
    const dir = ensureDir(join(root, kind));
    const inbox = ensureDir(join(dir, 'inbox'));
    const { path: keyPath, key } = keyFile(dir);
    const pair = newCrosswalkKeyPair();
    const other = newCrosswalkKeyPair();
    const schema = `veil_cw_${process.pid}_${randomBytes(3).toString('hex')}`;
    let configPath: string;
    let server: ServerHandle | undefined;
    let gov: GovernanceStore | undefined;
    const env = { VEIL_CROSSWALK_KEY: pair.privateKey, VEIL_ACCOUNT_PASSWORD: PASSWORD.po };

    before(async () => {
      writeFileSync(join(dir, 'crosswalk.pub'), pair.publicKey);
      // The private key is the privacy office's: in a file only for the --crosswalk-key-file case.
      writeFileSync(join(dir, 'other.key'), other.privateKey, { mode: 0o600 });
      configPath = governanceConfig(dir, keyPath, {
        crosswalk: { publicKey: './crosswalk.pub' },
        ...(kind === 'postgres' ? { store: { kind: 'postgres', url: PG_URL, schema } } : {}),
      });
      const config = loadServerConfig(configPath);
      server = await startServer({
        config,
        key,
        role: 'all',
        obs: createObservability({ level: 'warn', role: 'all' }),
      });
      gov = await openGovernanceStore(config.server.store);
      await gov.init();
      await gov.putAccount(
        { name: 'po', role: 'privacy-officer', passwordHash: await hashPassword(PASSWORD.po) },
        'test',
        Date.now(),
      );
      await gov.putAccount(
        { name: 'op', role: 'operator', passwordHash: await hashPassword(PASSWORD.op) },
        'test',
        Date.now(),
      );
    });
    after(async () => {
      await server?.close();
      await gov?.close();
      if (kind === 'postgres') {
        const c = new pg.Client({ connectionString: PG_URL });
        await c.connect();
        await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).finally(() => c.end());
      }
    });

    const rawRows = async (): Promise<unknown[]> => {
      if (kind === 'sqlite') {
        const db = new Database(join(dir, 'veil.db'), { readonly: true });
        try {
          return db.prepare('SELECT * FROM crosswalk').all();
        } finally {
          db.close();
        }
      }
      const c = new pg.Client({ connectionString: PG_URL });
      await c.connect();
      try {
        return (await c.query(`SELECT * FROM "${schema}".crosswalk`)).rows;
      } finally {
        await c.end();
      }
    };

    // SQLite: through the real `veil reidentify` executable; PostgreSQL: the same function in process (the CLI part
    // does not depend on the store, and each process start costs seconds on a loaded machine).
    const reid = async (
      args: string[],
      extraEnv: Record<string, string> = {},
      inProcess = false,
    ): Promise<{ code: number; stdout: string; stderr: string }> => {
      if (kind === 'sqlite' && !inProcess) return runVeil(['reidentify', ...args], { ...env, ...extraEnv });
      const flag = (name: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
      const keyFile = flag('--crosswalk-key-file');
      const r = await reidentifyInGateway({
        gov: gov!,
        projectKey: () => key,
        privateKey: () => createPrivateKey(keyFile ? readFileSync(keyFile, 'utf8') : pair.privateKey),
        account: flag('--account')!,
        password: extraEnv.VEIL_ACCOUNT_PASSWORD ?? env.VEIL_ACCOUNT_PASSWORD,
        pseudonym: args.at(-1)!,
        via: 'cli:test',
      });
      if (r.kind === 'found')
        return { code: 0, stdout: `${r.entries.map((e) => e.original).join('\n')}\n`, stderr: '' };
      if (r.kind === 'not-found') return { code: 1, stdout: '', stderr: '' };
      if (r.kind === 'refused')
        return { code: 4, stdout: '', stderr: r.reason === 'role' ? 'admin or privacy-officer' : '' };
      return { code: 3, stdout: '', stderr: r.code };
    };

    test('serve records the crosswalk; reidentify maps every pseudonym back, audited; others refused', async () => {
      put(inbox, PATIENT_A.files[0]!, 'a1.dcm');
      put(inbox, PATIENT_B.files[0]!, 'b1.dcm');
      await waitFor(
        '2 jobs done',
        async () => ((await server!.store.countJobs()).done === 2 ? true : undefined),
        60_000,
      );
      const outDir = join(dir, 'out/clinical');
      const outputs = readdirSync(outDir, { recursive: true, withFileTypes: true })
        .filter((e) => e.isFile())
        .map((e) => values(join(e.parentPath, e.name)));
      assert.equal(outputs.length, 2);
      const inputs = [PATIENT_A.files[0]!, PATIENT_B.files[0]!].map((f) => values(join(corpusDir, f)));
      // Each output is matched to its input by the re-identified SOP Instance UID (order on disk is by pseudonym).
      const rows = await gov!.crosswalkCount();
      assert.ok(rows >= 8, `crosswalk rows: ${rows}`);

      let lookups = 0;
      const seen = new Set<string>();
      for (const [i, out] of outputs.entries()) {
        const sop = await reid(['--config', configPath, '--account', 'po', out.sopInstanceUID!], {}, i > 0);
        lookups++;
        assert.equal(sop.code, 0, sop.stderr);
        const input = inputs.find((i) => i.sopInstanceUID === sop.stdout.trim());
        assert.ok(input, 'the SOP Instance UID maps back to one of the two inputs');
        seen.add(input.sopInstanceUID!);
        // The other kinds in process (the same code path as the CLI, without a process start each).
        for (const k of ['patientId', 'accession', 'studyUID', 'seriesUID'] as const) {
          if (input[k] === undefined) continue;
          assert.notEqual(out[k], input[k], `${k} was replaced`);
          const r = await reidentifyInGateway({
            gov: gov!,
            projectKey: () => key,
            privateKey: () => createPrivateKey(pair.privateKey),
            account: 'po',
            password: PASSWORD.po,
            pseudonym: out[k]!,
            kinds: [k],
            via: 'test',
          });
          lookups++;
          assert.equal(r.kind, 'found', k);
          assert.deepEqual(r.kind === 'found' ? r.entries : [], [{ kind: k, original: input[k] }], `${k} maps back`);
        }
      }
      assert.equal(seen.size, 2);

      const pseudo = outputs[0]!.patientId!;
      const op = await reid(['-c', configPath, '--account', 'op', pseudo], { VEIL_ACCOUNT_PASSWORD: PASSWORD.op });
      assert.equal(op.code, 4, op.stderr);
      assert.match(op.stderr, /admin or privacy-officer/);
      assert.equal(op.stdout, '');
      const bad = await reid(['-c', configPath, '--account', 'po', pseudo], { VEIL_ACCOUNT_PASSWORD: 'wrong' });
      assert.equal(bad.code, 4);
      const wrongKey = await reid([
        '-c',
        configPath,
        '--account',
        'po',
        '--crosswalk-key-file',
        join(dir, 'other.key'),
        pseudo,
      ]);
      assert.equal(wrongKey.code, 3);
      assert.match(wrongKey.stderr, /CROSSWALK_KEY_MISMATCH/);
      const none = await reidentifyInGateway({
        gov: gov!,
        projectKey: () => key,
        privateKey: () => createPrivateKey(pair.privateKey),
        account: 'po',
        password: PASSWORD.po,
        pseudonym: '1.2.3.4',
        via: 'test',
      });
      assert.equal(none.kind, 'not-found');

      const events = await gov!.listAudit({ event: 'reidentify' });
      assert.equal(events.length, lookups + 4);
      assert.deepEqual(
        events
          .map((e) => `${e.actor} ${String(e.detail.outcome)} ${String(e.detail.reason ?? e.detail.code ?? '')}`)
          .slice(-4),
        [
          'account:op refused role',
          'account:po refused bad-credentials',
          'account:po failed CROSSWALK_KEY_MISMATCH',
          'account:po not-found ',
        ],
      );
      assert.ok(events.slice(0, lookups).every((e) => e.actor === 'account:po' && e.detail.outcome === 'found'));
      assert.ok(events.some((e) => String(e.detail.via).startsWith('cli:')));
      assert.ok(events.every((e) => e.detail.role === (e.actor === 'account:op' ? 'operator' : 'privacy-officer')));
      // No PHI anywhere on the chain; the reidentify events hold neither identity nor pseudonym, only a hash.
      const chain = JSON.stringify(await gov!.listAudit());
      const lookupsJson = JSON.stringify(events);
      for (const v of inputs.flatMap((x) => Object.values(x)).filter((x) => x !== undefined)) {
        assert.ok(!chain.includes(v!), 'no original identifier in the audit chain');
      }
      for (const v of outputs.flatMap((x) => Object.values(x)).filter((x) => x !== undefined)) {
        assert.ok(!lookupsJson.includes(v!), 'no pseudonym in the reidentify events');
      }
      // Nothing in clear in the crosswalk table either: read directly from the database.
      const raw = JSON.stringify(await rawRows());
      assert.equal(JSON.parse(raw).length, rows);
      for (const v of [...inputs, ...outputs].flatMap((x) => Object.values(x)).filter((x) => x !== undefined)) {
        assert.ok(!raw.includes(v!), 'no identifier or pseudonym in clear in the crosswalk table');
      }

      if (kind === 'sqlite') {
        const verify = await runVeil(['audit', 'verify', '--config', configPath]);
        assert.equal(verify.code, 0, verify.stdout + verify.stderr);
        assert.match(verify.stdout, /intact/);
      } else {
        const report = await verifyChain(
          gov!.auditPages(),
          await gov!.listCheckpoints(),
          readFileSync(join(dir, 'audit-public.pem'), 'utf8'),
        );
        assert.ok(report.ok, JSON.stringify(report.problems));
      }
      // The fact sheet tells patients a crosswalk is kept, and who may read it.
      const sheet = (await (await fetch(`http://127.0.0.1:${server!.http!.port}/privacy.json`)).json()) as {
        crosswalk: { kept: boolean; roles: string[] };
      };
      assert.deepEqual(sheet.crosswalk, { kept: true, roles: ['admin', 'privacy-officer'] });
    });
  });
}

describe('gateway crosswalk: sealing', () => {
  const key = new Uint8Array(randomBytes(32));
  const pair = newCrosswalkKeyPair();
  const pairs = [
    { kind: 'patientId', original: 'PAT-0001', pseudonym: 'X9QF' },
    { kind: 'sopInstanceUID', original: '1.2.3.4.5', pseudonym: '2.25.77' },
    { kind: 'accession', original: 'SAME', pseudonym: 'SAME' },
  ] as const;

  test('rows hold no identifier in clear, open only with the private key, and only under their own index', () => {
    const rows = sealIdentities(pairs, pair.publicKey, key);
    assert.equal(rows.length, 2, 'a value left as it was needs no row');
    for (const r of rows) {
      for (const p of pairs) {
        assert.ok(!JSON.stringify(r).includes(p.original) && !JSON.stringify(r).includes(p.pseudonym));
      }
    }
    const priv = createPrivateKey(pair.privateKey);
    assert.deepEqual(openRecord(rows[0]!, priv), { original: 'PAT-0001', pseudonym: 'X9QF' });
    assert.throws(() => openRecord(rows[0]!, createPrivateKey(newCrosswalkKeyPair().privateKey)), {
      code: 'CROSSWALK_KEY_MISMATCH',
    });
    // A row moved under another row's index (or kind) does not open: both are associated data.
    assert.throws(() => openRecord({ ...rows[0]!, blind: rows[1]!.blind }, priv));
    assert.throws(() => openRecord({ ...rows[0]!, kind: 'accession' }, priv));
    // Two instances of the same patient seal the same identity differently (fresh ephemeral key and nonce).
    assert.notEqual(sealIdentities(pairs, pair.publicKey, key)[0]!.sealed, rows[0]!.sealed);
    assert.equal(sealIdentities(pairs, pair.publicKey, key)[0]!.blind, rows[0]!.blind);
  });

  test('a configured public key must be X25519', () => {
    const dir = ensureDir(join(root, 'keys'));
    const ed = generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' });
    writeFileSync(join(dir, 'ed.pub'), ed);
    writeFileSync(join(dir, 'x.pub'), pair.publicKey);
    assert.throws(() => loadCrosswalkPublicKey(join(dir, 'ed.pub')), /not an X25519 key/);
    assert.throws(() => loadCrosswalkPublicKey(join(dir, 'missing.pub')), /cannot read/);
    assert.equal(loadCrosswalkPublicKey(join(dir, 'x.pub')), pair.publicKey);
    assert.throws(() => loadCrosswalkPrivateKey({ env: {} }), /no crosswalk key/);
    assert.throws(() => loadCrosswalkPrivateKey({ env: { VEIL_CROSSWALK_KEY: pair.publicKey } }), /not a private key/);
  });
});
