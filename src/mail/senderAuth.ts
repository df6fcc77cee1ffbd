/**
 * Whether Gmail authenticated the sender a message's From header names: a DKIM signature or an SPF
 * pass for the From domain (same registered domain, DMARC's relaxed alignment), as Gmail's own
 * Authentication-Results header (RFC 8601) records them.
 *
 * Only the topmost Authentication-Results header with Gmail's authserv-id counts. Gmail prepends its
 * own on receipt, above every header the sender wrote, so a forged "Authentication-Results:
 * mx.google.com; dkim=pass" inside the message sits below it and is never read. Pure.
 */
import { domainOf, registeredDomain } from './addresses.js';

/** How the From header's sender was vouched for: DKIM, SPF, or not at all. */
export type SenderAuth = 'dkim' | 'spf' | 'none';

/** Who vouches for a mailbox copy's sender: 'sent' when Gmail's SENT label says the owner sent it. */
export type SenderCheck = 'sent' | SenderAuth;

/**
 * A copy read from Gmail with the SENT label was sent by the mailbox's owner, whatever its headers
 * say; otherwise only Gmail's authentication results vouch for the From domain. A copy read from a
 * file has no labels, so its results alone count.
 */
export function senderCheck(copy: { gmailId?: string; labelIds?: readonly string[]; senderAuth?: SenderAuth }): SenderCheck {
  return copy.gmailId !== undefined && (copy.labelIds ?? []).includes('SENT') ? 'sent' : (copy.senderAuth ?? 'none');
}

/** The authserv-id Gmail writes in the Authentication-Results it adds. */
const GMAIL_AUTHSERV_ID = 'mx.google.com';

interface ResultEntry {
  method: string;
  result: string;
  properties: Map<string, string>;
}

/** Drops RFC 5322 comments (nested parentheses included) and quoted-string quotes. */
function withoutComments(value: string): string {
  let depth = 0;
  let out = '';
  for (const char of value) {
    if (char === '(') depth++;
    else if (char === ')') depth = Math.max(0, depth - 1);
    else if (depth === 0) out += char;
  }
  return out.replace(/"/g, '');
}

/** The authserv-id and the method results of one header value. */
function parseAuthenticationResults(value: string): { authservId: string; results: ResultEntry[] } {
  const [head = '', ...rest] = withoutComments(value).split(';');
  const authservId = (head.trim().split(/\s+/)[0] ?? '').toLowerCase();
  const results: ResultEntry[] = [];
  for (const chunk of rest) {
    const tokens = chunk.trim().split(/\s+/).filter((token) => token.includes('='));
    const first = tokens.shift();
    if (!first) continue;
    const [method = '', result = ''] = first.split('=');
    const properties = new Map<string, string>();
    for (const token of tokens) {
      const equals = token.indexOf('=');
      properties.set(token.slice(0, equals).toLowerCase(), token.slice(equals + 1).toLowerCase());
    }
    results.push({ method: method.toLowerCase().split('/')[0]!, result: result.toLowerCase(), properties });
  }
  return { authservId, results };
}

function aligned(authenticated: string | undefined, fromDomain: string): boolean {
  if (!authenticated) return false;
  const domain = domainOf(authenticated.replace(/^@/, ''));
  return domain !== '' && registeredDomain(domain) === registeredDomain(fromDomain);
}

/**
 * The sender's authentication from the Authentication-Results header values, in header order
 * (topmost first), for the From address.
 */
export function senderAuthentication(values: readonly string[], fromAddress: string | undefined): SenderAuth {
  const fromDomain = fromAddress ? domainOf(fromAddress) : '';
  if (fromDomain === '') return 'none';
  const gmail = values.map(parseAuthenticationResults).find((parsed) => parsed.authservId === GMAIL_AUTHSERV_ID);
  if (!gmail) return 'none';
  const passed = (method: string) => gmail.results.filter((entry) => entry.method === method && entry.result === 'pass');
  if (passed('dkim').some((entry) => aligned(entry.properties.get('header.d') ?? entry.properties.get('header.i'), fromDomain))) return 'dkim';
  if (passed('spf').some((entry) => aligned(entry.properties.get('smtp.mailfrom') ?? entry.properties.get('envelope-from'), fromDomain))) return 'spf';
  return 'none';
}
