/**
 * Email addresses as crm-mail compares them: one normalized form (lower case, ASCII domain), the
 * organization ("registered") domain of an address, and which domains are personal mailboxes that
 * must never stand for an organization. Pure: values in, values out.
 */
import { domainToASCII } from 'node:url';

export interface Address {
  /** Normalized: lower case, domain in ASCII (punycode) form. */
  address: string;
  name?: string;
}

const ADDRESS_SHAPE = /^[^\s@<>(),;:"\[\]\\]+@[^\s@<>(),;:"\[\]\\]+$/;

/**
 * How an enrolled mailbox is named everywhere (accounts, tokens, Gmail clients): trimmed, lower
 * case. Unlike normalizeAddress it never rewrites or rejects the name: a mailbox is used as given.
 */
export function mailboxKey(email: string): string {
  return email.trim().toLowerCase();
}

/** Lower case, trimmed, `mailto:` and angle brackets removed, domain in ASCII. '' when not an address. */
export function normalizeAddress(input: string | null | undefined): string {
  if (!input) return '';
  let value = input.trim().replace(/^mailto:/i, '').replace(/^<+|>+$/g, '').trim().toLowerCase();
  value = value.replace(/\.+$/, '');
  if (!ADDRESS_SHAPE.test(value) || value.includes('\ufffd')) return '';
  const at = value.lastIndexOf('@');
  const local = value.slice(0, at);
  const domain = normalizeDomain(value.slice(at + 1));
  if (!local || !domain) return '';
  return `${local}@${domain}`;
}

/** Lower case, no trailing dot, no leading `@` or `*.`, ASCII (punycode) form. '' when not a domain. */
export function normalizeDomain(input: string | null | undefined): string {
  if (!input) return '';
  const value = input.trim().toLowerCase().replace(/^@/, '').replace(/^\*\./, '').replace(/\.+$/, '');
  if (value === '' || /[\s@<>]/.test(value)) return '';
  const ascii = /^[\x00-\x7f]*$/.test(value) ? value : domainToASCII(value);
  if (!ascii || !/^[a-z0-9_-]+(\.[a-z0-9_-]+)*$/.test(ascii)) return '';
  return ascii;
}

/** The domain part of an address, or the input itself when it is a domain. */
export function domainOf(addressOrDomain: string): string {
  const at = addressOrDomain.lastIndexOf('@');
  return normalizeDomain(at >= 0 ? addressOrDomain.slice(at + 1) : addressOrDomain);
}

/**
 * Second-level public suffixes under which organizations register (co.uk, com.au, ...). Not the
 * whole Public Suffix List: the common national ones, which is what investor mail uses.
 */
const TWO_LEVEL_SUFFIXES = new Set(
  [
    'co.uk', 'org.uk', 'ac.uk', 'gov.uk', 'ltd.uk', 'plc.uk', 'me.uk', 'net.uk', 'sch.uk', 'nhs.uk',
    'com.au', 'net.au', 'org.au', 'edu.au', 'gov.au', 'asn.au', 'id.au',
    'co.nz', 'org.nz', 'net.nz', 'ac.nz', 'govt.nz',
    'co.jp', 'ne.jp', 'or.jp', 'ac.jp', 'go.jp', 'ad.jp', 'ed.jp', 'gr.jp', 'lg.jp',
    'co.kr', 'or.kr', 'ne.kr', 'ac.kr', 'go.kr',
    'com.cn', 'net.cn', 'org.cn', 'gov.cn', 'edu.cn', 'ac.cn',
    'com.hk', 'org.hk', 'net.hk', 'edu.hk', 'gov.hk',
    'com.tw', 'org.tw', 'net.tw', 'edu.tw', 'gov.tw',
    'com.sg', 'org.sg', 'net.sg', 'edu.sg', 'gov.sg',
    'com.my', 'org.my', 'net.my', 'edu.my',
    'co.in', 'net.in', 'org.in', 'firm.in', 'gen.in', 'ind.in', 'ac.in', 'edu.in', 'gov.in',
    'co.id', 'or.id', 'ac.id', 'go.id', 'web.id',
    'co.th', 'or.th', 'ac.th', 'go.th', 'in.th',
    'com.ph', 'org.ph', 'net.ph', 'edu.ph',
    'com.vn', 'net.vn', 'org.vn', 'edu.vn',
    'co.za', 'org.za', 'net.za', 'ac.za', 'gov.za',
    'co.il', 'org.il', 'net.il', 'ac.il', 'gov.il',
    'com.br', 'net.br', 'org.br', 'gov.br', 'edu.br',
    'com.ar', 'net.ar', 'org.ar', 'gob.ar',
    'com.mx', 'org.mx', 'net.mx', 'edu.mx', 'gob.mx',
    'com.co', 'net.co', 'org.co', 'edu.co', 'gov.co',
    'com.pe', 'org.pe', 'com.uy', 'com.ve', 'cl.cl',
    'com.tr', 'net.tr', 'org.tr', 'edu.tr', 'gov.tr', 'bel.tr',
    'com.sa', 'net.sa', 'org.sa', 'edu.sa', 'gov.sa',
    'co.ae', 'net.ae', 'org.ae', 'ac.ae', 'gov.ae',
    'com.eg', 'com.ng', 'co.ke', 'or.ke', 'com.gh', 'co.tz', 'co.ug',
    'com.pk', 'org.pk', 'net.pk', 'edu.pk',
    'com.bd', 'com.lk', 'com.np',
    'com.ua', 'net.ua', 'org.ua', 'kiev.ua',
    'com.ru', 'net.ru', 'org.ru', 'msk.ru', 'spb.ru',
    'com.pl', 'net.pl', 'org.pl', 'waw.pl',
    'co.at', 'or.at', 'ac.at', 'gv.at',
    'com.es', 'org.es', 'nom.es', 'edu.es', 'gob.es',
    'com.pt', 'org.pt', 'com.gr', 'org.gr', 'com.cy', 'com.mt',
    'co.hu', 'com.ro', 'org.ro', 'com.hr',
    'gov.it', 'edu.it', 'gouv.fr', 'asso.fr', 'com.fr',
    'co.no', 'priv.no', 'ac.be', 'gv.at',
  ],
);

