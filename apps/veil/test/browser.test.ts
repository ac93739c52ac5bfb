/**
 * Browser tests of the console, the portal and the fact sheet: Debian's Chromium driven by playwright-core, pages
 * checked with axe-core. On a running gateway (in process) with real CT files of two patients:
 *   - an operator signs in, reviews a quarantined file (its finding and tag path) and releases it with a reason; it
 *     is then delivered;
 *   - patient C signs in with a code and sees exactly their own events (a CR study), opts out of research, and C's
 *     next study (a CT) goes to the clinical-ai destination but not to the research one; patient B sees only B's;
 *   - the fact sheet lists exactly the configured vendors.
 * Skipped when /usr/bin/chromium is missing, except under CI=true (the test command installs it).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { SqliteGovernanceStore } from '@veil/store-sqlite';
import { type Browser, chromium, type Page } from 'playwright-core';
import { newPortalCode, portalCodeHash } from '../src/governance/cli.ts';
import { hashPassword } from '../src/governance/passwords.ts';
import { patientKey } from '../src/governance/patient-key.ts';
import { loadServerConfig } from '../src/server/config.ts';
import { createObservability } from '../src/server/observe.ts';
import { type ServerHandle, startServer } from '../src/server/server.ts';
import { governanceConfig, PATIENT_B, PATIENT_C, put } from './governance-support.ts';
import { ensureDir, keyFile, waitFor } from './server-support.ts';

const CHROMIUM = '/usr/bin/chromium';
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const missing = existsSync(CHROMIUM) ? undefined : `${CHROMIUM} not installed`;
if (missing && process.env.CI) throw new Error(`${missing}; CI=true: the test command installs chromium`);

const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

const root = mkdtempSync(join(tmpdir(), 'veil-browser-'));
after(() => rmSync(root, { recursive: true, force: true }));

async function axeViolations(page: Page): Promise<string[]> {
  await page.evaluate(AXE);
  const result = (await page.evaluate('axe.run(document, { resultTypes: ["violations"] })')) as {
    violations: { id: string; impact: string; nodes: unknown[] }[];
  };
  return result.violations.map((v) => `${v.id} (${v.impact}, ${v.nodes.length} node(s))`);
}

describe('browser: console, portal and fact sheet (Chromium + axe-core)', { skip: missing ?? false }, () => {
  const dir = ensureDir(join(root, 'gw'));
  const inbox = ensureDir(join(dir, 'inbox'));
  const held = ensureDir(join(dir, 'held'));
  const { path: keyPath, key } = keyFile(dir);
  let server: ServerHandle;
  let gov: SqliteGovernanceStore;
  let browser: Browser;
  let base: string;

  const invite = async (p: { id: string; issuer: string }): Promise<string> => {
    const code = newPortalCode();
    await gov.createInvite(
      portalCodeHash(code),
      patientKey(key, p.id, p.issuer),
      Date.now() + 600_000,
      'test',
      Date.now(),
    );
    return code;
  };
  const portalSignIn = async (p: { id: string; issuer: string }): Promise<Page> => {
    const ctx = await browser.newContext({ bypassCSP: true });
    const page = await ctx.newPage();
    await page.goto(`${base}/portal`);
    await page.getByLabel('Access code').fill(await invite(p));
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForSelector('h1:text("Your images and your choices")');
    return page;
  };

  before(async () => {
    const configPath = governanceConfig(dir, keyPath, {
      ingress: [
        { name: 'inbox', kind: 'folder', path: './inbox', pollMs: 100, settleMs: 50 },
        { name: 'held', kind: 'folder', path: './held', pollMs: 100, settleMs: 50 },
      ],
      routes: [
        { name: 'main', from: ['inbox'], to: ['clinical', 'research'] },
        { name: 'hold', from: ['held'], to: ['clinical'], policy: { sopClasses: ['1.2.3.4'] } },
      ],
    });
    server = await startServer({
      config: loadServerConfig(configPath),
      key,
      role: 'all',
      obs: createObservability({ level: 'warn', role: 'all' }),
    });
    base = `http://127.0.0.1:${server.http!.port}`;
    gov = new SqliteGovernanceStore(join(dir, 'veil.db'));
    await gov.init();
    await gov.putAccount(
      { name: 'op', role: 'operator', passwordHash: await hashPassword('op-secret-1') },
      'test',
      Date.now(),
    );
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
    put(inbox, PATIENT_C.files[0]!, 'c1.dcm');
    put(inbox, PATIENT_B.files[0]!, 'b1.dcm');
    put(held, PATIENT_C.files[1]!, 'c2.dcm');
    await waitFor('two done, one held', async () => {
      const c = await server.store.countJobs();
      return c.done === 2 && c.quarantined === 1 ? c : undefined;
    });
  });
  after(async () => {
    await browser?.close();
    await gov?.close();
    await server?.close();
  });

  test('an operator signs in, reviews a quarantined file and releases it with a reason', async () => {
    const [record] = await server.store.listQuarantine({ states: ['held'] });
    const ctx = await browser.newContext({ bypassCSP: true });
    const page = await ctx.newPage();
    await page.goto(`${base}/console`);
    assert.deepEqual(await axeViolations(page), []);
    await page.getByLabel('Account').fill('op');
    await page.getByLabel('Password').fill('op-secret-1');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForSelector('h1:text("Veil console")');
    const row = page.locator('#quarantine + table tbody tr', { hasText: record!.jobId });
    assert.match(await row.innerText(), /SOP_CLASS_NOT_ALLOWED/);
    assert.match(await row.innerText(), /\(0008,0016\)/);
    assert.deepEqual(await axeViolations(page), []);
    await row.getByLabel(/SOP_CLASS_NOT_ALLOWED at \(0008,0016\)/).check();
    await row.getByLabel('Reason').selectOption('reviewed-acceptable');
    await row.getByRole('button', { name: `Release ticked findings of ${record!.jobId}` }).click();
    await page.waitForSelector('h2:text("Quarantine (0 held)")');
    await waitFor(
      'the released file delivered',
      async () => (await server.store.getJob(record!.jobId))?.state === 'done',
    );
    const [released] = await gov.listAudit({ event: 'quarantine.released' });
    assert.equal(released!.actor, 'console:op');
    assert.equal(released!.detail.reason, 'reviewed-acceptable');
    await ctx.close();
  });

  test('a patient sees exactly their own events, opts out of research, and their next study skips research', async () => {
    const mine = (await server.store.listJobs())
      .filter((j) => j.stepState.patientKey === patientKey(key, PATIENT_C.id, PATIENT_C.issuer))
      .map((j) => j.id)
      .sort();
    assert.equal(mine.length, 2);
    const page = await portalSignIn(PATIENT_C);
    const shown = (await page
      .locator('section.card a[href^="/portal/events/"]')
      .evaluateAll((as) =>
        as.map((a) => (a as HTMLAnchorElement).getAttribute('href')!.split('/').pop()!),
      )) as string[];
    assert.deepEqual(shown.sort(), mine);
    const text = await page.locator('main').innerText();
    assert.match(text, /Research Institute/);
    assert.ok(!text.includes(PATIENT_C.id) && !text.includes(PATIENT_B.id));
    assert.deepEqual(await axeViolations(page), []);

    const research = page.locator('#choices ~ table tr', { hasText: 'Medical research' });
    assert.match(await research.innerText(), /Shared/);
    await research.getByRole('button', { name: 'Say no to Medical research' }).click();
    await page.waitForSelector('#choices ~ table tr:has-text("Medical research"):has-text("Not shared")');

    const before = {
      clinical: readdirSync(join(dir, 'out/clinical')).length,
      research: readdirSync(join(dir, 'out/research')).length,
    };
    const done = (await server.store.countJobs()).done;
    put(inbox, PATIENT_C.nextStudy, 'c3.dcm');
    await waitFor('the next study done', async () =>
      (await server.store.countJobs()).done === done + 1 ? true : undefined,
    );
    assert.equal(readdirSync(join(dir, 'out/clinical')).length, before.clinical + 1, 'clinical-ai still receives it');
    assert.equal(readdirSync(join(dir, 'out/research')).length, before.research, 'research does not');
    await page.reload();
    const rows = await page.locator('section.card tr', { hasText: 'Research Institute' }).allInnerTexts();
    assert.ok(rows.some((r) => /Not sent: you said no to this use/.test(r)));

    const other = await portalSignIn(PATIENT_B);
    assert.equal(await other.locator('section.card').count(), 1, "patient B sees B's one event only");
    await other.context().close();
    await page.context().close();
  });

  test('the fact sheet lists exactly the configured vendors, and passes axe', async () => {
    const ctx = await browser.newContext({ bypassCSP: true });
    const page = await ctx.newPage();
    await page.goto(`${base}/privacy`);
    const vendors = await page.locator('table[aria-describedby="who"] tbody tr td:first-child').allInnerTexts();
    assert.deepEqual(vendors.sort(), ['Clinical AI Ltd', 'Research Institute']);
    assert.deepEqual(await axeViolations(page), []);
    const json = (await (await fetch(`${base}/privacy.json`)).json()) as { vendors: string[] };
    assert.deepEqual(json.vendors, ['Clinical AI Ltd', 'Research Institute']);
    await ctx.close();
  });
});
