/**
 * Browser tests of the console, the portal and the fact sheet: Debian's Chromium driven by playwright-core, pages
 * checked with axe-core. On a running gateway (in process) with real CT files of two patients:
 *   - an operator signs in, reviews a quarantined file (its finding and tag path) and releases it with a reason; it
 *     is then delivered;
 *   - the quarantine shows, for an image held by the burned-in text stage (a JPEG baseline secondary capture with a
 *     configured text region, under pixels.text.lossy: quarantine: PIXELS_LOSSY_REDACTION_UNSUPPORTED), a thumbnail of the redacted output with the box
 *     outlined (checked pixel by pixel: the box is filled), and for a held structured report that it has no pixels;
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
import { inflateSync } from 'node:zlib';
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

const PIXEL_FILE = 'fo-dicom/Test_Data/JPEGwithIcon.dcm';
const PIXEL_REGION = {
  id: 'test-xc-label',
  match: { modality: 'XC', rows: 600, columns: 600 },
  boxes: [[100, 100, 400, 300]],
};
const SR_FILE = 'pydicom-test-files/test_files/reportsi.dcm';
const SR_CLASS = '1.2.840.10008.5.1.4.1.1.88.11';
const CR_CLASS = '1.2.840.10008.5.1.4.1.1.1';

/** An 8-bit RGB PNG as encodePng writes it (filter none on every row). */
function decodePng(buf: Buffer): { width: number; height: number; at(x: number, y: number): number[] } {
  const width = buf.readUInt32BE(16);
  const height = buf.readUInt32BE(20);
  assert.equal(buf[24], 8);
  assert.equal(buf[25], 2);
  const idat: Buffer[] = [];
  for (let at = 8; at < buf.length; ) {
    const len = buf.readUInt32BE(at);
    if (buf.toString('latin1', at + 4, at + 8) === 'IDAT') idat.push(buf.subarray(at + 8, at + 8 + len));
    at += 12 + len;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const row = width * 3 + 1;
  return {
    width,
    height,
    at: (x, y) => {
      assert.equal(raw[y * row], 0);
      const i = y * row + 1 + x * 3;
      return [raw[i]!, raw[i + 1]!, raw[i + 2]!];
    },
  };
}

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
      // A known text area on the secondary capture below: the text stage fills it, and as the file is JPEG baseline
      // (lossy) and lossy inputs with text are held under this policy (pixels.text.lossy: quarantine), it is held
      // (PIXELS_LOSSY_REDACTION_UNSUPPORTED): a pixel finding with a redacted output to preview.
      deid: { pixels: { text: { lossy: 'quarantine', regions: [PIXEL_REGION] } } },
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
    put(held, SR_FILE, 'sr.dcm');
    put(inbox, PIXEL_FILE, 'xc.dcm');
    await waitFor('two done, three held', async () => {
      const c = await server.store.countJobs();
      return c.done === 2 && c.quarantined === 3 ? c : undefined;
    });
  });
  after(async () => {
    await browser?.close();
    await gov?.close();
    await server?.close();
  });

  const heldBySopClass = async (sopClassUid: string) => {
    for (const q of await server.store.listQuarantine({ states: ['held'] })) {
      if ((await server.store.getJob(q.jobId))?.stepState.sopClassUid === sopClassUid) return q;
    }
    return undefined;
  };
  const consoleSignIn = async (): Promise<Page> => {
    const ctx = await browser.newContext({ bypassCSP: true });
    const page = await ctx.newPage();
    await page.goto(`${base}/console`);
    await page.getByLabel('Account').fill('op');
    await page.getByLabel('Password').fill('op-secret-1');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForSelector('h1:text("Veil console")');
    return page;
  };

  test('the quarantine shows the redacted output of a held image, boxes outlined; an item without pixels says so', async () => {
    const page = await consoleSignIn();
    const [pixel] = (await server.store.listQuarantine({ states: ['held'] })).filter(
      (q) => q.code === 'PIXELS_LOSSY_REDACTION_UNSUPPORTED',
    );
    assert.ok(pixel, 'the secondary capture is held by the text stage');
    const row = page.locator('#quarantine + table tbody tr', { hasText: pixel.jobId });
    const img = row.locator('figure.preview img');
    assert.match(
      (await img.getAttribute('alt')) ?? '',
      /after redaction, frame 1 of 1, [1-9]\d* redacted area\(s\) outlined/,
    );
    await page.waitForFunction((id) => {
      const el = document.querySelector(`img[src="/console/quarantine/${id}/preview.png"]`) as HTMLImageElement;
      return el?.complete && el.naturalWidth > 0;
    }, pixel.jobId);
    const res = await page.request.get(`${base}/console/quarantine/${pixel.jobId}/preview.png`);
    assert.equal(res.status(), 200);
    assert.equal(res.headers()['content-type'], 'image/png');
    const png = decodePng(await res.body());
    assert.ok(Math.max(png.width, png.height) <= 320, 'a thumbnail');
    // The box [100,100,400,300] of 600x600, at the thumbnail's scale: filled (one colour) inside, outlined in yellow.
    const s = png.width / 600;
    // Inside: the fill colour, except where another redacted box's outline crosses it (red or yellow).
    const inside = new Map<string, number>();
    for (let y = Math.ceil(100 * s) + 4; y < Math.floor(300 * s) - 4; y++) {
      for (let x = Math.ceil(100 * s) + 4; x < Math.floor(400 * s) - 4; x++) {
        const c = png.at(x, y).join(',');
        inside.set(c, (inside.get(c) ?? 0) + 1);
      }
    }
    const [fill, ...others] = [...inside].sort((a, b) => b[1] - a[1]);
    const total = [...inside.values()].reduce((a, b) => a + b, 0);
    assert.ok(fill![1] / total > 0.9, 'the redacted box is filled: not the original pixels');
    assert.deepEqual(
      others.map(([c]) => c).filter((c) => c !== '255,48,48' && c !== '255,196,0'),
      [],
      'nothing but the fill and outlines inside the box',
    );
    assert.deepEqual(png.at(Math.round(250 * s), Math.floor(100 * s) - 1), [255, 196, 0], 'the box is outlined');
    const [viewed] = await gov.listAudit({ event: 'quarantine.previewed', jobId: pixel.jobId });
    assert.equal(viewed?.actor, 'console:op');

    const sr = await heldBySopClass(SR_CLASS);
    assert.ok(sr);
    const srRow = page.locator('#quarantine + table tbody tr', { hasText: sr.jobId });
    assert.match(await srRow.locator('.no-preview').innerText(), /No output pixels: this item has no image/);
    assert.equal(await srRow.locator('img').count(), 0);
    const none = await page.request.get(`${base}/console/quarantine/${sr.jobId}/preview.png`);
    assert.equal(none.status(), 404);
    assert.deepEqual(await axeViolations(page), []);
    await page.context().close();
  });

  test('an operator signs in, reviews a quarantined file and releases it with a reason', async () => {
    const record = await heldBySopClass(CR_CLASS);
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
    await page.waitForSelector('h2:text("Quarantine (2 held)")');
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