/**
 * The domain an organization registered: `mail.fund.com` -> `fund.com`, `ir.fund.co.uk` ->
 * `fund.co.uk`. Accepts an address or a domain. An IP literal or single label is returned as is.
 */
export function registeredDomain(addressOrDomain: string): string {
  const domain = domainOf(addressOrDomain);
  if (domain === '' || /^\d+(\.\d+){3}$/.test(domain)) return domain;
  const labels = domain.split('.');
  if (labels.length <= 2) return domain;
  const lastTwo = labels.slice(-2).join('.');
  const keep = TWO_LEVEL_SUFFIXES.has(lastTwo) ? 3 : 2;
  return labels.slice(-keep).join('.');
}

/** Whether `domain` is `parent` or one of its subdomains. */
export function isSameOrSubdomain(domain: string, parent: string): boolean {
  return domain === parent || domain.endsWith(`.${parent}`);
}

/** Personal-mail providers: exact registered domains. */
export const PERSONAL_DOMAINS: readonly string[] = Object.freeze([
  'gmail.com', 'googlemail.com',
  'outlook.com', 'hotmail.com', 'live.com', 'msn.com', 'passport.com',
  'yahoo.com', 'ymail.com', 'rocketmail.com', 'aol.com', 'aim.com', 'verizon.net', 'att.net',
  'icloud.com', 'me.com', 'mac.com',
  'proton.me', 'protonmail.com', 'protonmail.ch', 'pm.me', 'tutanota.com', 'tuta.io', 'fastmail.com',
  'fastmail.fm', 'hey.com', 'zoho.com', 'zohomail.com', 'mail.com', 'email.com', 'hushmail.com',
  'gmx.com', 'gmx.net', 'gmx.de', 'gmx.at', 'gmx.ch', 'web.de', 't-online.de', 'freenet.de', 'arcor.de',
  'posteo.de', 'mailbox.org',
  'orange.fr', 'wanadoo.fr', 'free.fr', 'laposte.net', 'sfr.fr', 'neuf.fr', 'bbox.fr',
  'libero.it', 'virgilio.it', 'tiscali.it', 'alice.it', 'tin.it',
  'btinternet.com', 'sky.com', 'virginmedia.com', 'blueyonder.co.uk', 'talktalk.net', 'ntlworld.com',
  'comcast.net', 'sbcglobal.net', 'bellsouth.net', 'charter.net', 'cox.net', 'earthlink.net', 'optonline.net',
  'shaw.ca', 'rogers.com', 'sympatico.ca', 'videotron.ca', 'telus.net',
  'bigpond.com', 'bigpond.net.au', 'optusnet.com.au', 'iinet.net.au', 'xtra.co.nz',
  'yandex.ru', 'yandex.com', 'ya.ru', 'mail.ru', 'bk.ru', 'inbox.ru', 'list.ru', 'rambler.ru',
  'qq.com', '163.com', '126.com', 'sina.com', 'sohu.com', 'yeah.net', 'foxmail.com', 'aliyun.com',
  'naver.com', 'daum.net', 'hanmail.net', 'nate.com',
  'docomo.ne.jp', 'ezweb.ne.jp', 'softbank.ne.jp', 'nifty.com',
  'rediffmail.com', 'seznam.cz', 'centrum.cz', 'wp.pl', 'onet.pl', 'interia.pl', 'o2.pl',
  'telenet.be', 'skynet.be', 'ziggo.nl', 'kpnmail.nl', 'planet.nl', 'home.nl', 'bluewin.ch',
  'uol.com.br', 'bol.com.br', 'terra.com.br', 'ig.com.br',
]);

