/**
 * The patient portal, under /portal on the server's HTTP port. A patient signs in with a one-time code from staff
 * (`veil portal invite`) and sees, in plain language, each image Veil received for them: where its de-identified copy
 * went (organisation, purpose, region, date), what was removed, how long it is kept and whether deletion was
 * confirmed; changes their choices per purpose; downloads, per study, a zip of their own report and originals.
 *
 * The download (GET /portal/api/studies/ID/download) always holds `report.html`: a plain-language summary of each
 * image of that study Veil received (when, what was removed, where each de-identified copy went, for what, where it is
 * kept, until when, and whether its deletion was confirmed). A DICOM structured report or encapsulated PDF among the
 * study's originals (the radiology report, when it came through Veil) is under `report/`, the images under `images/`.
 * Originals are held while the job is in the spool (quarantine, being sent) and, after delivery, only when the
 * configuration keeps them (portal.keepOriginalsDays: the patient-copy store, governance/patient-copies.ts); when
 * they are not held, the report and the page say so in plain words and where to ask instead.
 *
 * Every resource is scoped to the session's patient key: another patient's event or study id answers 404, exactly as
 * an id that does not exist. Codes: 10 failed attempts per client address and 100 in total per 15 minutes, then 429.
 * A sign-in always makes a new session id (an id planted before sign-in is never honoured). State-changing requests
 * need the session's CSRF token (header X-CSRF-Token for the API, a hidden field for forms) and, when the browser
 * sends one, an Origin of this server.
 *
 * JSON API (stable; the pages are built on the same data):
 *   POST   /portal/api/session                 {"code"}            -> 200 {"csrfToken"} + cookie veil_portal
 *   DELETE /portal/api/session                                     -> 200 (signed out)
 *   GET    /portal/api/events                                      -> {"events": [Event...]}
 *   GET    /portal/api/events/ID                                   -> Event | 404 NOT_FOUND
 *   GET    /portal/api/consent                                     -> {"purposes": [...]}
 *   PUT    /portal/api/consent/PURPOSE         {"optOut": bool}    -> {"purposes": [...]}
 *   GET    /portal/api/studies/ID/download                         -> application/zip (report.html, images/,
 *                                                                     report/) | 404 NOT_FOUND
 */
import { existsSync, readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ConsentRecord, Delivery, GovernanceStore, Job, JobStore, ReleaseRecord } from '@veil/pipeline';
import { portalCodeHash } from '../governance/cli.ts';
import type { PatientCopies } from '../governance/patient-copies.ts';
import { consentDecision } from '../governance/runtime.ts';
import type { LoadedServerConfig } from '../server/config.ts';
import type { Spool } from '../server/spool.ts';
import {
  clientKey,
  cookies,
  FailureLimiter,
  readForm,
  readJson,
  redirect,
  SessionStore,
  safeEqual,
  sameOrigin,
  sendHtml,
  sendJson,
  setCookie,
  WebError,
} from './http-util.ts';
import { date, esc, page } from './layout.ts';

export interface PortalContext {
  readonly config: LoadedServerConfig;
  readonly gov: GovernanceStore;
  readonly store: JobStore;
  readonly spool: Spool;
  readonly clock: () => number;
  /** Originals kept after delivery (portal.keepOriginalsDays); absent: none kept. */
  readonly copies?: PatientCopies | undefined;
}

interface PatientSession {
  readonly patientKey: string;
}

export interface PortalDelivery {
  readonly destination: string;
  readonly organisation: string | null;
  readonly purpose: string | null;
  readonly purposeLabel: string | null;
  readonly region: string | null;
  readonly status: 'sent' | 'withheld' | 'waiting' | 'failed';
  readonly statusText: string;
  readonly code: string | null;
  readonly sentAt: string | null;
  readonly retentionDays: number | null;
  readonly deleteBy: string | null;
  readonly deletionConfirmedAt: string | null;
  /** The retention ran out, the contract requires a deletion confirmation, and none came. */
  readonly deletionOverdue: boolean;
}

