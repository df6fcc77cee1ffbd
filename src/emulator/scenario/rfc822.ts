/**
 * Writes RFC 822 messages for the generator: CRLF lines, RFC 2047 names, quoted-printable text,
 * multipart/alternative and multipart/mixed with base64 attachments.
 */
export interface Mailbox822 {
  name: string;
  email: string;
}

export interface Attachment822 {
  filename: string;
  mimeType: string;
  content: Buffer;
}

export interface Message822 {
  headers: Array<[string, string]>;
  text: string;
  html?: string;
  attachments: Attachment822[];
  boundarySeed: string;
}

const isAscii = (text: string): boolean => /^[\x00-\x7f]*$/.test(text);

export function encodeWord(text: string): string {
  return isAscii(text) ? text : `=?UTF-8?B?${Buffer.from(text, 'utf8').toString('base64')}?=`;
}

export function formatAddress(person: Mailbox822): string {
  if (!person.name) return person.email;
  const name = isAscii(person.name) ? (/[(),.:;<>@[\]"]/.test(person.name) ? `"${person.name.replace(/"/g, '\\"')}"` : person.name) : encodeWord(person.name);
  return `${name} <${person.email}>`;
}

export function formatDate(ms: number): string {
  // Mail from the firm is written in Pacific time; a fixed -0800 keeps output stable.
  const d = new Date(ms - 8 * 3_600_000);
  const days = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${days[d.getUTCDay()]}, ${p(d.getUTCDate())} ${months[d.getUTCMonth()]} ${d.getUTCFullYear()} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} -0800`;
}

function quotedPrintable(text: string): string {
  const bytes = Buffer.from(text.replace(/\r?\n/g, '\n'), 'utf8');
  const lines: string[] = [];
  let line = '';
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i] as number;
    if (b === 0x0a) {
      lines.push(line);
      line = '';
      continue;
    }
    const next = bytes[i + 1];
    const atLineEnd = next === undefined || next === 0x0a;
    let token: string;
    if ((b >= 33 && b <= 126 && b !== 61) || ((b === 32 || b === 9) && !atLineEnd)) token = String.fromCharCode(b);
    else token = '=' + b.toString(16).toUpperCase().padStart(2, '0');
    if (line.length + token.length > 75) {
      lines.push(line + '=');
      line = '';
    }
    line += token;
  }
  lines.push(line);
  return lines.join('\r\n');
}

function textPart(mimeType: string, text: string): string {
  if (isAscii(text)) return `Content-Type: ${mimeType}; charset="UTF-8"\r\nContent-Transfer-Encoding: 7bit\r\n\r\n${text.replace(/\r?\n/g, '\r\n')}`;
  return `Content-Type: ${mimeType}; charset="UTF-8"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n${quotedPrintable(text)}`;
}

function base64Lines(content: Buffer): string {
  const b64 = content.toString('base64');
  const lines: string[] = [];
  for (let i = 0; i < b64.length; i += 76) lines.push(b64.slice(i, i + 76));
  return lines.join('\r\n');
}

/**
 * The Authentication-Results header Gmail prepends to mail it receives (RFC 8601, authserv-id
 * mx.google.com), for a sender whose domain signs with DKIM and publishes SPF. Generated mail stands
 * for legitimate mail from such senders, so its received copies carry Gmail's pass, as real ones do;
 * a test of forged mail writes its own message without it.
 */
export function gmailAuthenticationResults(fromAddress: string): [string, string] {
  const domain = fromAddress.slice(fromAddress.lastIndexOf('@') + 1).toLowerCase();
  return [
    'Authentication-Results',
    `mx.google.com; dkim=pass header.i=@${domain} header.s=s1; ` +
      `spf=pass (google.com: domain of ${fromAddress} designates 192.0.2.25 as permitted sender) smtp.mailfrom=${fromAddress}; ` +
      `dmarc=pass (p=NONE sp=NONE dis=NONE) header.from=${domain}`,
  ];
}

export function buildMessage(message: Message822): Buffer {
  const head = message.headers.map(([name, value]) => `${name}: ${value}`).join('\r\n') + '\r\nMIME-Version: 1.0\r\n';
  let body = message.html ? alternative(message.text, message.html, `alt_${message.boundarySeed}`) : textPart('text/plain', message.text);
  if (message.attachments.length > 0) {
    const boundary = `mix_${message.boundarySeed}`;
    const pieces = [`--${boundary}\r\n${body}`];
    for (const a of message.attachments) {
      const name = encodeWord(a.filename);
      pieces.push(`--${boundary}\r\nContent-Type: ${a.mimeType}; name="${name}"\r\nContent-Disposition: attachment; filename="${name}"\r\nContent-Transfer-Encoding: base64\r\n\r\n${base64Lines(a.content)}`);
    }
    body = `Content-Type: multipart/mixed; boundary="${boundary}"\r\n\r\n${pieces.join('\r\n')}\r\n--${boundary}--\r\n`;
  }
  return Buffer.from(head + body + (body.endsWith('\r\n') ? '' : '\r\n'), 'utf8');
}

function alternative(text: string, html: string, boundary: string): string {
  return `Content-Type: multipart/alternative; boundary="${boundary}"\r\n\r\n--${boundary}\r\n${textPart('text/plain', text)}\r\n--${boundary}\r\n${textPart('text/html', html)}\r\n--${boundary}--`;
}

export function textToHtml(text: string): string {
  const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  // One line per source line keeps every line far below RFC 5322's 998-character limit.
  const paragraphs = text.split(/\n{2,}/).map((p) => `<p>${esc(p).replace(/\n/g, '<br>\n')}</p>`);
  return `<html><body style="font-family:Arial,sans-serif">\n${paragraphs.join('\n')}\n</body></html>`;
}

/** A PDF-looking binary (header, a few objects, a pseudo-random stream, trailer), stable for a key. */
export function pdfLike(title: string, size: number, seed: number): Buffer {
  const headText = `%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n2 0 obj\n<< /Type /Pages /Kids [3 0 R] /Count 1 >>\nendobj\n3 0 obj\n<< /Type /Page /Parent 2 0 R /Title (${title.replace(/[()\\]/g, '')}) /Contents 4 0 R >>\nendobj\n4 0 obj\n<< /Length ${size} /Filter /FlateDecode >>\nstream\n`;
  const tail = '\nendstream\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n';
  const head = Buffer.from(headText, 'latin1');
  const stream = Buffer.allocUnsafe(size);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    stream[i] = s & 0xff;
  }
  return Buffer.concat([head, stream, Buffer.from(tail, 'latin1')]);
}
