/**
 * The HTTP side: node:http on 127.0.0.1, Gmail's paths at the root, the token and consent
 * endpoints, batch, and /emulator/* control endpoints. Each API call goes through the same
 * pipeline (also for batch parts): route → auth → user check → fault → concurrency → quota → answer.
 * The pipeline is cut in two after concurrency (`admit`, then `serve`) because a batch admits all
 * of its parts before any of them is served, as Gmail does.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { AuthRegistry, GMAIL_SCOPES } from './auth.js';
import { FaultInjector, normalizeMethod, type FaultSpec } from './faults.js';
import { QuotaMeter, type ChargeVerdict } from './quota.js';
import type { Mailbox } from './mailbox.js';
import * as E from './gmail-errors.js';
import type { ApiError } from './gmail-errors.js';
import { applyFields, parseFields } from './fields.js';
import { boundaryOf, composeBatch, MAX_BATCH_PARTS, parseBatch, type BatchPart } from './batch.js';
import {
  isApiError, isFormat, listHistory, listMessages, listThreads, renderAttachment, renderLabel, renderLabels, renderMessage,
  renderProfile, renderRawJson, renderThread, validId, type Format, type Json,
} from './resources.js';

export const JSON_TYPE = 'application/json; charset=UTF-8';

export interface ServerHooks {
  mailboxes: Map<string, Mailbox>;
  auth: AuthRegistry;
  quota: QuotaMeter;
  faults: FaultInjector;
  clock: () => number;
  /** The status a per-user quota overrun is answered with: Gmail has been seen to use both. */
  quotaErrorStyle: '429' | '403';
  /** Added service time per API call (lets the concurrency cap bite); default 0. */
  latencyMs: number;
  /** Attachment ids older than this are refused (0: accepted for ever). */
  attachmentIdTtlMs: number;
  /** Longer `q` values answer 400 (0: no limit), to exercise query chunking. */
  maxQueryChars: number;
  /** History start ids whose last change is older than this answer 404 (0: only forgotten records do). */
  historyStartMaxAgeMs: number;
  control: ControlHandlers;
}

export interface ControlHandlers {
  addMessage(user: string, raw: Buffer, opts: { labelIds?: string[]; internalDate?: number }): { id: string; threadId: string; historyId: string };
  deleteMessage(user: string, id: string): void;
  modifyLabels(user: string, id: string, add: string[], remove: string[]): void;
  advanceTime(ms: number): void;
  messageIds(user: string): string[];
  users(): string[];
}

interface ApiCall {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
}

export interface Answer {
  status: number;
  headers: Record<string, string>;
  body: string;
  reset?: boolean;
  /** Called once the answer is on the wire (frees the concurrency slot). */
  release?: () => void;
}

const jsonAnswer = (status: number, value: unknown, headers: Record<string, string> = {}): Answer => ({
  status,
  headers: { 'Content-Type': JSON_TYPE, ...headers },
  body: JSON.stringify(value),
});

const errorAnswer = (error: ApiError): Answer => jsonAnswer(error.status, error.body, error.headers);

/** Already-serialized JSON (the raw-format fast path). */
export class JsonText {
  constructor(readonly text: string) {}
}

type Handler = (mailbox: Mailbox, query: URLSearchParams, scopes: Set<string>, emptyPage: boolean) => Json | ApiError | JsonText;

interface Route {
  method: string;
  /** The message or thread id in the path, for faults aimed at one message. */
  targetId?: string;
  run: Handler;
}

/** A call past the concurrency cap, holding its slot until `release`. */
interface AdmittedCall {
  user: string;
  route: Route;
  mailbox: Mailbox;
  scopes: Set<string>;
  query: URLSearchParams;
  /** A 'slow' fault's delay, served while the call holds its slot. */
  faultDelayMs: number;
  emptyPage: boolean;
  release: () => void;
}

const isAdmitted = (admission: Answer | AdmittedCall): admission is AdmittedCall => 'route' in admission;

/** The answer that destroys the socket instead of answering. */
const connectionReset = (): Answer => ({ status: 0, headers: {}, body: '', reset: true });

function intParam(query: URLSearchParams, name: string, fallback: number, max: number): number | ApiError {
  const raw = query.get(name);
  if (raw === null || raw === '') return fallback;
  if (!/^\d+$/.test(raw)) return E.invalidArgument(`Invalid value for ${name}: ${raw}`);
  const n = Number(raw);
  return n === 0 ? fallback : Math.min(n, max);
}