export interface PortalEvent {
  readonly id: string;
  readonly receivedAt: string;
  readonly studyId: string | null;
  readonly status: string;
  readonly removed: string;
  readonly deliveries: readonly PortalDelivery[];
  readonly originalsAvailable: boolean;
  /** Until when the kept original stays downloadable (patient-copy store); null while in the spool or not held. */
  readonly originalsKeptUntil: string | null;
  /** In plain words: whether Veil holds the original and, if not, where to ask. */
  readonly originalsNote: string;
}

const COOKIE = 'veil_portal';
const iso = (t: number | null): string | null => (t === null ? null : new Date(t).toISOString());

const JOB_STATUS: Record<string, string> = {
  queued: 'Being prepared',
  processing: 'Being prepared',
  delivering: 'Being sent',
  done: 'Finished',
  quarantined: 'Held back for a privacy check: not sent',
  dead: 'Could not be sent',
  failed: 'Could not be processed: not sent',
  purged: 'Deleted without being sent',
};

function deliveryStatus(d: Delivery): Pick<PortalDelivery, 'status' | 'statusText'> {
  switch (d.state) {
    case 'delivered':
      return { status: 'sent', statusText: 'Sent' };
    case 'withheld':
      return {
        status: 'withheld',
        statusText:
          d.error === 'CONSENT_OPT_OUT'
            ? 'Not sent: you said no to this use'
            : d.error === 'CONSENT_NOT_GIVEN'
              ? 'Not sent: you have not said yes to this use'
              : 'Not sent: your choices did not allow it',
      };
    case 'dead':
      return { status: 'failed', statusText: 'Could not be sent' };
    default:
      return { status: 'waiting', statusText: 'Waiting to be sent' };
  }
}

export class Portal {
  readonly #c: PortalContext;
  readonly sessions: SessionStore<PatientSession>;
  readonly limiter: FailureLimiter;
  readonly #removed: string;

  constructor(c: PortalContext) {
    this.#c = c;
    this.sessions = new SessionStore(c.config.server.portal.sessionMinutes * 60_000, 10_000, c.clock);
    this.limiter = new FailureLimiter(10, 100, 15 * 60_000, c.clock);
    const deid = c.config.deid.deid;
    this.#removed =
      'Your name, ID numbers, address, dates of birth and other identifying details were removed or replaced ' +
      `(DICOM Basic Confidentiality Profile${deid.dates.mode === 'shift' ? '; dates moved by a fixed, secret number of days' : ''}), ` +
      'and the copy was checked again before it left.';
  }

  handles(path: string): boolean {
    return path === '/portal' || path.startsWith('/portal/');
  }

