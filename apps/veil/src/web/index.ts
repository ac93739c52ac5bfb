/**
 * The web side of `veil serve`, on its HTTP port next to /health and /metrics: the privacy fact sheet (/privacy,
 * /privacy.json: always), the patient portal (/portal, when portal.enabled), the operators' console (/console, when
 * console.enabled) and the vendors' deletion confirmation (POST /api/vendor/deletions with a token from
 * `veil deletion token`), and, behind the admin bearer token of /admin/*, consent for other systems:
 *   PUT  /admin/consent        {"patientId", "issuer"?, "purpose", "choice": "opt-out"|"opt-in"|"default"}
 *   POST /admin/consent/query  {"patientId", "issuer"?} -> {"purposes": [...]}   (the ID travels in the body, never
 *                              in a URL). The listener's own checks (Host allow-list, TLS) apply first; these routes carry their own
 * authentication (sessions, vendor tokens) instead of the admin bearer token.
 *
 * Example:
 *   const web = createWeb({ config, gov, store, runner, spool, key });
 *   if (web.handles(url.pathname)) await web.handle(req, res, url, false);
 */
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { GovernanceStore, JobStore, Runner } from '@veil/pipeline';
import { vendorTokenHash } from '../governance/cli.ts';
import { patientCopiesFor } from '../governance/patient-copies.ts';
import { patientKey } from '../governance/patient-key.ts';
import { consentDecision } from '../governance/runtime.ts';
import type { LoadedServerConfig } from '../server/config.ts';
import type { Spool } from '../server/spool.ts';
import { Console } from './console.ts';
import { clientKey, FailureLimiter, readJson, sendHtml, sendJson, WebError } from './http-util.ts';
import { Portal } from './portal.ts';
import { PreviewCache } from './preview.ts';
import { type FactSheet, factSheet, factSheetHtml } from './privacy.ts';

export interface WebOptions {
  readonly config: LoadedServerConfig;
  readonly gov: GovernanceStore;
  readonly store: JobStore;
  readonly runner: Runner;
  readonly spool: Spool;
  readonly key: Uint8Array;
  readonly clock?: () => number;
}

export interface WebHandler {
  handles(path: string): boolean;
  handle(req: IncomingMessage, res: ServerResponse, url: URL, secure: boolean): Promise<void>;
  /** /admin/* routes of this module (the caller has checked the admin bearer token). */
  handlesAdmin(path: string): boolean;
  handleAdmin(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void>;
  readonly portal: Portal | undefined;
  readonly console: Console | undefined;
}

export function createWeb(o: WebOptions): WebHandler {
  const clock = o.clock ?? Date.now;
  const cfg = o.config.server;
  let publicKey: string | undefined;
  if (cfg.audit.publicKey !== undefined) {
    try {
      publicKey = readFileSync(cfg.audit.publicKey, 'utf8');
    } catch {
      publicKey = undefined;
    }
  }
  const portal = cfg.portal.enabled
    ? new Portal({
        config: o.config,
        gov: o.gov,
        store: o.store,
        spool: o.spool,
        clock,
        copies: patientCopiesFor(o.config, o.key),
      })
    : undefined;
  const console = cfg.console.enabled
    ? new Console({
        config: o.config,
        gov: o.gov,
        store: o.store,
        runner: o.runner,
        key: o.key,
        publicKey,
        clock,
        previews: new PreviewCache({
          spool: o.spool,
          deidInput: o.config.deid.deidInput,
          defacing: o.config.deid.deid.pixels?.cleanRecognizableVisualFeatures === true,
        }),
      })
    : undefined;
  const vendorLimiter = new FailureLimiter(10, 100, 15 * 60_000, clock);
  // The sheet re-verifies the audit chain: computed at most every 10 s, however often it is asked for.
  let sheet: { at: number; value: Promise<FactSheet> } | undefined;
  const currentSheet = (): Promise<FactSheet> => {
    const now = clock();
    if (!sheet || now - sheet.at > 10_000) {
      const value = factSheet(o.config, o.gov, now);
      sheet = { at: now, value };
      value.catch(() => {
        sheet = undefined;
      });
    }
    return sheet.value;
  };

  const vendorDeletions = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const who = clientKey(req);
    if (vendorLimiter.blocked(who)) throw new WebError('VENDOR_RATE_LIMITED', 429);
    const m = /^Bearer ([A-Za-z0-9_-]{20,128})$/.exec(String(req.headers.authorization ?? ''));
    const destination = m ? await o.gov.vendorTokenDestination(vendorTokenHash(m[1]!)) : undefined;
    if (!destination) {
      vendorLimiter.fail(who);
      throw new WebError('VENDOR_TOKEN_INVALID', 401);
    }
    const body = await readJson(req, 256 * 1024);
    const jobIds = body.jobIds;
    const before = body.releasedBefore;
    if (jobIds !== undefined && (!Array.isArray(jobIds) || !jobIds.every((x) => typeof x === 'string'))) {
      throw new WebError('BAD_REQUEST', 400);
    }
    let releasedBefore: number | undefined;
    if (before !== undefined) {
      releasedBefore = typeof before === 'string' ? Date.parse(before) : Number.NaN;
      if (Number.isNaN(releasedBefore)) throw new WebError('BAD_REQUEST', 400);
    }
    if ((jobIds === undefined) === (releasedBefore === undefined)) throw new WebError('BAD_REQUEST', 400);
    const confirmed = await o.gov.confirmDeletion(
      {
        destination,
        ...(jobIds !== undefined ? { jobIds: jobIds as string[] } : {}),
        ...(releasedBefore !== undefined ? { releasedBefore } : {}),
      },
      `vendor:${destination}`,
      clock(),
    );
    sendJson(res, 200, { destination, confirmed });
  };

