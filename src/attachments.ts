/**
 * Attachment bytes, stored once per SHA-256 under CRM_GMAIL_ATTACHMENTS_DIR, and the worker that
 * downloads the ones still pending.
 *
 * Safety of the store: the path is derived from the hash only (never from the attachment's own
 * filename, which is attacker-controlled); a write goes to a temp file, is flushed, read back and
 * checked against the hash, then renamed into place, so a crash leaves at worst an orphan temp file
 * (swept later) and a database row that still says pending: nothing half-written is ever referenced.
 */
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Db } from './db/open.js';
import {
  listPendingAttachments,
  markAttachmentFailed,
  markAttachmentSkipped,
  markAttachmentStored,
  setGmailAttachmentId,
  type PendingAttachment,
} from './db/attachments.js';

export interface StoredBlob {
  sha256: string;
  /** Relative to the store's folder: `ab/cd/<sha256>`. */
  path: string;
  size: number;
}

export interface AttachmentStoreOptions {
  /**
   * Fault-injection point: called after the temp file is written and verified, just before the
   * rename. Tests use it to crash the process at the worst moment; production leaves it unset.
   */
  beforeCommit?: (tempPath: string) => void;
}

const SHA256_HEX = /^[0-9a-f]{64}$/;
const TEMP_DIR = '.tmp';

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export class AttachmentStore {
  readonly dir: string;

  constructor(
    dir: string,
    private readonly options: AttachmentStoreOptions = {},
  ) {
    this.dir = resolve(dir);
  }

  /** The relative path of a blob: two fan-out levels, then the full hash. */
  static relativePath(hash: string): string {
    if (!SHA256_HEX.test(hash)) throw new Error(`not a SHA-256 hex digest: ${JSON.stringify(hash.slice(0, 80))}`);
    return join(hash.slice(0, 2), hash.slice(2, 4), hash);
  }

  absolutePath(hash: string): string {
    return join(this.dir, AttachmentStore.relativePath(hash));
  }

  has(hash: string): boolean {
    return existsSync(this.absolutePath(hash));
  }

  /** The bytes of a stored blob, verified against its hash. */
  read(hash: string): Buffer {
    const bytes = readFileSync(this.absolutePath(hash));
    if (sha256(bytes) !== hash) throw new Error(`attachment blob ${hash} is corrupt (hash differs)`);
    return bytes;
  }

  /** Stores bytes (once per content) and returns where. Identical content is written only once. */
  put(bytes: Buffer): StoredBlob {
    const hash = sha256(bytes);
    const relative = AttachmentStore.relativePath(hash);
    const finalPath = join(this.dir, relative);
    if (this.verifiedExisting(finalPath, hash, bytes.length)) return { sha256: hash, path: relative, size: bytes.length };

    const tempDir = join(this.dir, TEMP_DIR);
    mkdirSync(tempDir, { recursive: true, mode: 0o700 });
    const tempPath = join(tempDir, `${hash}.${process.pid}.${randomBytes(6).toString('hex')}.part`);
    try {
      const fd = openSync(tempPath, 'wx', 0o600);
      try {
        let offset = 0;
        while (offset < bytes.length) offset += writeSync(fd, bytes, offset, bytes.length - offset);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      if (sha256(readFileSync(tempPath)) !== hash) throw new Error('attachment write could not be verified (hash of the written file differs)');
      this.options.beforeCommit?.(tempPath);
      mkdirSync(join(this.dir, relative, '..'), { recursive: true, mode: 0o700 });
      renameSync(tempPath, finalPath);
    } catch (error) {
      try {
        unlinkSync(tempPath);
      } catch {
        // already renamed or never created
      }
      throw error;
    }
    return { sha256: hash, path: relative, size: bytes.length };
  }

  private verifiedExisting(path: string, hash: string, size: number): boolean {
    try {
      if (statSync(path).size !== size) return false;
      return sha256(readFileSync(path)) === hash;
    } catch {
      return false;
    }
  }

  /**
   * Why nothing can be written here, or undefined when a file can be created: a sync asks once per
   * run, before any download, instead of failing each download the same way.
   */
  writeProblem(): string | undefined {
    try {
      const tempDir = join(this.dir, TEMP_DIR);
      mkdirSync(tempDir, { recursive: true, mode: 0o700 });
      const probe = join(tempDir, `probe.${process.pid}.${randomBytes(6).toString('hex')}`);
      closeSync(openSync(probe, 'wx', 0o600));
      unlinkSync(probe);
      return undefined;
    } catch (error) {
      const failure = error as NodeJS.ErrnoException;
      const code = failure.code ?? (error instanceof Error ? error.message : String(error));
      return `cannot write the attachments folder ${this.dir} (${code}${failure.syscall ? ` on ${failure.syscall}` : ''}): make it writable by the user that runs crm-mail, or set CRM_GMAIL_ATTACHMENTS_DIR to a folder that is`;
    }
  }

  /**
   * Removes temp files left by writes that never finished (a crash); returns how many. A file goes
   * when it is older than `olderThanMs`, or, given `isWriterAlive`, when the process named in its
   * name (`<sha256>.<pid>.<random>.part`) is gone: a live writer's file is never touched.
   */
  sweepTemp(olderThanMs = 60 * 60 * 1000, isWriterAlive?: (pid: number) => boolean): number {
    const tempDir = join(this.dir, TEMP_DIR);
    let removed = 0;
    let entries: string[];
    try {
      entries = readdirSync(tempDir);
    } catch {
      return 0;
    }
    const cutoff = Date.now() - olderThanMs;
    for (const name of entries) {
      const path = join(tempDir, name);
      const pid = Number(/^[0-9a-f]{64}\.(\d+)\.[0-9a-f]+\.part$/.exec(name)?.[1] ?? NaN);
      const writerGone = isWriterAlive !== undefined && Number.isInteger(pid) && pid > 0 && !isWriterAlive(pid);
      try {
        if (writerGone || statSync(path).mtimeMs <= cutoff) {
          unlinkSync(path);
          removed++;
        }
      } catch {
        // raced with another sweeper
      }
    }
    return removed;
  }
}

/**
 * The parts of a message as a fresh messages.get (format=full) shows them: a current attachment id
 * for parts Gmail holds back, or the bytes for small parts it sends inline (which have no id).
 */
export type AttachmentIdResolver = (gmailId: string) => Promise<ResolvedPart[]>;

export interface ResolvedPart {
  partId: string;
  attachmentId?: string | null;
  size?: number | null;
  /** The part's bytes when Gmail sent them inline. */
  data?: Buffer | null;
}

/** The resolver answer for a parsed format=full message: use as `resolve: async (id) => resolvedParts(await parseGmailMessage(...))`. */
export function resolvedParts(message: { attachments: Array<{ partId: string; gmailAttachmentId?: string; size: number; content?: Buffer }> }): ResolvedPart[] {
  return message.attachments.map((a) => ({ partId: a.partId, attachmentId: a.gmailAttachmentId ?? null, size: a.size, data: a.content ?? null }));
}

export interface DownloadOptions {
  accountId: number;
  concurrency: number;
  /** Larger attachments are recorded as skipped with their size, never downloaded. */
  maxBytes: number;
  /** Failed rows are retried on later runs until they have failed this often. Default 5. */
  maxAttempts?: number;
  /**
   * Gmail attachment ids are ephemeral: when a row has no id (it came from format=raw) or the fetch
   * answers 404/400 for a stale one, this is asked once per message for current ids.
   */
  resolve?: AttachmentIdResolver;
  /** At most this many rows per run. */
  limit?: number;
}

export interface DownloadResult {
  stored: number;
  skipped: number;
  failed: number;
  /** The distinct reasons of this run's failures (at most three), for the run's line and status. */
  reasons: string[];
}

const MAX_REASONS = 3;

function isStaleIdError(error: unknown): boolean {
  const e = error as { kind?: string; status?: number; code?: number | string };
  return e?.kind === 'not_found' || e?.kind === 'permanent' || e?.status === 404 || e?.status === 400 || e?.code === 404 || e?.code === 400;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Downloads every pending (or earlier failed) attachment of one account, `concurrency` at a time.
 * Each row ends stored, skipped (over the cap) or failed (attempts counted, retried next run).
 */
export async function downloadPendingAttachments(
  db: Db,
  store: AttachmentStore,
  fetch: (gmailId: string, attachmentId: string) => Promise<Buffer>,
  opts: DownloadOptions,
): Promise<DownloadResult> {
  const result: DownloadResult = { stored: 0, skipped: 0, failed: 0, reasons: [] };
  const rows = listPendingAttachments(db, opts.accountId, opts.maxAttempts ?? 5, opts.limit);
  const resolved = new Map<string, Promise<Map<string, ResolvedPart>>>();
  const currentParts = (gmailId: string): Promise<Map<string, ResolvedPart>> => {
    let pending = resolved.get(gmailId);
    if (!pending) {
      pending = opts.resolve!(gmailId).then((parts) => new Map(parts.map((p) => [p.partId, p])));
      resolved.set(gmailId, pending);
    }
    return pending;
  };

  /** The part as Gmail shows it now: bytes (inline) or a fresh attachment id. */
  const refresh = async (row: PendingAttachment): Promise<{ bytes?: Buffer; attachmentId?: string }> => {
    if (!opts.resolve) throw new Error('no Gmail attachment id for this part, and no way to look one up');
    const part = (await currentParts(row.gmailId)).get(row.partId);
    if (typeof part?.size === 'number') row.size = part.size;
    if (part?.data) return { bytes: part.data };
    if (!part?.attachmentId) throw new Error(`Gmail no longer lists part ${row.partId || '(root)'} of message ${row.gmailId} as an attachment`);
    setGmailAttachmentId(db, row.id, part.attachmentId);
    return { attachmentId: part.attachmentId };
  };

  const skip = (row: PendingAttachment, size: number): void => {
    markAttachmentSkipped(db, row.id, size, `larger than the ${opts.maxBytes}-byte cap`);
    result.skipped++;
  };

  const handle = async (row: PendingAttachment): Promise<void> => {
    if (row.size !== null && row.size > opts.maxBytes) return skip(row, row.size);
    try {
      let bytes: Buffer | undefined;
      let attachmentId = row.gmailAttachmentId ?? undefined;
      let fromResolver = false;
      if (!attachmentId) {
        ({ bytes, attachmentId } = await refresh(row));
        fromResolver = true;
        if (row.size !== null && row.size > opts.maxBytes) return skip(row, row.size);
      }
      if (!bytes) {
        try {
          bytes = await fetch(row.gmailId, attachmentId!);
        } catch (error) {
          // Ids are ephemeral: one fresh look at the message, then one more try.
          if (!opts.resolve || fromResolver || !isStaleIdError(error)) throw error;
          const fresh = await refresh(row);
          bytes = fresh.bytes ?? (await fetch(row.gmailId, fresh.attachmentId!));
        }
      }
      if (bytes.length > opts.maxBytes) return skip(row, bytes.length);
      markAttachmentStored(db, row.id, store.put(bytes));
      result.stored++;
    } catch (error) {
      const reason = describe(error);
      markAttachmentFailed(db, row.id, reason);
      result.failed++;
      if (result.reasons.length < MAX_REASONS && !result.reasons.includes(reason)) result.reasons.push(reason);
    }
  };

  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < rows.length) await handle(rows[next++]!);
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(opts.concurrency, rows.length)) }, worker));
  return result;
}

/** Stores bytes already in hand (parsed from format=raw) for one attachment row, honouring the cap. */
export function storeAttachmentNow(db: Db, store: AttachmentStore, rowId: number, bytes: Buffer, maxBytes: number): 'stored' | 'skipped' {
  if (bytes.length > maxBytes) {
    markAttachmentSkipped(db, rowId, bytes.length, `larger than the ${maxBytes}-byte cap`);
    return 'skipped';
  }
  markAttachmentStored(db, rowId, store.put(bytes));
  return 'stored';
}