function boolParam(query: URLSearchParams, name: string): boolean {
  return (query.get(name) ?? '').toLowerCase() === 'true';
}

const metadataOnly = (scopes: Set<string>): boolean =>
  scopes.has(GMAIL_SCOPES.metadata) && !scopes.has(GMAIL_SCOPES.readonly) && !scopes.has(GMAIL_SCOPES.modify) && !scopes.has(GMAIL_SCOPES.full);

function formatParam(query: URLSearchParams, scopes: Set<string>, allowed: readonly Format[]): Format | ApiError {
  const raw = (query.get('format') ?? 'full').toLowerCase();
  if (!isFormat(raw) || !allowed.includes(raw)) return E.invalidArgument(`Invalid value at 'format' (${query.get('format')})`);
  if ((raw === 'full' || raw === 'raw') && metadataOnly(scopes)) return E.forbidden(`Metadata scope doesn't allow format ${raw.toUpperCase()}`);
  return raw;
}

interface RouteOptions {
  now: () => number;
  attachmentIdTtlMs: number;
  maxQueryChars: number;
  historyStartMaxAgeMs: number;
}

function route(sub: string, method: string, options: RouteOptions): Route | null {
  const now = options.now;
  const parts = sub.split('/').filter(Boolean).map(safeDecode);
  const [a, b, c, d] = parts;
  if (method !== 'GET') return null;
  if (a === 'profile' && parts.length === 1) return { method: 'getProfile', run: (mb) => renderProfile(mb) };
  if (a === 'labels' && parts.length === 1) return { method: 'labels.list', run: (mb) => renderLabels(mb) };
  if (a === 'labels' && parts.length === 2) return { method: 'labels.get', run: (mb) => renderLabel(mb, b as string) };
  if (a === 'history' && parts.length === 1) {
    return {
      method: 'history.list',
      run: (mb, q, _s, empty) => {
        const maxResults = intParam(q, 'maxResults', 100, 500);
        if (isApiError(maxResults)) return maxResults;
        return listHistory(mb, { startHistoryId: q.get('startHistoryId') ?? undefined, historyTypes: q.getAll('historyTypes'), labelId: q.get('labelId') ?? undefined, maxResults, pageToken: q.get('pageToken') ?? undefined }, empty, options.historyStartMaxAgeMs);
      },
    };
  }
  if ((a === 'messages' || a === 'threads') && parts.length === 1) {
    return {
      method: `${a}.list`,
      run: (mb, q, scopes, empty) => {
        const maxResults = intParam(q, 'maxResults', 100, 500);
        if (isApiError(maxResults)) return maxResults;
        const search = q.get('q') ?? undefined;
        if (search && metadataOnly(scopes)) return E.forbidden("Metadata scope does not support 'q' parameter");
        if (search && options.maxQueryChars > 0 && search.length > options.maxQueryChars) return E.invalidArgument(`Invalid query: longer than ${options.maxQueryChars} characters`);
        const params = { q: search, labelIds: q.getAll('labelIds'), includeSpamTrash: boolParam(q, 'includeSpamTrash'), maxResults, pageToken: q.get('pageToken') ?? undefined };
        return a === 'messages' ? listMessages(mb, params, now(), empty) : listThreads(mb, params, now(), empty);
      },
    };
  }
  if (a === 'messages' && parts.length === 2) {
    return {
      method: 'messages.get',
      targetId: b,
      run: (mb, q, scopes) => {
        if (!validId(b as string)) return E.invalidArgument('Invalid id value');
        const format = formatParam(q, scopes, ['minimal', 'metadata', 'full', 'raw']);
        if (isApiError(format)) return format;
        const message = mb.byId.get((b as string).toLowerCase());
        if (!message) return E.notFound();
        if (format === 'raw' && !q.has('fields')) return new JsonText(renderRawJson(message));
        return renderMessage(message, format, q.getAll('metadataHeaders'));
      },
    };
  }
  if (a === 'messages' && c === 'attachments' && parts.length === 4) {
    return {
      method: 'messages.attachments.get',
      targetId: b,
      run: (mb, _q, scopes) => {
        if (metadataOnly(scopes)) return E.forbidden('Metadata scope does not allow attachments');
        if (!validId(b as string)) return E.invalidArgument('Invalid id value');
        const message = mb.byId.get((b as string).toLowerCase());
        return message ? renderAttachment(message, d as string, options.attachmentIdTtlMs) : E.notFound();
      },
    };
  }
  if (a === 'threads' && parts.length === 2) {
    return {
      method: 'threads.get',
      targetId: b,
      run: (mb, q, scopes) => {
        if (!validId(b as string)) return E.invalidArgument('Invalid id value');
        const format = formatParam(q, scopes, ['minimal', 'metadata', 'full']);
        if (isApiError(format)) return format;
        return renderThread(mb, (b as string).toLowerCase(), format, q.getAll('metadataHeaders'));
      },
    };
  }
  return null;
}