  const adminConsent = async (req: IncomingMessage, res: ServerResponse, path: string): Promise<void> => {
    const body = await readJson(req, 4096);
    const id = typeof body.patientId === 'string' ? body.patientId.trim() : '';
    const issuer = typeof body.issuer === 'string' ? body.issuer : '';
    if (id === '' || id.length > 64 || issuer.length > 64) throw new WebError('BAD_REQUEST', 400);
    const pk = patientKey(o.key, id, issuer);
    const now = clock();
    if (path === '/admin/consent') {
      const purpose = cfg.governance.purposes.find((p) => p.name === body.purpose);
      const choice = body.choice;
      if (!purpose || (choice !== 'opt-out' && choice !== 'opt-in' && choice !== 'default')) {
        throw new WebError('BAD_REQUEST', 400);
      }
      if (choice === 'opt-out' && !purpose.optOutAllowed) throw new WebError('CONSENT_OPT_OUT_NOT_ALLOWED', 409);
      await o.gov.setConsent(
        pk,
        purpose.name,
        choice === 'default' ? null : choice,
        { actor: 'api:admin', via: 'api' },
        now,
      );
    } else {
      await o.gov.appendAudit(null, { event: 'consent.searched', actor: 'api:admin', detail: { patientKey: pk } }, now);
    }
    const choices = await o.gov.listConsent(pk);
    sendJson(res, 200, {
      purposes: cfg.governance.purposes.map((p) => ({
        purpose: p.name,
        choice: choices.find((c) => c.purpose === p.name)?.choice ?? 'default',
        shared: consentDecision(p, choices) === undefined,
      })),
    });
  };

  return {
    portal,
    console,
    handlesAdmin(path) {
      return path === '/admin/consent' || path === '/admin/consent/query';
    },
    async handleAdmin(req, res, url) {
      const path = url.pathname;
      const method = req.method ?? 'GET';
      try {
        if ((path === '/admin/consent' && method === 'PUT') || (path === '/admin/consent/query' && method === 'POST')) {
          await adminConsent(req, res, path);
          return;
        }
        throw new WebError('METHOD_NOT_ALLOWED', 405);
      } catch (e) {
        if (!(e instanceof WebError)) throw e;
        if (!res.headersSent) sendJson(res, e.status, { error: e.code });
        else res.end();
      }
    },
    handles(path) {
      return (
        path === '/privacy' ||
        path === '/privacy.json' ||
        path === '/api/vendor/deletions' ||
        (portal?.handles(path) ?? false) ||
        (console?.handles(path) ?? false)
      );
    },
    async handle(req, res, url, secure) {
      const path = url.pathname;
      const method = req.method ?? 'GET';
      try {
        if (path === '/privacy' || path === '/privacy.json') {
          if (method !== 'GET') throw new WebError('METHOD_NOT_ALLOWED', 405);
          const s = await currentSheet();
          if (path === '/privacy.json') sendJson(res, 200, s);
          else sendHtml(res, 200, factSheetHtml(s));
          return;
        }
        if (path === '/api/vendor/deletions') {
          if (method !== 'POST') throw new WebError('METHOD_NOT_ALLOWED', 405);
          await vendorDeletions(req, res);
          return;
        }
        if (portal?.handles(path)) return await portal.handle(req, res, url, secure);
        if (console?.handles(path)) return await console.handle(req, res, url, secure);
        throw new WebError('NOT_FOUND', 404);
      } catch (e) {
        if (!(e instanceof WebError)) throw e;
        if (!res.headersSent) sendJson(res, e.status, { error: e.code });
        else res.end();
      }
    },
  };
}
