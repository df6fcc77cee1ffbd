/**
 * HTML to readable plain text, for messages that have no text part, and HTML entity decoding (Gmail
 * snippets are entity-escaped). Deliberately small: the text feeds summaries and search, not display,
 * so structure is reduced to line breaks and list dashes. Scripts, styles and comments never
 * contribute text.
 */

const NAMED_ENTITIES: Record<string, string> = {
  amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ', ensp: ' ', emsp: ' ', thinsp: ' ',
  copy: '©', reg: '®', trade: '™', hellip: '…', mdash: '—', ndash: '–', lsquo: '‘', rsquo: '’',
  sbquo: '‚', ldquo: '“', rdquo: '”', bdquo: '„', bull: '•', middot: '·', euro: '€', pound: '£',
  yen: '¥', cent: '¢', deg: '°', plusmn: '±', times: '×', divide: '÷', laquo: '«', raquo: '»',
  iexcl: '¡', iquest: '¿', sect: '§', para: '¶', shy: '', zwnj: '', zwj: '', lrm: '', rlm: '',
  auml: 'ä', ouml: 'ö', uuml: 'ü', Auml: 'Ä', Ouml: 'Ö', Uuml: 'Ü', szlig: 'ß', eacute: 'é',
  egrave: 'è', ecirc: 'ê', euml: 'ë', Eacute: 'É', Egrave: 'È', agrave: 'à', aacute: 'á', acirc: 'â',
  atilde: 'ã', aring: 'å', aelig: 'æ', Agrave: 'À', Aacute: 'Á', ccedil: 'ç', Ccedil: 'Ç', ntilde: 'ñ',
  Ntilde: 'Ñ', oacute: 'ó', ograve: 'ò', ocirc: 'ô', otilde: 'õ', oslash: 'ø', Oslash: 'Ø',
  uacute: 'ú', ugrave: 'ù', ucirc: 'û', iacute: 'í', igrave: 'ì', icirc: 'î', iuml: 'ï', yacute: 'ý',
  yuml: 'ÿ', frac12: '½', frac14: '¼', frac34: '¾', sup2: '²', sup3: '³', micro: 'µ', rarr: '→',
  larr: '←', uarr: '↑', darr: '↓', hearts: '♥', check: '✓',
};

function codePointText(code: number): string {
  if (!Number.isFinite(code) || code <= 0 || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) return '';
  return String.fromCodePoint(code);
}

/** Decodes named (common set), decimal and hexadecimal character references; unknown ones stay. */
export function decodeEntities(text: string): string {
  return text.replace(/&(#[xX][0-9a-fA-F]{1,6}|#\d{1,7}|[a-zA-Z][a-zA-Z0-9]{1,31});?/g, (match, body: string) => {
    if (body[0] === '#') {
      const code = body[1] === 'x' || body[1] === 'X' ? parseInt(body.slice(2), 16) : parseInt(body.slice(1), 10);
      return codePointText(code);
    }
    const named = NAMED_ENTITIES[body];
    return named === undefined ? match : named;
  });
}

const DROPPED_ELEMENTS = /<(script|style|head|title|noscript|template|svg|object|iframe)\b[^>]*>[\s\S]*?<\/\1\s*>/gi;
const BLOCK_TAGS = /<\/?(p|div|tr|table|thead|tbody|tfoot|h[1-6]|ul|ol|dl|dt|dd|blockquote|pre|section|article|header|footer|nav|aside|main|form|fieldset|address|center|figure|figcaption|hr)\b[^>]*>/gi;

/** Readable text from an HTML document or fragment. */
export function htmlToText(html: string): string {
  let text = html
    .replace(/<!--[\s\S]*?(-->|$)/g, ' ')
    .replace(/<!\[CDATA\[[\s\S]*?\]\]>/g, ' ')
    .replace(/<!doctype[^>]*>/gi, ' ')
    .replace(DROPPED_ELEMENTS, ' ')
    // An unclosed <script> or <style> hides everything after it from a browser too.
    .replace(/<(script|style)\b[\s\S]*$/i, ' ')
    .replace(/\r\n?/g, '\n')
    .replace(/[ \t\n]+/g, ' ')
    .replace(/<br\s*\/?>/gi, '\n')
    .replace(/<li\b[^>]*>/gi, '\n- ')
    .replace(/<\/(td|th)\s*>/gi, ' \t')
    .replace(BLOCK_TAGS, '\n')
    .replace(/<img\b[^>]*\balt\s*=\s*"([^"]*)"[^>]*>/gi, ' $1 ')
    .replace(/<[^>]*>/g, '');
  text = decodeEntities(text);
  return text
    .split('\n')
    .map((line) => line.replace(/[ \t\u00a0]+/g, ' ').trim())
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}