  async handle(req: IncomingMessage, res: ServerResponse, url: URL, secure: boolean): Promise<void> {
    const method = req.method ?? 'GET';
    const path = url.pathname;
    const session = this.sessions.get(cookies(req).get(COOKIE));
    const api = path.startsWith('/portal/api/');
    try {
      if (api) await this.#api(req, res, method, path, session, secure);
      else await this.#pages(req, res, method, path, session, secure);
    } catch (e) {
      if (!(e instanceof WebError)) throw e;
      if (api) sendJson(res, e.status, { error: e.code });
      else
        sendHtml(
          res,
          e.status,
          page({
            title: 'Something went wrong',
            body: `<p>Error ${esc(e.code)}.</p><p><a href="/portal">Back</a></p>`,
          }),
        );
    }
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Data

  async events(patientKey: string): Promise<PortalEvent[]> {
    const jobs = await this.#c.gov.listPatientJobs(patientKey);
    return Promise.all(jobs.map((j) => this.#event(j)));
  }

  async #event(job: Job): Promise<PortalEvent> {
    const cfg = this.#c.config.server;
    const [deliveries, releases] = await Promise.all([
      this.#c.store.listDeliveries({ jobId: job.id }),
      this.#c.gov.listReleases({ jobId: job.id }),
    ]);
    const byDest = new Map<string, ReleaseRecord>(releases.map((r) => [r.destination, r]));
    return {
      id: job.id,
      receivedAt: new Date(job.createdAt).toISOString(),
      studyId: job.studyKey,
      status: JOB_STATUS[job.state] ?? job.state,
      removed: this.#removed,
      ...this.#originals(job),
      deliveries: deliveries.map((d) => {
        const dest = cfg.destinations.find((x) => x.name === d.destination);
        const route = this.#c.config.routes.find((r) => r.name === job.route);
        const purpose = dest?.purpose ?? route?.purpose ?? null;
        const rel = byDest.get(d.destination);
        const sent = d.state === 'delivered';
        return {
          destination: d.destination,
          organisation: dest?.vendor ?? null,
          purpose,
          purposeLabel: cfg.governance.purposes.find((p) => p.name === purpose)?.label ?? null,
          region: dest?.region ?? null,
          ...deliveryStatus(d),
          code: d.state === 'withheld' ? d.error : null,
          sentAt: sent ? iso(d.deliveredAt) : null,
          retentionDays: dest?.retentionDays ?? null,
          deleteBy: sent ? iso(rel?.expiresAt ?? null) : null,
          deletionConfirmedAt: iso(rel?.deletedAt ?? null),
          deletionOverdue:
            sent &&
            rel !== undefined &&
            rel.confirmDeletion &&
            rel.deletedAt === null &&
            rel.expiresAt !== null &&
            rel.expiresAt <= this.#c.clock(),
        };
      }),
    };
  }

  #original(job: Job): string | undefined {
    const rel = job.source.spool;
    if (typeof rel !== 'string' || job.state === 'purged') return undefined;
    const p = this.#c.spool.path(rel);
    return existsSync(p) ? p : undefined;
  }

  /** The original's bytes: from the spool, else the patient-copy store; undefined when Veil no longer holds it. */
  #originalBytes(job: Job): Uint8Array | undefined {
    const p = this.#original(job);
    if (p) {
      try {
        return readFileSync(p);
      } catch {
        // Removed between the check and the read: try the patient-copy store.
      }
    }
    return job.state === 'purged' ? undefined : this.#c.copies?.read(job.id);
  }

