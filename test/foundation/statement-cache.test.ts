import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { openDatabase, statement } from '../../src/db/open.js';
import { tempDir } from '../helpers/tmp.js';

describe('statement cache', () => {
  it('prepares a statement once per connection and keeps it usable', () => {
    const dir = tempDir();
    const first = openDatabase(join(dir, 'a.db'));
    const second = openDatabase(join(dir, 'b.db'));
    first.exec('CREATE TABLE t (x INTEGER)');
    second.exec('CREATE TABLE t (x INTEGER)');
    const insert = statement(first, 'INSERT INTO t (x) VALUES (?)');
    expect(statement(first, 'INSERT INTO t (x) VALUES (?)')).toBe(insert);
    expect(statement(second, 'INSERT INTO t (x) VALUES (?)')).not.toBe(insert);
    insert.run(1);
    statement(first, 'INSERT INTO t (x) VALUES (?)').run(2);
    expect(statement(first, 'SELECT count(*) AS n FROM t').get()).toEqual({ n: 2 });
    expect(statement(second, 'SELECT count(*) AS n FROM t').get()).toEqual({ n: 0 });
    first.close();
    second.close();
  });

  it('stays bounded when statements are generated (IN lists of every length)', () => {
    const db = openDatabase(join(tempDir(), 'c.db'));
    db.exec('CREATE TABLE t (x INTEGER)');
    const firstOne = statement(db, 'SELECT x FROM t WHERE x IN (?)');
    for (let n = 2; n <= 400; n += 1) statement(db, `SELECT x FROM t WHERE x IN (${Array(n).fill('?').join(', ')})`);
    // The cache was cleared on the way, so the first statement is prepared anew (a different object).
    expect(statement(db, 'SELECT x FROM t WHERE x IN (?)')).not.toBe(firstOne);
    db.close();
  });
});
