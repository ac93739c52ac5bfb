/**
 * The operators' web console under /console: local accounts (scrypt hashes in the store; `veil init`, `veil account
 * set`), roles, CSRF tokens on every form plus a same-origin check, HttpOnly SameSite=Strict cookies (Secure under
 * TLS), and every action audited with the account as actor.
 *
 *   operator          jobs and their steps, the quarantine with findings, release with a reason, destinations
 *   privacy-officer   destinations with contracts and overdue deletions, consent search and changes, audit status
 *   admin             everything
 *
 * A release's reason is one of a fixed list (a free-text note could carry a patient's name into the audit trail).
 *
 * Example: GET /console (sign-in form), POST /console/login, POST /console/quarantine/ID/release.
 */

import type { IncomingMessage, ServerResponse } from 'node:http';
import { findingKey } from '@veil/core';
import {
  type AccountRole,
  type GovernanceStore,
  type Job,
  type JobStore,
  purposeOf,
  type Runner,
  verifyChain,
} from '@veil/pipeline';
import { DUMMY_HASH, verifyPassword } from '../governance/passwords.ts';
import { patientKey } from '../governance/patient-key.ts';
import { pixelTextConfig } from '../pixels/config.ts';
import type { LoadedServerConfig } from '../server/config.ts';
import {
  clientKey,
  cookies,
  FailureLimiter,
  readForm,
  redirect,
  SessionStore,
  safeEqual,
  sameOrigin,
  sendHtml,
  setCookie,
  WebError,
} from './http-util.ts';
import { date, esc, page } from './layout.ts';
import type { Preview, PreviewCache } from './preview.ts';

export interface ConsoleContext {
  readonly config: LoadedServerConfig;
  readonly gov: GovernanceStore;
  readonly store: JobStore;
  readonly runner: Runner;
  readonly key: Uint8Array;
  readonly publicKey: string | undefined;
  readonly clock: () => number;
  /** Thumbnails of held images' redacted output (preview.ts); none: the quarantine lists findings only. */
  readonly previews?: PreviewCache | undefined;
}

interface OperatorSession {
  readonly account: string;
  readonly role: AccountRole;
}

const COOKIE = 'veil_console';
export const RELEASE_REASONS = {
  'false-positive': 'The finding is not identifying information (false positive)',
  'reviewed-acceptable': 'Reviewed: acceptable to release under our policy',
  'corrected-at-source': 'The source corrected the study; this copy is safe',
} as const;

interface Finding {
  readonly code: string;
  readonly tagPath: string;
  readonly stage: string;
}

/** A held job's findings: the release path's list (stepState.quarantine.findings), else the record's one code. */
function findingsOf(job: Job, record: { code: string; tagPath: string | null; step: string }): Finding[] {
  const q = job.stepState.quarantine;
  const list = q && typeof q === 'object' && !Array.isArray(q) ? q.findings : undefined;
  if (Array.isArray(list) && list.length > 0) {
    return list.flatMap((f) =>
      f && typeof f === 'object' && !Array.isArray(f) && typeof f.code === 'string'
        ? [
            {
              code: f.code,
              tagPath: typeof f.tagPath === 'string' ? f.tagPath : '',
              stage: String(f.stage ?? record.step),
            },
          ]
        : [],
    );
  }
  return [{ code: record.code, tagPath: record.tagPath ?? '', stage: record.step }];
}

const can = {
  release: (r: AccountRole) => r === 'admin' || r === 'operator',
  consent: (r: AccountRole) => r === 'admin' || r === 'privacy-officer',
};

export class Console {
  readonly #c: ConsoleContext;
  readonly sessions: SessionStore<OperatorSession>;
  readonly limiter: FailureLimiter;

  constructor(c: ConsoleContext) {
    this.#c = c;
    this.sessions = new SessionStore(30 * 60_000, 1000, c.clock);
    this.limiter = new FailureLimiter(10, 100, 15 * 60_000, c.clock);
  }

  handles(path: string): boolean {
    return path === '/console' || path.startsWith('/console/');
  }

