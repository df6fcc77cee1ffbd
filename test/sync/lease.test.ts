import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { acquireLease, currentLease, pidIsAlive, releaseLease, renewLease } from '../../src/db/lease.js';
import { openDatabase } from '../../src/db/open.js';
import { tempDir } from '../helpers/tmp.js';
import { migratedDb } from './db.js';

const dir = tempDir('crm-mail-lease-');

describe('sync lease', () => {
  it('lets one holder in, refuses a second until release, and names the holder', async () => {
    const db = await migratedDb(join(dir, 'a.db'));
    const first = acquireLease(db, { pid: 111, host: 'h1', ttlMs: 60_000 });
    expect(first.acquired).toBe(true);
    const second = acquireLease(db, { pid: 222, host: 'h2', ttlMs: 60_000 });
    expect(second).toMatchObject({ acquired: false, holder: { pid: 111, host: 'h1' } });
    releaseLease(db, { pid: 222, host: 'h2' });
    expect(currentLease(db)?.pid).toBe(111);
    releaseLease(db, { pid: 111, host: 'h1' });
    expect(currentLease(db)).toBeUndefined();
    expect(acquireLease(db, { pid: 222, host: 'h2', ttlMs: 60_000 }).acquired).toBe(true);
  });

  it('is taken over once expired, and the old holder can no longer renew it', async () => {
    const db = await migratedDb(join(dir, 'b.db'));
    const t0 = new Date('2026-11-29T00:00:00Z');
    expect(acquireLease(db, { pid: 1, host: 'h', ttlMs: 1000, now: t0 }).acquired).toBe(true);
    expect(acquireLease(db, { pid: 2, host: 'other', ttlMs: 1000, now: new Date(t0.getTime() + 500) }).acquired).toBe(false);
    const later = acquireLease(db, { pid: 2, host: 'other', ttlMs: 1000, now: new Date(t0.getTime() + 1500) });
    expect(later).toMatchObject({ acquired: true, tookOverFrom: { pid: 1, host: 'h' } });
    expect(renewLease(db, { pid: 1, host: 'h', ttlMs: 1000 })).toBe(false);
    expect(renewLease(db, { pid: 2, host: 'other', ttlMs: 1000 })).toBe(true);
  });

  it('takes over at once from a dead process on the same host, never from a live one', async () => {
    const db = await migratedDb(join(dir, 'c.db'));
    expect(acquireLease(db, { pid: 999_999, host: 'same', ttlMs: 60_000 }).acquired).toBe(true);
    const alive = acquireLease(db, { pid: 5, host: 'same', ttlMs: 60_000, isAlive: () => true });
    expect(alive.acquired).toBe(false);
    const dead = acquireLease(db, { pid: 5, host: 'same', ttlMs: 60_000, isAlive: (pid) => pid !== 999_999 });
    expect(dead).toMatchObject({ acquired: true, tookOverFrom: { pid: 999_999 } });
    expect(pidIsAlive(process.pid)).toBe(true);
  });

  it('admits exactly one of two connections racing for it', async () => {
    const path = join(dir, 'd.db');
    const db = await migratedDb(path);
    const other = openDatabase(path);
    const results = [acquireLease(db, { pid: 10, host: 'x', ttlMs: 60_000 }), acquireLease(other, { pid: 20, host: 'y', ttlMs: 60_000 })];
    expect(results.filter((result) => result.acquired)).toHaveLength(1);
    other.close();
  });
});