/** Providers that use their name under many national suffixes (yahoo.co.uk, gmx.fr, hotmail.it, ...). */
const PERSONAL_FAMILIES = new Set(['gmail', 'googlemail', 'yahoo', 'hotmail', 'outlook', 'live', 'msn', 'gmx', 'aol', 'icloud', 'yandex', 'proton', 'protonmail']);

const PERSONAL_SET = new Set(PERSONAL_DOMAINS);

/**
 * Whether a domain (or an address's domain) belongs to a personal-mail provider: the built-in list,
 * the provider families under any suffix, plus `extra` (configuration; `name.*` means any suffix).
 */
export function isPersonalDomain(addressOrDomain: string, extra: readonly string[] = []): boolean {
  const domain = domainOf(addressOrDomain);
  if (domain === '') return false;
  const registered = registeredDomain(domain);
  if (PERSONAL_SET.has(registered) || PERSONAL_SET.has(domain)) return true;
  const family = registered.split('.')[0] ?? '';
  if (PERSONAL_FAMILIES.has(family)) return true;
  for (const raw of extra) {
    const entry = raw.trim().toLowerCase().replace(/^@/, '');
    if (entry === '') continue;
    if (entry.endsWith('.*')) {
      if (family === entry.slice(0, -2)) return true;
      continue;
    }
    const extraDomain = normalizeDomain(entry);
    if (extraDomain !== '' && isSameOrSubdomain(domain, extraDomain)) return true;
  }
  return false;
}

/** Splits on separators outside double quotes, angle brackets and parentheses. */
const CELL_SEPARATORS = /[;,\n\r]/;

function splitOutsideQuotes(cell: string): string[] {
  // Most cells have nothing to protect: plain split.
  if (!/["<(]/.test(cell)) return cell.split(CELL_SEPARATORS);
  const parts: string[] = [];
  let start = 0;
  let quoted = false;
  let angle = 0;
  let paren = 0;
  for (let i = 0; i < cell.length; i++) {
    const char = cell[i]!;
    if (quoted) {
      if (char === '\\') i++;
      else if (char === '"') quoted = false;
      continue;
    }
    if (char === '"') quoted = true;
    else if (char === '<') angle++;
    else if (char === '>' && angle > 0) angle--;
    else if (char === '(') paren++;
    else if (char === ')' && paren > 0) paren--;
    else if (angle === 0 && paren === 0 && CELL_SEPARATORS.test(char)) {
      parts.push(cell.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(cell.slice(start));
  return parts;
}

function cleanName(raw: string): string | undefined {
  const name = raw
    .replace(/\([^)]*\)/g, ' ')
    .trim()
    .replace(/^"(.*)"$/s, '$1')
    .replace(/\\(.)/g, '$1')
    .replace(/\s+/g, ' ')
    .trim();
  return name === '' ? undefined : name;
}

/**
 * Parses an investor's email cell as people type it: `"Jane Roe" <jane@x.com>; bob@x.com,
 * CHARLIE@Y.COM`, newlines, `mailto:`, stray separators. Returns normalized, de-duplicated
 * addresses in the order written; anything that is not an address is dropped.
 */
export function parseAddressCell(cell: string | null | undefined): Address[] {
  if (!cell) return [];
  const result: Address[] = [];
  const seen = new Set<string>();
  for (const segment of splitOutsideQuotes(cell)) {
    const text = segment.trim();
    if (text === '') continue;
    const angle = text.match(/<([^<>]*)>\s*$/) ?? text.match(/<([^<>]*)>/);
    let address: string;
    let name: string | undefined;
    if (angle) {
      address = normalizeAddress(angle[1]);
      name = cleanName(text.slice(0, angle.index));
    } else {
      // Bare address, possibly with a name in words around it ("Bob bob@x.com").
      const words = text.replace(/\([^)]*\)/g, ' ').split(/\s+/);
      const candidate = words.find((word) => word.includes('@')) ?? '';
      address = normalizeAddress(candidate.replace(/^["']|["']$/g, ''));
      name = cleanName(words.filter((word) => word !== candidate).join(' '));
    }
    if (address === '' || seen.has(address)) continue;
    seen.add(address);
    result.push(name ? { address, name } : { address });
  }
  return result;
}
