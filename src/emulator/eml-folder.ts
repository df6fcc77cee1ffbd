/**
 * Reads a folder of .eml files into mailbox messages. internalDate comes from the Date header
 * when it parses, else from the file's modification time; every message lands in INBOX. Either way it
 * is whole milliseconds: Gmail's internalDate is an int64 count of ms, and file systems give mtimes
 * with sub-millisecond fractions.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { headerValue, parseHeaderBlock, splitHeaderBody } from './mime.js';

export interface FolderMessage {
  raw: Buffer;
  labelIds: string[];
  internalDate: number;
  file: string;
}

export function loadEmlFolder(dir: string): FolderMessage[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (error) {
    throw new Error(`cannot read mailbox folder ${dir}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  const files = names.filter((n) => n.toLowerCase().endsWith('.eml')).sort();
  return files.map((name) => {
    const file = join(dir, name);
    const raw = readFileSync(file);
    return { raw, labelIds: ['INBOX'], internalDate: dateOf(raw) ?? Math.floor(statSync(file).mtimeMs), file };
  });
}

/** The Date header as epoch ms, or null when absent or unparseable. */
export function dateOf(raw: Buffer): number | null {
  const value = headerValue(parseHeaderBlock(splitHeaderBody(raw).head), 'date');
  if (!value) return null;
  const ms = Date.parse(value.replace(/\s*\([^)]*\)\s*$/, ''));
  return Number.isFinite(ms) ? Math.floor(ms) : null;
}