const API_PREFIX = '/gmail/v1/users/';

export class EmulatorServer {
  private server?: Server;
  private readonly sockets = new Set<Socket>();

  constructor(private readonly hooks: ServerHooks) {}

  async listen(port: number): Promise<number> {
    // Long search queries travel in the request line; allow 64 KiB (Node's default is 16 KiB).
    const server = createServer({ maxHeaderSize: 65_536 }, (req, res) => {
      this.handle(req, res).catch((error: unknown) => {
        if (!res.headersSent) {
          const answer = errorAnswer(E.backendError());
          res.writeHead(answer.status, answer.headers);
          res.end(answer.body);
        } else res.destroy();
        process.emitWarning(`emulator: ${error instanceof Error ? error.stack ?? error.message : String(error)}`);
      });
    });
    server.keepAliveTimeout = 30_000;
    server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    return (server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const path = url.pathname;
    const method = req.method ?? 'GET';
    let answer: Answer;
    if (path.startsWith(API_PREFIX)) {
      answer = await this.dispatch({ method, path: path + url.search, headers: req.headers });
    } else if (method === 'POST' && (path === '/token' || path === '/o/oauth2/token' || path === '/oauth2/v4/token')) {
      answer = await this.token(await readBody(req));
    } else if (method === 'GET' && (path === '/o/oauth2/v2/auth' || path === '/o/oauth2/auth')) {
      answer = this.consent(url.searchParams);
    } else if (method === 'POST' && (path === '/revoke' || path === '/o/oauth2/revoke')) {
      const body = new URLSearchParams((await readBody(req)).toString('utf8'));
      const token = url.searchParams.get('token') ?? body.get('token') ?? '';
      answer = this.hooks.auth.revokeToken(token) ? jsonAnswer(200, {}) : jsonAnswer(400, { error: 'invalid_token', error_description: 'Token expired or revoked' });
    } else if (method === 'POST' && (path === '/batch' || path === '/batch/gmail/v1')) {
      answer = await this.batch(req, await readBody(req));
    } else if (path.startsWith('/emulator/')) {
      answer = await this.controlRequest(method, path, url.searchParams, await readBody(req));
    } else {
      answer = errorAnswer(E.notFound());
    }
    if (answer.reset) {
      answer.release?.();
      req.socket.destroy();
      return;
    }
    // Encoded once: the length and the bytes written come from the same buffer.
    const payload = Buffer.from(answer.body, 'utf8');
    res.writeHead(answer.status, { ...answer.headers, 'Content-Length': String(payload.length) });
    if (answer.release) {
      const release = answer.release;
      let done = false;
      const once = (): void => {
        if (!done) {
          done = true;
          release();
        }
      };
      res.on('finish', once);
      res.on('close', once);
    }
    res.end(payload);
  }

  /** One Gmail API call sent on its own; it holds its concurrency slot until its answer is written. */
  async dispatch(call: ApiCall): Promise<Answer> {
    const admission = this.admit(call);
    if (!isAdmitted(admission)) return admission;
    try {
      return { ...(await this.serve(admission)), release: admission.release };
    } catch (error) {
      admission.release();
      throw error;
    }
  }

  /**
   * Route → auth → user check → fault → concurrency, without waiting for anything, so that a batch
   * can admit all its parts in order before any is served. Answers at once when the call goes no
   * further.
   */
  private admit(call: ApiCall): Answer | AdmittedCall {
    const url = new URL(call.path, 'http://127.0.0.1');
    const rest = url.pathname.slice(API_PREFIX.length);
    const slash = rest.indexOf('/');
    const userId = safeDecode(slash < 0 ? rest : rest.slice(0, slash)).toLowerCase();
    const r = route(slash < 0 ? '' : rest.slice(slash), call.method, { now: this.hooks.clock, attachmentIdTtlMs: this.hooks.attachmentIdTtlMs, maxQueryChars: this.hooks.maxQueryChars, historyStartMaxAgeMs: this.hooks.historyStartMaxAgeMs });
    if (!r) return errorAnswer(E.notFound());
    const authorization = headerOf(call.headers, 'authorization');
    const bearer = /^Bearer\s+(\S+)$/i.exec(authorization ?? '');
    if (!bearer) return errorAnswer(E.loginRequired());
    const grant = this.hooks.auth.grantFor(bearer[1] as string);
    if (!grant) return errorAnswer(E.invalidCredentials());
    if (grant.user === null) return errorAnswer(E.failedPrecondition());
    if (![...grant.scopes].some((s) => s.startsWith('https://www.googleapis.com/auth/gmail.') || s === GMAIL_SCOPES.full)) {
      return errorAnswer(E.apiError(403, 'Request had insufficient authentication scopes.', 'insufficientPermissions'));
    }
    const user = grant.user;
    if (userId !== 'me' && userId !== user) return errorAnswer(E.delegationDenied(userId));
    const mailbox = this.hooks.mailboxes.get(user);
    if (!mailbox) return errorAnswer(E.failedPrecondition());
    const quota = this.hooks.quota;
    const fault = this.hooks.faults.pick(r.method, user, r.targetId);
    if (fault && fault.kind !== 'slow' && fault.kind !== 'empty-page') {
      quota.refuse(user, r.method, 'fault');
      return fault.kind === 'reset' ? connectionReset() : errorAnswer(faultError(fault));
    }
    if (!quota.enter(user)) {
      quota.refuse(user, r.method, 'concurrency');
      return errorAnswer(E.tooManyConcurrent());
    }
    let released = false;
    const release = (): void => {
      if (!released) {
        released = true;
        quota.leave(user);
      }
    };
    return {
      user,
      route: r,
      mailbox,
      scopes: grant.scopes,
      query: url.searchParams,
      faultDelayMs: fault?.kind === 'slow' ? fault.delayMs ?? 2000 : 0,
      emptyPage: fault?.kind === 'empty-page',
      release,
    };
  }

  /** Quota → answer, for an admitted call; the caller releases its slot. */
  private async serve(call: AdmittedCall): Promise<Answer> {
    const serviceMs = call.faultDelayMs + this.hooks.latencyMs;
    if (serviceMs > 0) await sleep(serviceMs);
    const verdict = this.hooks.quota.charge(call.user, call.route.method);
    if (verdict !== 'charged') return errorAnswer(this.quotaError(verdict));
    const result = call.route.run(call.mailbox, call.query, call.scopes, call.emptyPage);
    if (isApiError(result)) return errorAnswer(result);
    if (result instanceof JsonText) return { status: 200, headers: { 'Content-Type': JSON_TYPE }, body: result.text };
    const fields = call.query.get('fields');
    return jsonAnswer(200, fields ? applyFields(result, parseFields(fields)) : result);
  }

  /**
   * Gmail's answers to a quota overrun. No Retry-After header: Gmail documents none, and a
   * per-minute refusal only clears once the window has room.
   */
  private quotaError(verdict: Exclude<ChargeVerdict, 'charged'>): ApiError {
    if (verdict === 'project-limit') return E.projectPerMinuteQuota();
    const style = this.hooks.quotaErrorStyle;
    if (this.hooks.quota.settings.model === '2026') return E.perMinuteQuota(style === '403' ? 403 : 429);
    return style === '403' ? E.userRateLimitExceeded() : E.resourceExhausted();
  }

  private async token(body: Buffer): Promise<Answer> {
    const fault = this.hooks.faults.pick('token', null);
    if (fault) {
      if (fault.kind === 'slow') await sleep(fault.delayMs ?? 2000);
      else if (fault.kind === 'reset') return connectionReset();
      else if (fault.kind !== 'empty-page') return errorAnswer(faultError(fault));
    }
    const answer = this.hooks.auth.token(new URLSearchParams(body.toString('utf8')));
    return jsonAnswer(answer.status, answer.body, { 'Cache-Control': 'no-cache, no-store, max-age=0, must-revalidate' });
  }

  private consent(query: URLSearchParams): Answer {
    const redirectUri = query.get('redirect_uri') ?? '';
    const state = query.get('state');
    let target: URL;
    try {
      target = new URL(redirectUri);
    } catch {
      return { status: 400, headers: { 'Content-Type': 'text/plain; charset=UTF-8' }, body: 'Error 400: invalid_request (redirect_uri missing or invalid)\n' };
    }
    const users = this.hooks.control.users();
    const user = (query.get('login_hint') ?? (users.length === 1 ? users[0] : '') ?? '').toLowerCase();
    const result = this.hooks.auth.authorize(query.get('client_id') ?? '', redirectUri, user, query.get('scope') ?? '');
    if ('error' in result) target.searchParams.set('error', result.error);
    else {
      target.searchParams.set('code', result.code);
      target.searchParams.set('scope', query.get('scope') ?? GMAIL_SCOPES.readonly);
    }
    if (state !== null) target.searchParams.set('state', state);
    return { status: 302, headers: { Location: target.toString(), 'Content-Type': 'text/html; charset=UTF-8' }, body: '' };
  }

  private async batch(req: IncomingMessage, body: Buffer): Promise<Answer> {
    const boundary = boundaryOf(req.headers['content-type']);
    if (!boundary) return errorAnswer(E.badRequest('Failed to parse batch request, error: missing multipart/mixed boundary. Received batch body: (0) bytes redacted'));
    let parts: BatchPart[];
    try {
      parts = parseBatch(body, boundary);
    } catch (error) {
      return errorAnswer(E.badRequest(error instanceof Error ? error.message : String(error)));
    }
    if (parts.length === 0) return errorAnswer(E.badRequest('Failed to parse batch request, error: 0 items. Received batch body: (0) bytes redacted'));
    if (parts.length > MAX_BATCH_PARTS) return errorAnswer(E.badRequest(`Inner request count exceeds the limit. Received: ${parts.length}, Limit: ${MAX_BATCH_PARTS}`));
    const outerAuth = req.headers.authorization;
    const fault = this.hooks.faults.pick('batch', this.userOf(outerAuth));
    if (fault?.kind === 'reset') return connectionReset();
    if (fault?.kind === 'slow') await sleep(fault.delayMs ?? 2000);
    else if (fault) return errorAnswer(faultError(fault));

    const admissions = this.admitParts(parts, outerAuth);
    if (!admissions) return connectionReset();
    const admitted = admissions.filter(isAdmitted);
    try {
      // Parts run concurrently, as at Gmail: all hold their slots until the answer is composed.
      const answers = await Promise.all(admissions.map((a) => (isAdmitted(a) ? this.serve(a) : a)));
      const composed = composeBatch(answers.map((answer, i) => ({ contentId: parts[i]?.contentId, answer: { status: answer.status, headers: answer.headers, body: answer.body } })));
      return { status: 200, headers: { 'Content-Type': `multipart/mixed; boundary=${composed.boundary}` }, body: composed.body };
    } finally {
      for (const call of admitted) call.release();
    }
  }

  /** Admits every part, in order, before any is served; null when a part drew 'reset', which loses the whole batch. */
  private admitParts(parts: BatchPart[], outerAuth: string | undefined): Array<Answer | AdmittedCall> | null {
    const admissions: Array<Answer | AdmittedCall> = [];
    for (const part of parts) {
      const headers: Record<string, string | undefined> = { ...part.headers };
      if (!headers.authorization && outerAuth) headers.authorization = outerAuth;
      const admission = part.path.startsWith(API_PREFIX) ? this.admit({ method: part.method, path: part.path, headers }) : errorAnswer(E.notFound());
      if (!isAdmitted(admission) && admission.reset) {
        for (const earlier of admissions) if (isAdmitted(earlier)) earlier.release();
        return null;
      }
      admissions.push(admission);
    }
    return admissions;
  }

  /** The user a bearer token speaks for, so that a batch fault can be aimed at one user. */
  private userOf(authorization: string | undefined): string | null {
    const bearer = /^Bearer\s+(\S+)$/i.exec(authorization ?? '');
    return (bearer && this.hooks.auth.grantFor(bearer[1] as string)?.user) ?? null;
  }

  private async controlRequest(method: string, path: string, query: URLSearchParams, body: Buffer): Promise<Answer> {
    const c = this.hooks.control;
    const parts = path.split('/').filter(Boolean).map(safeDecode).slice(1);
    try {
      if (method === 'GET' && parts[0] === 'counters' && parts.length === 1) {
        const user = query.get('user');
        if (user) return jsonAnswer(200, this.hooks.quota.read(user));
        // The model and window say what peakWindowUnits counts over.
        const { model, windowMs } = this.hooks.quota.settings;
        return jsonAnswer(200, { ...this.hooks.quota.read(), quotaModel: model, windowMs, users: this.hooks.quota.readAll() });
      }
      if (method === 'GET' && parts[0] === 'quota' && parts.length === 1) return jsonAnswer(200, this.hooks.quota.settings);
      if (method === 'POST' && parts[0] === 'counters' && parts[1] === 'reset') {
        this.hooks.quota.reset();
        return jsonAnswer(200, {});
      }
      if (parts[0] === 'faults' && parts.length === 1) {
        if (method === 'DELETE') {
          this.hooks.faults.clear();
          return jsonAnswer(200, {});
        }
        if (method === 'POST') {
          const specs = JSON.parse(body.toString('utf8')) as FaultSpec | FaultSpec[];
          for (const spec of Array.isArray(specs) ? specs : [specs]) this.hooks.faults.inject({ ...spec, method: spec.method ? normalizeMethod(spec.method) : undefined });
          return jsonAnswer(200, {});
        }
      }
      if (method === 'POST' && parts[0] === 'time') {
        const { advanceMs } = JSON.parse(body.toString('utf8')) as { advanceMs: number };
        if (!Number.isFinite(advanceMs)) return errorAnswer(E.invalidArgument('advanceMs must be a number'));
        c.advanceTime(advanceMs);
        return jsonAnswer(200, { now: this.hooks.clock() });
      }
      if (method === 'GET' && parts[0] === 'users' && parts.length === 1) return jsonAnswer(200, { users: c.users() });
      if (parts[0] === 'users' && parts[2] === 'messages') {
        const user = (parts[1] ?? '').toLowerCase();
        if (!this.hooks.mailboxes.has(user)) return errorAnswer(E.notFound());
        if (method === 'GET' && parts.length === 3) return jsonAnswer(200, { ids: c.messageIds(user) });
        if (method === 'POST' && parts.length === 3) {
          const internalDate = query.get('internalDate');
          const labelIds = query.getAll('labelIds');
          return jsonAnswer(200, c.addMessage(user, body, { labelIds: labelIds.length ? labelIds : undefined, internalDate: internalDate ? Number(internalDate) : undefined }));
        }
        if (method === 'DELETE' && parts.length === 4) {
          c.deleteMessage(user, parts[3] as string);
          return jsonAnswer(200, {});
        }
        if (method === 'POST' && parts.length === 5 && parts[4] === 'labels') {
          const { add = [], remove = [] } = JSON.parse(body.toString('utf8')) as { add?: string[]; remove?: string[] };
          c.modifyLabels(user, parts[3] as string, add, remove);
          return jsonAnswer(200, {});
        }
      }
    } catch (error) {
      return errorAnswer(E.invalidArgument(error instanceof Error ? error.message : String(error)));
    }
    return errorAnswer(E.notFound());
  }
}

function faultError(fault: FaultSpec): ApiError {
  switch (fault.kind) {
    case '429':
      return E.resourceExhausted();
    case '429-concurrent':
      return E.tooManyConcurrent();
    case '429-retry-after':
      return E.userRateRetryAfter(new Date(Date.now() + (fault.delayMs ?? 1000)));
    case '403-user-rate':
      return E.userRateLimitExceeded();
    case '403-rate':
      return E.perMinuteQuota();
    case '500':
      return E.backendError();
    case '503':
      return E.unavailable();
    case '401':
      return E.invalidCredentials();
    default:
      return E.backendError();
  }
}

/** Percent-decoding that never throws: a malformed escape stays as written (and then matches nothing). */
function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

function headerOf(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const value = headers[name] ?? headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}

const MAX_BODY = 64 * 1024 * 1024;

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY) {
        reject(new Error('request body too large'));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}
