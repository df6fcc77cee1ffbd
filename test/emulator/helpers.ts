/**
 * Test plumbing for the emulator suite: real @googleapis/gmail clients pointed at the emulator
 * (JWT with subject, token requests rewritten to the emulator's token URL), and raw HTTP access.
 */
import { readFileSync } from 'node:fs';
import { gmail, auth } from '@googleapis/gmail';
import type { Emulator } from '../../src/emulator/index.js';

process.env.NO_PROXY = '127.0.0.1,localhost';

export const READONLY = 'https://www.googleapis.com/auth/gmail.readonly';

export interface ClientOptions {
  scopes?: string[];
  /** false turns off gaxios retries (errors reach the caller at once). */
  retry?: boolean;
  /** Sign with this key instead of the emulator's (to test a bad signature). */
  privateKey?: string;
  /** No subject: the service account itself. */
  noSubject?: boolean;
}

export function jwtFor(emu: Emulator, user: string, options: ClientOptions = {}) {
  const key = JSON.parse(readFileSync(emu.serviceAccountKeyFile, 'utf8')) as { client_email: string; private_key: string };
  const jwt = new auth.JWT({
    email: key.client_email,
    key: options.privateKey ?? key.private_key,
    subject: options.noSubject ? undefined : user,
    scopes: options.scopes ?? [READONLY],
  });
  jwt.transporter.interceptors.request.add({
    resolved: async (config) => {
      const url = new URL(String(config.url));
      if (url.origin === 'https://oauth2.googleapis.com') config.url = new URL(url.pathname + url.search, emu.rootUrl);
      return config;
    },
  });
  return jwt;
}

export function gmailFor(emu: Emulator, user: string, options: ClientOptions = {}) {
  const jwt = jwtFor(emu, user, options);
  return gmail({ version: 'v1', auth: jwt, rootUrl: emu.rootUrl, ...(options.retry === false ? { retry: false } : {}) });
}

/** A bearer token for `user`, fetched through google-auth-library. */
export async function tokenFor(emu: Emulator, user: string, options: ClientOptions = {}): Promise<string> {
  const jwt = jwtFor(emu, user, options);
  const { token } = await jwt.getAccessToken();
  if (!token) throw new Error('no access token');
  return token;
}

/** Error status and envelope of a rejected client call. */
export async function failure(promise: Promise<unknown>): Promise<{ status: number; message: string; data: any }> {
  try {
    await promise;
  } catch (error) {
    const e = error as { status?: number; response?: { status: number; data: unknown }; message: string };
    return { status: e.status ?? e.response?.status ?? -1, message: e.message, data: e.response?.data };
  }
  throw new Error('expected the call to fail, it succeeded');
}

export function base64urlDecode(text: string): Buffer {
  return Buffer.from(text, 'base64url');
}

export function eml(headers: Record<string, string>, body: string): Buffer {
  const head = Object.entries(headers).map(([k, v]) => `${k}: ${v}`).join('\r\n');
  return Buffer.from(`${head}\r\n\r\n${body}`, 'utf8');
}