  #actor(s: OperatorSession): string {
    return `console:${s.account}`;
  }

  async handle(req: IncomingMessage, res: ServerResponse, url: URL, secure: boolean): Promise<void> {
    const method = req.method ?? 'GET';
    const path = url.pathname;
    const session = this.sessions.get(cookies(req).get(COOKIE));
    try {
      if (path === '/console/login' && method === 'POST') return await this.#login(req, res, secure);
      if (!session) {
        if (method === 'GET' && (path === '/console' || path === '/console/')) {
          return sendHtml(res, 200, this.#loginPage());
        }
        return redirect(res, '/console');
      }
      if (method === 'POST') {
        if (!sameOrigin(req, secure)) throw new WebError('CSRF_ORIGIN', 403);
        const form = await readForm(req, 4096);
        const t = form.get('csrf') ?? undefined;
        if (!t || !safeEqual(t, session.csrf)) throw new WebError('CSRF_TOKEN', 403);
        return await this.#action(res, path, form, session.data, session.id, secure);
      }
      if (method === 'GET' && (path === '/console' || path === '/console/')) {
        return sendHtml(res, 200, await this.#home(session.data, session.csrf, url));
      }
      const pm = /^\/console\/quarantine\/([A-Za-z0-9_-]{1,64})\/preview\.png$/.exec(path);
      if (method === 'GET' && pm) return await this.#preview(res, pm[1]!, session.data);
      throw new WebError('NOT_FOUND', 404);
    } catch (e) {
      if (!(e instanceof WebError)) throw e;
      sendHtml(
        res,
        e.status,
        page({
          title: 'Not done',
          body: `<p role="alert">Error ${esc(e.code)}.</p><p><a href="/console">Back</a></p>`,
        }),
      );
    }
  }

  /** The held job's output thumbnail (preview.ts); 404 for a job not held or without one. Audited. */
  async #preview(res: ServerResponse, id: string, s: OperatorSession): Promise<void> {
    const previews = this.#c.previews;
    const job = await this.#c.store.getJob(id);
    if (!previews || !job || job.state !== 'quarantined') throw new WebError('NOT_FOUND', 404);
    const p = await previews.get(job);
    if (p.kind !== 'png') throw new WebError('NOT_FOUND', 404);
    await this.#c.gov.appendAudit(id, { event: 'quarantine.previewed', actor: this.#actor(s) }, this.#c.clock());
    res.writeHead(200, {
      'content-type': 'image/png',
      'content-length': p.png.length,
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
    });
    res.end(p.png);
  }

  #loginPage(error?: string): string {
    return page({
      title: 'Veil console: sign in',
      body: `${error ? `<p class="warn" role="alert">${esc(error)}</p>` : ''}
<form method="post" action="/console/login">
<label for="username">Account</label><input id="username" name="username" autocomplete="username" required maxlength="64">
<label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required maxlength="256">
<p><button type="submit">Sign in</button></p>
</form>`,
    });
  }

  async #login(req: IncomingMessage, res: ServerResponse, secure: boolean): Promise<void> {
    if (!sameOrigin(req, secure)) throw new WebError('CSRF_ORIGIN', 403);
    const who = clientKey(req);
    if (this.limiter.blocked(who)) throw new WebError('CONSOLE_RATE_LIMITED', 429);
    const form = await readForm(req, 1024);
    const name = (form.get('username') ?? '').slice(0, 64);
    const password = form.get('password') ?? '';
    const account = /^[A-Za-z0-9_.-]{1,64}$/.test(name) ? await this.#c.gov.getAccount(name) : undefined;
    const ok = await verifyPassword(password, account?.passwordHash ?? DUMMY_HASH);
    const now = this.#c.clock();
    if (!account || !ok) {
      this.limiter.fail(who);
      await this.#c.gov.appendAudit(null, { event: 'console.login_failed', actor: 'console:unknown', detail: {} }, now);
      return sendHtml(res, 401, this.#loginPage('Wrong account or password.'));
    }
    this.sessions.delete(cookies(req).get(COOKIE));
    const s = this.sessions.create({ account: account.name, role: account.role });
    await this.#c.gov.appendAudit(
      null,
      { event: 'console.login', actor: `console:${account.name}`, detail: { role: account.role } },
      now,
    );
    redirect(res, '/console', { 'set-cookie': setCookie(COOKIE, s.id, { path: '/console', secure }) });
  }

  async #action(
    res: ServerResponse,
    path: string,
    form: URLSearchParams,
    s: OperatorSession,
    sid: string,
    secure: boolean,
  ): Promise<void> {
    const now = this.#c.clock();
    if (path === '/console/logout') {
      this.sessions.delete(sid);
      await this.#c.gov.appendAudit(null, { event: 'console.logout', actor: this.#actor(s) }, now);
      return redirect(res, '/console', {
        'set-cookie': setCookie(COOKIE, '', { path: '/console', secure, maxAgeS: 0 }),
      });
    }
    const m = /^\/console\/quarantine\/([A-Za-z0-9_-]{1,64})\/release$/.exec(path);
    if (m) {
      if (!can.release(s.role)) throw new WebError('FORBIDDEN', 403);
      const reason = form.get('reason') ?? '';
      if (!(reason in RELEASE_REASONS)) throw new WebError('RELEASE_REASON_REQUIRED', 400);
      const id = m[1]!;
      const { store } = this.#c;
      const j = await store.getJob(id);
      const record = await store.getQuarantine(id);
      if (!j || j.state !== 'quarantined' || !record || record.state !== 'held') throw new WebError('NOT_HELD', 409);
      // Release by finding: only the findings the operator ticked are acknowledged; any other still holds the file.
      const ticked = new Set(form.getAll('finding'));
      const findings = findingsOf(j, record).filter((f) => ticked.has(findingKey(f)));
      if (findings.length === 0) throw new WebError('RELEASE_NO_FINDING', 400);
      const prior = Array.isArray(j.stepState.released) ? j.stepState.released : [];
      const priorAck = Array.isArray(j.stepState.acknowledged) ? j.stepState.acknowledged : [];
      const codes = findings.some((f) => f.code === record.code) ? [record.code] : [];
      const saved = await store.saveJob(
        id,
        { states: ['quarantined'] },
        {
          state: 'queued',
          step: record.step,
          attempts: 0,
          error: null,
          stepState: {
            ...j.stepState,
            released: [...prior, ...codes],
            acknowledged: [...priorAck, ...findings.map((f) => findingKey(f))],
          },
          quarantineState: 'released',
          audit: {
            event: 'quarantine.released',
            actor: this.#actor(s),
            detail: { code: record.code, step: record.step, reason, findings: findings.map((f) => findingKey(f)) },
          },
        },
        now,
      );
      if (!saved) throw new WebError('CHANGED_MEANWHILE', 409);
      await this.#c.runner.recoverJob(id);
      return redirect(res, '/console#quarantine');
    }
    if (path === '/console/consent') {
      if (!can.consent(s.role)) throw new WebError('FORBIDDEN', 403);
      const id = (form.get('patientId') ?? '').trim();
      const purpose = this.#c.config.server.governance.purposes.find((p) => p.name === form.get('purpose'));
      const choice = form.get('choice');
      if (id === '' || !purpose || (choice !== 'opt-out' && choice !== 'opt-in' && choice !== 'default')) {
        throw new WebError('BAD_REQUEST', 400);
      }
      if (choice === 'opt-out' && !purpose.optOutAllowed) throw new WebError('CONSENT_OPT_OUT_NOT_ALLOWED', 409);
      const pk = patientKey(this.#c.key, id, form.get('issuer') ?? '');
      await this.#c.gov.setConsent(
        pk,
        purpose.name,
        choice === 'default' ? null : choice,
        { actor: this.#actor(s), via: 'console' },
        now,
      );
      return redirect(res, '/console#consent');
    }
    throw new WebError('NOT_FOUND', 404);
  }

  async #home(s: OperatorSession, csrf: string, url: URL): Promise<string> {
    const { store, gov, config } = this.#c;
    const cfg = config.server;
    const now = this.#c.clock();
    const [counts, jobs, held, overdue, report] = await Promise.all([
      store.countJobs(),
      store.listJobs({ limit: 10_000 }),
      store.listQuarantine({ states: ['held'] }),
      gov.listReleases({ overdueAt: now }),
      verifyChain(gov.auditPages(), await gov.listCheckpoints(), this.#c.publicKey),
    ]);
    const hidden = `<input type="hidden" name="csrf" value="${esc(csrf)}">`;
    const recent = jobs.slice(-50).reverse();
    const jobRows = recent
      .map(
        (j) =>
          `<tr><td><code>${esc(j.id)}</code></td><td>${esc(j.state)}</td><td>${esc(j.step)}</td><td>${esc(j.ingress)} → ${esc(j.route)}</td><td>${esc(j.error ?? '')}</td><td>${esc(new Date(j.updatedAt).toISOString())}</td></tr>`,
      )
      .join('\n');
    const reasons = Object.entries(RELEASE_REASONS)
      .map(([k, v]) => `<option value="${esc(k)}">${esc(v)}</option>`)
      .join('');
    const heldJobs = new Map<string, Job>();
    for (const q of held) {
      const j = await store.getJob(q.jobId);
      if (j) heldJobs.set(q.jobId, j);
    }
    // Previews of the first 20 held images (the detector runs once per job and update: preview.ts).
    const previews = new Map<string, Preview>();
    if (this.#c.previews) {
      for (const q of held.slice(0, 20)) {
        const j = heldJobs.get(q.jobId);
        if (j) previews.set(q.jobId, await this.#c.previews.get(j));
      }
    }
    const heldRows = held
      .map((q) => {
        const j = heldJobs.get(q.jobId);
        const findings = j ? findingsOf(j, q) : [];
        const id = esc(q.jobId);
        const list = findings
          .map((f, i) => {
            const k = esc(findingKey(f));
            const box = can.release(s.role)
              ? `<input type="checkbox" form="rel-${id}" name="finding" value="${k}" id="f-${id}-${i}"> `
              : '';
            return `<li>${box}<label for="f-${id}-${i}" style="display:inline;font-weight:400">${esc(f.code)} at ${esc(f.tagPath || '(file)')} (${esc(f.stage)})</label></li>`;
          })
          .join('');
        const form = can.release(s.role)
          ? `<form method="post" action="/console/quarantine/${id}/release" id="rel-${id}">${hidden}
<label for="r-${id}">Reason</label><select id="r-${id}" name="reason" required><option value="">Choose…</option>${reasons}</select>
<button type="submit" aria-label="Release ticked findings of ${id}">Release ticked findings</button></form>`
          : '<span class="muted">Operators release</span>';
        const pv = previews.get(q.jobId);
        const picture = !pv
          ? '<span class="muted">No preview</span>'
          : pv.kind === 'png'
            ? `<figure class="preview"><img src="/console/quarantine/${id}/preview.png" width="${pv.width}" height="${pv.height}" alt="Output of ${id} after redaction, frame ${pv.frame + 1} of ${pv.frames}, ${pv.boxes} redacted area(s) outlined"><figcaption>Output after redaction (frame ${pv.frame + 1} of ${pv.frames}); ${pv.boxes} redacted area(s) outlined: red, text found; yellow, known text area.</figcaption></figure>`
            : `<p class="no-preview">${esc(pv.reason)}</p>`;
        return `<tr><td><code>${id}</code></td><td><ul>${list}</ul></td><td>${picture}</td><td>${esc(q.step)}</td><td>${esc(new Date(q.updatedAt).toISOString())}</td><td>${form}</td></tr>`;
      })
      .join('\n');
    const destRows = cfg.destinations
      .map((d) => {
        const route = config.routes.find((r) => r.to.includes(d.name));
        const late = overdue.filter((r) => r.destination === d.name).length;
        return `<tr><td>${esc(d.name)}</td><td>${esc(d.kind)}</td><td>${esc(d.vendor ?? '')}</td><td>${esc(purposeOf(d, route) ?? 'undeclared')}</td><td>${esc(d.legalBasis ?? route?.legalBasis ?? '')}</td><td>${esc(d.contract ?? '')}</td><td>${esc(d.region ?? '')}</td><td>${d.retentionDays ?? ''}</td><td>${d.confirmDeletion ? 'yes' : 'no'}</td><td class="${late ? 'warn' : ''}">${late}</td></tr>`;
      })
      .join('\n');
    let consent = '';
    if (can.consent(s.role)) {
      const q = url.searchParams.get('patientId');
      let found = '';
      if (q) {
        const pk = patientKey(this.#c.key, q, url.searchParams.get('issuer') ?? '');
        const choices = await gov.listConsent(pk);
        const jobsOf = await gov.listPatientJobs(pk);
        await gov.appendAudit(
          null,
          { event: 'consent.searched', actor: this.#actor(s), detail: { patientKey: pk } },
          now,
        );
        found = `<p>${jobsOf.length} image(s) received for this patient. Choices:</p><ul>${
          choices.length
            ? choices
                .map((c) => `<li>${esc(c.purpose)}: ${esc(c.choice)} (${esc(date(c.updatedAt))}, ${esc(c.actor)})</li>`)
                .join('')
            : '<li>none recorded (defaults apply)</li>'
        }</ul>`;
      }
      const purposeOptions = cfg.governance.purposes
        .map((p) => `<option value="${esc(p.name)}">${esc(p.name)}</option>`)
        .join('');
      consent = `<h2 id="consent">Consent</h2>
<form method="get" action="/console"><label for="cs-id">Patient ID</label><input id="cs-id" name="patientId" required maxlength="64">
<label for="cs-issuer">Issuer (optional)</label><input id="cs-issuer" name="issuer" maxlength="64"> <button type="submit">Search</button></form>
${found}
<form method="post" action="/console/consent">${hidden}
<label for="cc-id">Patient ID</label><input id="cc-id" name="patientId" required maxlength="64">
<label for="cc-issuer">Issuer (optional)</label><input id="cc-issuer" name="issuer" maxlength="64">
<label for="cc-purpose">Purpose</label><select id="cc-purpose" name="purpose">${purposeOptions}</select>
<label for="cc-choice">Choice</label><select id="cc-choice" name="choice"><option value="opt-out">opt-out</option><option value="opt-in">opt-in</option><option value="default">default</option></select>
<p><button type="submit">Record choice</button></p></form>`;
    }
    const deid = config.deid.deid;
    return page({
      title: 'Veil console',
      nav: `<p>Signed in as ${esc(s.account)} (${esc(s.role)}) · <a href="#jobs">Jobs</a> · <a href="#quarantine">Quarantine</a> · <a href="#destinations">Destinations</a>${can.consent(s.role) ? ' · <a href="#consent">Consent</a>' : ''} · <a href="#audit">Audit</a> · <a href="/privacy">Fact sheet</a></p>
<form method="post" action="/console/logout" class="inline">${hidden}<button type="submit" class="secondary">Sign out</button></form>`,
      body: `
<h2 id="jobs">Jobs</h2>
<p>${Object.entries(counts)
        .map(([k, v]) => `${esc(k)}: ${v}`)
        .join(' · ')}</p>
<table><caption class="muted">The 50 most recent</caption><thead><tr><th scope="col">Job</th><th scope="col">State</th><th scope="col">Step</th><th scope="col">Ingress → route</th><th scope="col">Code</th><th scope="col">Updated</th></tr></thead><tbody>${jobRows}</tbody></table>
<h2 id="quarantine">Quarantine (${held.length} held)</h2>
<table><thead><tr><th scope="col">Job</th><th scope="col">Findings (tick those reviewed)</th><th scope="col">Output preview</th><th scope="col">Step</th><th scope="col">Since</th><th scope="col">Action</th></tr></thead><tbody>${heldRows}</tbody></table>
<h2 id="destinations">Destinations and contracts</h2>
<table><thead><tr><th scope="col">Name</th><th scope="col">Kind</th><th scope="col">Vendor</th><th scope="col">Purpose</th><th scope="col">Legal basis</th><th scope="col">Contract</th><th scope="col">Region</th><th scope="col">Retention (days)</th><th scope="col">Confirm deletion</th><th scope="col">Overdue deletions</th></tr></thead><tbody>${destRows}</tbody></table>
${consent}
<h2 id="audit">Audit trail</h2>
<p>Status: <span class="${report.ok ? 'ok' : 'warn'}">${report.ok ? 'intact' : `BROKEN at event ${report.problems[0]?.seq}: ${esc(report.problems[0]?.code)}`}</span>; ${report.events} events; ${report.checkpoints} signed checkpoint(s)${report.lastCheckpoint ? `, the last at event ${report.lastCheckpoint.seq}` : ''}.</p>
<h2 id="profile">De-identification profile in force</h2>
<p>PS3.15 Basic Application Level Confidentiality Profile; options: ${esc(
        Object.entries(deid.options as unknown as Record<string, unknown>)
          .filter(([, v]) => v === true)
          .map(([k]) => k)
          .join(', ') || 'none',
      )}; private tags: ${esc(deid.privateTags)}; dates: ${esc(deid.dates.mode)}; burned-in text: ${pixelTextConfig(config.deid.deidInput.pixels).enabled ? 'found and redacted' : 'not scanned (pixels.text.enabled: false)'}; defacing: ${deid.pixels?.cleanRecognizableVisualFeatures ? 'on' : 'off'}.</p>`,
    });
  }
}
