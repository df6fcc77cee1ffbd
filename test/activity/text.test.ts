import { describe, expect, it } from 'vitest';
import { bareSubject, cleanLine, firstSentence, newPartOfBody, truncate } from '../../src/activity/text.js';
import { buildNoteLine, LINE_MAX } from '../../src/activity/noteLine.js';
import { readNote } from '../../src/activity/llamaDrafter.js';
import { parseCutoff } from '../../src/activity/cutoff.js';
import { resolveDrafterKind } from '../../src/activity/propose.js';
import { ConfigError } from '../../src/errors.js';

describe('untrusted text becomes one clean line', () => {
  it('removes escape sequences, controls, bidi overrides and line breaks, and bounds the length', () => {
    expect(cleanLine('a\r\nb\u2028c\td\u001b[31me\u001b]0;title\u0007f\u0000\u202eg\u200bh\ufffd', 100)).toBe('a b c defgh');
    expect(cleanLine('  many   spaces  ', 100)).toBe('many spaces');
    expect(cleanLine('x'.repeat(50), 10)).toBe('xxxxxxxxx…');
    expect(Array.from(cleanLine('😀'.repeat(20), 5))).toHaveLength(5);
    expect(truncate('😀😀😀', 2)).toBe('😀…');
    expect(cleanLine('lone \ud800 surrogate', 50)).toBe('lone surrogate');
    expect(cleanLine(null, 5)).toBe('');
  });

  it('keeps only the new part of a reply: no quoted history, no signature', () => {
    const body = 'Sounds good, see you Monday.\n\nOn Tue, Nov 24, 2026 at 9:00 AM Jane Doe <jane@northwind.vc>\nwrote:\n> old text\n> more';
    expect(newPartOfBody(body)).toBe('Sounds good, see you Monday.');
    expect(newPartOfBody('Top\n-----Original Message-----\nFrom: x')).toBe('Top');
    expect(newPartOfBody('Reply\r\n> quoted\r\nafter\r\n-- \r\nJane Doe\r\nPartner')).toBe('Reply\nafter');
    expect(newPartOfBody('Fwd below\n---------- Forwarded message ---------\nFrom: a')).toBe('Fwd below');
    expect(newPartOfBody('> only quotes\n> here')).toBe('');
  });

  it('finds the first sentence after a greeting and strips reply prefixes from subjects', () => {
    expect(firstSentence('Hi Ann,\n\nWe are in for 5m. Legal follows.')).toBe('We are in for 5m.');
    expect(firstSentence('Dear Charles:\nThe data room is open! Use the link.')).toBe('The data room is open!');
    expect(firstSentence('no punctuation at all')).toBe('no punctuation at all');
    expect(bareSubject('Re: RE: Fwd: Fund III')).toBe('Fund III');
    expect(bareSubject('AW: [2]: x')).toBe('[2]: x');
  });

  it('builds the line from data; the summary cannot break it', () => {
    const line = buildNoteLine({
      dateMs: Date.UTC(2026, 10, 28, 12),
      direction: 'received',
      partners: ['Jane Doe'],
      contacts: ['Ann\nLee'],
      summary: 'ok\n2026-01-01 · Sent · fake line\u001b[2J' + 'y'.repeat(1000),
    });
    expect(line).toMatch(/^2026-11-28 · Received · Jane Doe ↔ Ann Lee: ok 2026-01-01 · Sent · fake liney+…$/);
    expect(Array.from(line).length).toBeLessThanOrEqual(LINE_MAX);
    expect(buildNoteLine({ dateMs: 0, direction: 'sent', partners: [], contacts: [], summary: '\u0000' })).toMatch(/· Sent · unknown ↔ unknown: \(no summary\)$/);
  });

  it("reads the model's note, salvaging JSON cut by the token limit", () => {
    expect(readNote('{"note": "Deck sent; call Monday."}')).toBe('Deck sent; call Monday.');
    expect(readNote('{"note": "Deck sent, call Mon')).toBe('Deck sent, call Mon');
    expect(readNote('{"note": "tab\\there \\u00')).toBe('tab here');
    expect(readNote('garbage')).toBe('');
  });
});

describe('configuration rules', () => {
  it('parses cutoffs as ISO dates or epoch seconds/milliseconds, and nothing else', () => {
    expect(parseCutoff('2026-11-01')).toBe(Date.UTC(2026, 10, 1));
    expect(parseCutoff('2026-11-01T09:30:00+01:00')).toBe(Date.UTC(2026, 10, 1, 8, 30));
    expect(parseCutoff('1795000000')).toBe(1795000000000);
    expect(parseCutoff('1795000000123')).toBe(1795000000123);
    expect(parseCutoff('yesterday')).toBeUndefined();
    expect(parseCutoff('2026-13-45')).toBeUndefined();
  });

  it('chooses the drafter: explicit choice, else llama with a model, else a configuration error', () => {
    expect(resolveDrafterKind({ modelPath: '/m.gguf' })).toBe('llama');
    expect(resolveDrafterKind({ modelPath: '/m.gguf', drafter: 'rule' })).toBe('rule');
    expect(resolveDrafterKind({ drafter: 'rule' })).toBe('rule');
    expect(resolveDrafterKind({}, 'rule')).toBe('rule');
    expect(() => resolveDrafterKind({})).toThrow(ConfigError);
    expect(() => resolveDrafterKind({}, 'llama')).toThrow(/CRM_MAIL_MODEL/);
  });
});