  #originals(job: Job): Pick<PortalEvent, 'originalsAvailable' | 'originalsKeptUntil' | 'originalsNote'> {
    if (this.#original(job)) {
      return {
        originalsAvailable: true,
        originalsKeptUntil: null,
        originalsNote: 'Veil still holds the original of this image: you can download it.',
      };
    }
    const until = job.state === 'purged' ? undefined : this.#c.copies?.expiresAt(job.id);
    if (until !== undefined) {
      return {
        originalsAvailable: true,
        originalsKeptUntil: iso(until),
        originalsNote: `Veil keeps a protected copy of the original for you to download until ${date(until)}.`,
      };
    }
    return {
      originalsAvailable: false,
      originalsKeptUntil: null,
      originalsNote:
        'Veil no longer holds the original of this image: it deletes originals once the de-identified copies are ' +
        "sent. The hospital's imaging department keeps your images and report: ask them for a copy.",
    };
  }

  async #mine(patientKey: string, jobId: string): Promise<Job | undefined> {
    const job = await this.#c.store.getJob(jobId);
    return job && job.stepState.patientKey === patientKey ? job : undefined;
  }

  async purposes(patientKey: string) {
    const choices: ConsentRecord[] = await this.#c.gov.listConsent(patientKey);
    return this.#c.config.server.governance.purposes.map((p) => {
      const mine = choices.find((c) => c.purpose === p.name);
      return {
        purpose: p.name,
        label: p.label,
        canChoose: p.optOutAllowed || p.requiresOptIn,
        requiresOptIn: p.requiresOptIn,
        choice: mine?.choice ?? 'default',
        shared: consentDecision(p, choices) === undefined,
      };
    });
  }

  async #setConsent(patientKey: string, purposeName: string, optOut: boolean): Promise<void> {
    const p = this.#c.config.server.governance.purposes.find((x) => x.name === purposeName);
    if (!p) throw new WebError('NOT_FOUND', 404);
    if (optOut && !p.optOutAllowed) throw new WebError('CONSENT_OPT_OUT_NOT_ALLOWED', 409);
    const choice = optOut ? 'opt-out' : p.requiresOptIn ? 'opt-in' : null;
    await this.#c.gov.setConsent(
      patientKey,
      p.name,
      choice,
      { actor: 'portal:patient', via: 'portal' },
      this.#c.clock(),
    );
  }

  async #signIn(
    req: IncomingMessage,
    res: ServerResponse,
    code: unknown,
    secure: boolean,
  ): Promise<string | undefined> {
    const who = clientKey(req);
    if (this.limiter.blocked(who)) throw new WebError('PORTAL_RATE_LIMITED', 429);
    const text = typeof code === 'string' ? code : '';
    const pk =
      text.length > 0 && text.length <= 64
        ? await this.#c.gov.redeemInvite(portalCodeHash(text), this.#c.clock())
        : undefined;
    if (!pk) {
      this.limiter.fail(who);
      return undefined;
    }
    // A new id at every sign-in; whatever id the browser held before is dropped.
    this.sessions.delete(cookies(req).get(COOKIE));
    const s = this.sessions.create({ patientKey: pk });
    res.setHeader('set-cookie', setCookie(COOKIE, s.id, { path: '/portal', secure }));
    return s.csrf;
  }

  #checkState(req: IncomingMessage, secure: boolean, token: string | undefined, csrf: string): void {
    const origin = req.headers.origin;
    if (origin !== undefined && !sameOrigin(req, secure)) throw new WebError('CSRF_ORIGIN', 403);
    if (!token || !safeEqual(token, csrf)) throw new WebError('CSRF_TOKEN', 403);
  }

  async #download(res: ServerResponse, patientKey: string, studyId: string): Promise<void> {
    const jobs = (await this.#c.gov.listPatientJobs(patientKey)).filter((j) => j.studyKey === studyId);
    if (jobs.length === 0) throw new WebError('NOT_FOUND', 404);
    const { zipStored } = await import('./zip.ts');
    const entries: { name: string; data: Uint8Array }[] = [];
    const events: { event: PortalEvent; file: string | null }[] = [];
    for (const j of jobs) {
      const data = this.#originalBytes(j);
      const event = await this.#event(j);
      let file: string | null = null;
      if (data) {
        file = `${isReport(j) ? 'report' : 'images'}/${j.id}.dcm`;
        entries.push({ name: file, data });
      }
      events.push({ event, file });
    }
    const originals = entries.length;
    entries.unshift({ name: 'report.html', data: Buffer.from(this.#reportHtml(events), 'utf8') });
    await this.#c.gov.appendAudit(
      null,
      {
        event: 'portal.download',
        actor: 'portal:patient',
        detail: { patientKey, studyId, files: originals, report: true },
      },
      this.#c.clock(),
    );
    const zip = zipStored(entries);
    res.writeHead(200, {
      'content-type': 'application/zip',
      'content-disposition': 'attachment; filename="my-images.zip"',
      'content-length': String(zip.length),
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
    });
    res.end(zip);
  }

  /** The plain-language report in the download: one section per image of the study. */
  #reportHtml(items: readonly { event: PortalEvent; file: string | null }[]): string {
    const facility = this.#c.config.server.governance.facility?.name;
    const sections = items
      .map(({ event: e, file }, i) => {
        const where = e.deliveries.length
          ? `<ul>${e.deliveries
              .map(
                (d) =>
                  `<li>${esc(d.organisation ?? d.destination)}, for ${esc(d.purposeLabel ?? d.purpose ?? 'an undeclared use')}, kept in ${esc(d.region ?? 'an undeclared region')}: ${esc(d.statusText)}${d.sentAt ? ` on ${esc(date(Date.parse(d.sentAt)))}` : ''}${d.deleteBy ? `; to be deleted by ${esc(date(Date.parse(d.deleteBy)))}` : ''}${d.deletionConfirmedAt ? `; deletion confirmed on ${esc(date(Date.parse(d.deletionConfirmedAt)))}` : d.deletionOverdue ? '; deletion overdue: not yet confirmed by the organisation' : ''}.</li>`,
              )
              .join('')}</ul>`
          : '<p>No copy of this image has gone anywhere.</p>';
        return `<section><h2>Image ${i + 1} of ${items.length}</h2>
<p>Received ${esc(date(Date.parse(e.receivedAt)))}. Status: ${esc(e.status)}.</p>
<p>${esc(e.removed)}</p>
<h3>Where de-identified copies went</h3>${where}
<h3>Your original</h3><p>${file ? `In this download: <code>${esc(file)}</code>.` : esc(e.originalsNote)}</p></section>`;
      })
      .join('\n');
    return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Your images: report</title></head><body>
<h1>Your images: what happened to them</h1>
<p>This report was made on ${esc(date(this.#c.clock()))}${facility ? ` by ${esc(facility)}` : ''} from the records of Veil, the gateway that removes identifying details before images are shared with AI services. It covers ${items.length} image(s) of one study.</p>
<p>Files in <code>images/</code> are your original images (DICOM format, which any DICOM viewer opens). A radiology report that came through Veil as a DICOM document is in <code>report/</code>. Veil does not hold reports sent outside DICOM: ask the imaging department for those.</p>
${sections}
</body></html>
`;
  }

  // ---------------------------------------------------------------------------------------------------------------
  // JSON API

  async #api(
    req: IncomingMessage,
    res: ServerResponse,
    method: string,
    path: string,
    session: ReturnType<SessionStore<PatientSession>['get']>,
    secure: boolean,
  ): Promise<void> {
    if (path === '/portal/api/session' && method === 'POST') {
      if (req.headers.origin !== undefined && !sameOrigin(req, secure)) throw new WebError('CSRF_ORIGIN', 403);
      const body = await readJson(req, 1024);
      const csrf = await this.#signIn(req, res, body.code, secure);
      if (!csrf) throw new WebError('PORTAL_CODE_INVALID', 401);
      sendJson(res, 200, { csrfToken: csrf });
      return;
    }
    if (!session) throw new WebError('PORTAL_SIGN_IN_REQUIRED', 401);
    const pk = session.data.patientKey;
    const csrfHeader = req.headers['x-csrf-token'];
    const token = typeof csrfHeader === 'string' ? csrfHeader : undefined;
    if (path === '/portal/api/session') {
      if (method === 'GET') return sendJson(res, 200, { csrfToken: session.csrf });
      if (method === 'DELETE') {
        this.#checkState(req, secure, token, session.csrf);
        this.sessions.delete(session.id);
        return sendJson(
          res,
          200,
          { ok: true },
          { 'set-cookie': setCookie(COOKIE, '', { path: '/portal', secure, maxAgeS: 0 }) },
        );
      }
    }
    if (path === '/portal/api/events' && method === 'GET') return sendJson(res, 200, { events: await this.events(pk) });
    let m = /^\/portal\/api\/events\/([A-Za-z0-9_-]{1,64})$/.exec(path);
    if (m && method === 'GET') {
      const job = await this.#mine(pk, m[1]!);
      if (!job) throw new WebError('NOT_FOUND', 404);
      return sendJson(res, 200, await this.#event(job));
    }
    if (path === '/portal/api/consent' && method === 'GET') {
      return sendJson(res, 200, { purposes: await this.purposes(pk) });
    }
    m = /^\/portal\/api\/consent\/([A-Za-z0-9_.-]{1,64})$/.exec(path);
    if (m && method === 'PUT') {
      this.#checkState(req, secure, token, session.csrf);
      const body = await readJson(req, 1024);
      if (typeof body.optOut !== 'boolean') throw new WebError('BAD_REQUEST', 400);
      await this.#setConsent(pk, m[1]!, body.optOut);
      return sendJson(res, 200, { purposes: await this.purposes(pk) });
    }
    m = /^\/portal\/api\/studies\/([0-9.]{1,128})\/download$/.exec(path);
    if (m && method === 'GET') return this.#download(res, pk, m[1]!);
    throw new WebError('NOT_FOUND', 404);
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Pages

  async #pages(
    req: IncomingMessage,
    res: ServerResponse,
    method: string,
    path: string,
    session: ReturnType<SessionStore<PatientSession>['get']>,
    secure: boolean,
  ): Promise<void> {
    const site = this.#c.config.server.governance.facility.name;
    if (path === '/portal/login' && method === 'POST') {
      if (!sameOrigin(req, secure)) throw new WebError('CSRF_ORIGIN', 403);
      const form = await readForm(req, 1024);
      const csrf = await this.#signIn(req, res, form.get('code'), secure);
      if (!csrf) {
        sendHtml(res, 401, this.#loginPage(site, 'That code did not work. Check it, or ask the staff for a new one.'));
        return;
      }
      redirect(res, '/portal');
      return;
    }
    if ((path === '/portal' || path === '/portal/') && method === 'GET') {
      if (!session) return sendHtml(res, 200, this.#loginPage(site));
      return sendHtml(res, 200, await this.#home(site, session.data.patientKey, session.csrf));
    }
    if (!session) {
      redirect(res, '/portal');
      return;
    }
    const pk = session.data.patientKey;
    if (method === 'POST') {
      if (!sameOrigin(req, secure)) throw new WebError('CSRF_ORIGIN', 403);
      const form = await readForm(req, 4096);
      const t = form.get('csrf') ?? undefined;
      if (!t || !safeEqual(t, session.csrf)) throw new WebError('CSRF_TOKEN', 403);
      if (path === '/portal/logout') {
        this.sessions.delete(session.id);
        redirect(res, '/portal', { 'set-cookie': setCookie(COOKIE, '', { path: '/portal', secure, maxAgeS: 0 }) });
        return;
      }
      if (path === '/portal/consent') {
        await this.#setConsent(pk, form.get('purpose') ?? '', form.get('choice') === 'no');
        redirect(res, '/portal#choices');
        return;
      }
    }
    const m = /^\/portal\/events\/([A-Za-z0-9_-]{1,64})$/.exec(path);
    if (m && method === 'GET') {
      const job = await this.#mine(pk, m[1]!);
      if (!job) throw new WebError('NOT_FOUND', 404);
      const e = await this.#event(job);
      return sendHtml(
        res,
        200,
        page({ title: 'One of your images', site, body: `${this.#eventHtml(e)}<p><a href="/portal">Back</a></p>` }),
      );
    }
    throw new WebError('NOT_FOUND', 404);
  }

  #loginPage(site: string, error?: string): string {
    return page({
      title: 'See where your images went',
      site,
      body: `
${error ? `<p class="warn" role="alert">${esc(error)}</p>` : ''}
<p>Enter the access code the staff gave you. It works once and expires.</p>
<form method="post" action="/portal/login">
<label for="code">Access code</label>
<input id="code" name="code" autocomplete="one-time-code" autocapitalize="characters" required maxlength="64">
<p><button type="submit">Sign in</button></p>
</form>
<p><a href="/privacy">How this facility shares images (privacy fact sheet)</a></p>`,
    });
  }

  #eventHtml(e: PortalEvent, n = 1, of = 1): string {
    const rows = e.deliveries
      .map(
        (
          d,
        ) => `<tr><td>${esc(d.organisation ?? d.destination)}</td><td>${esc(d.purposeLabel ?? d.purpose ?? 'Not declared')}</td>
<td>${esc(d.region ?? 'Not declared')}</td><td>${esc(d.statusText)}${d.sentAt ? ` on ${esc(date(Date.parse(d.sentAt)))}` : ''}</td>
<td>${d.retentionDays === null ? 'Not limited' : `${d.retentionDays} days${d.deleteBy ? ` (until ${esc(date(Date.parse(d.deleteBy)))})` : ''}`}</td>
<td>${d.deletionConfirmedAt ? `Confirmed ${esc(date(Date.parse(d.deletionConfirmedAt)))}` : d.deletionOverdue ? '<span class="warn">Overdue: not confirmed by the organisation</span>' : d.status === 'sent' ? 'Not yet due' : '—'}</td></tr>`,
      )
      .join('\n');
    return `<section class="card" aria-labelledby="e-${esc(e.id)}">
<h3 id="e-${esc(e.id)}">Image ${n} of ${of}, received ${esc(new Date(e.receivedAt).toISOString().slice(0, 16).replace('T', ' '))} UTC</h3>
<p>Status: ${esc(e.status)}. ${esc(e.removed)}</p>
${
  e.deliveries.length
    ? `<table><caption class="muted">Where copies went</caption>
<thead><tr><th scope="col">Organisation</th><th scope="col">Why</th><th scope="col">Where kept</th><th scope="col">Status</th><th scope="col">Kept for</th><th scope="col">Deletion</th></tr></thead>
<tbody>${rows}</tbody></table>`
    : '<p>No copy has gone anywhere.</p>'
}
<p><a href="/portal/events/${esc(e.id)}">Details of this image</a>${
      e.studyId
        ? ` · <a href="/portal/api/studies/${esc(e.studyId)}/download">Download ${e.originalsAvailable ? 'your original images and a report' : 'a report'} of this study</a>`
        : ''
    }</p>
<p class="muted">${esc(e.originalsNote)}</p>
</section>`;
  }

  async #home(site: string, patientKey: string, csrf: string): Promise<string> {
    const [events, purposes] = await Promise.all([this.events(patientKey), this.purposes(patientKey)]);
    const choices = purposes
      .map((p) => {
        const state = p.shared ? 'Shared (de-identified)' : 'Not shared';
        const form = !p.canChoose
          ? '<span class="muted">Part of your care</span>'
          : `<form method="post" action="/portal/consent" class="inline">
<input type="hidden" name="csrf" value="${esc(csrf)}"><input type="hidden" name="purpose" value="${esc(p.purpose)}">
<input type="hidden" name="choice" value="${p.shared ? 'no' : 'yes'}">
<button type="submit" class="secondary" aria-label="${p.shared ? 'Say no to' : 'Say yes to'} ${esc(p.label)}">${p.shared ? 'Say no' : 'Say yes'}</button></form>`;
        return `<tr><td>${esc(p.label)}</td><td>${state}</td><td>${form}</td></tr>`;
      })
      .join('\n');
    return page({
      title: 'Your images and your choices',
      site,
      nav: `<form method="post" action="/portal/logout" class="inline"><input type="hidden" name="csrf" value="${esc(csrf)}"><button type="submit" class="secondary">Sign out</button></form>`,
      body: `
<h2 id="images">Your images (${events.length})</h2>
${events.length ? events.map((e, i) => this.#eventHtml(e, i + 1, events.length)).join('\n') : '<p>We have not received any images for you through this gateway.</p>'}
<h2 id="choices">Your choices</h2>
<p>Saying no to research or other non-care uses never affects your care. A change applies to every copy not yet sent.</p>
<table><thead><tr><th scope="col">Use</th><th scope="col">Now</th><th scope="col">Change</th></tr></thead>
<tbody>${choices}</tbody></table>
<p><a href="/privacy">How this facility shares images (privacy fact sheet)</a></p>`,
    });
  }
}

const REPORT_CLASSES = /^1\.2\.840\.10008\.5\.1\.4\.1\.1\.(88\.\d+|104\.1)$/;

/** A structured report (88.x) or an encapsulated PDF (104.1): the study's report rather than an image. */
function isReport(job: Job): boolean {
  return typeof job.stepState.sopClassUid === 'string' && REPORT_CLASSES.test(job.stepState.sopClassUid);
}
