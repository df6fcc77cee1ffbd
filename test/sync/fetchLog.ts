/**
 * A loopback pass-through in front of the emulator that records which mailbox fetched which message
 * (messages.get), so a test can prove a message is never fetched again once its page was committed.
 * It forwards every request unchanged; the mailbox of a call is known from its access token, which
 * the proxy sees issued (the JWT's subject) when the token request passes through it.
 */
import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FetchRecord {
  user: string;
  id: string;
  format: string;
}

export class FetchLog {
  private server?: Server;
  private readonly tokens = new Map<string, string>();
  records: FetchRecord[] = [];
  /** When the first request since the last reset arrived (epoch ms), if any. */
  firstRequestAt?: number;
  /** Batch requests seen (their messages.get parts are recorded one by one). */
  batches = 0;
  url = '';

  constructor(private readonly target: string) {}

  async start(): Promise<this> {
    const upstream = new URL(this.target);
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        this.observeRequest(req, body);
        const forward = request(
          { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers },
          (answer) => {
            const parts: Buffer[] = [];
            answer.on('data', (chunk: Buffer) => parts.push(chunk));
            answer.on('end', () => {
              const payload = Buffer.concat(parts);
              if (req.url?.startsWith('/token')) this.observeToken(body, payload);
              res.writeHead(answer.statusCode ?? 502, answer.headers);
              res.end(payload);
            });
          },
        );
        forward.on('error', () => {
          res.destroy();
        });
        forward.end(body);
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}/`;
    return this;
  }

  reset(): void {
    this.records = [];
    this.firstRequestAt = undefined;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }

  private observeRequest(req: IncomingMessage, body: Buffer): void {
    this.firstRequestAt ??= Date.now();
    const url = new URL(req.url ?? '/', 'http://x');
    const token = (req.headers.authorization ?? '').replace(/^Bearer\s+/i, '');
    if (req.method === 'POST' && url.pathname.startsWith('/batch')) {
      // multipart/mixed: each part carries a request line "GET /gmail/v1/users/me/messages/ID?format=... HTTP/1.1".
      this.batches += 1;
      for (const line of body.toString('latin1').split(/\r?\n/)) {
        const request = line.match(/^GET (\/gmail\/v1\/users\/[^\s]+)/);
        if (request) this.record(new URL(request[1]!, 'http://x'), token);
      }
      return;
    }
    if (req.method === 'GET') this.record(url, token);
  }

  private record(url: URL, token: string): void {
    const match = url.pathname.match(/^\/gmail\/v1\/users\/([^/]+)\/messages\/([^/]+)$/);
    if (!match) return;
    const userInPath = decodeURIComponent(match[1]!);
    const user = userInPath === 'me' ? (this.tokens.get(token) ?? 'unknown') : userInPath.toLowerCase();
    this.records.push({ user, id: match[2]!, format: url.searchParams.get('format') ?? 'full' });
  }

  private observeToken(requestBody: Buffer, responseBody: Buffer): void {
    try {
      const assertion = new URLSearchParams(requestBody.toString('utf8')).get('assertion');
      const accessToken = (JSON.parse(responseBody.toString('utf8')) as { access_token?: string }).access_token;
      if (!assertion || !accessToken) return;
      const claims = JSON.parse(Buffer.from(assertion.split('.')[1] ?? '', 'base64url').toString('utf8')) as { sub?: string };
      if (claims.sub) this.tokens.set(accessToken, claims.sub.toLowerCase());
    } catch {
      // Not a JWT bearer exchange: nothing to learn.
    }
  }
}
