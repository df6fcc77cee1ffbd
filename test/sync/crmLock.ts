/**
 * The CRM's web server as far as locking goes: another process that opens the CRM file (rollback
 * journal, as the CRM leaves it), takes the write lock with BEGIN IMMEDIATE and holds it for a while
 * or until told to let go. A separate process, because crm-mail's busy wait blocks its own thread.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { PROJECT_ROOT } from '../helpers/cli.js';

const HOLDER = `
const Database = require('better-sqlite3');
const [path, holdMs, when] = process.argv.slice(1);
const db = new Database(path, { fileMustExist: true });
db.pragma('busy_timeout = 30000');
const ready = () => {
  if (when === 'now') return true;
  const row = db.prepare(when).get();
  return Boolean(row && Object.values(row)[0]);
};
const lock = () => {
  db.exec('BEGIN IMMEDIATE');
  db.prepare("INSERT OR REPLACE INTO app_settings (key, value) VALUES ('crm_web_session', ?)").run(String(Date.now()));
  process.stdout.write('locked\\n');
  const release = () => {
    db.exec('COMMIT');
    db.close();
    process.stdout.write('released\\n');
    process.exit(0);
  };
  if (Number(holdMs) > 0) setTimeout(release, Number(holdMs));
  process.stdin.on('data', release);
};
const poll = () => (ready() ? lock() : setTimeout(poll, 5));
poll();
`;

export interface CrmLock {
  /** Resolves once the lock is held. */
  locked: Promise<void>;
  /** Lets go now (for a hold without a fixed time). */
  release(): void;
  /** Resolves when the holder has committed and exited. */
  done: Promise<void>;
  child: ChildProcess;
}

/**
 * Holds the CRM's write lock for `holdMs` (0: until release()), taken at once or as soon as the
 * SQL `when` returns a truthy first column (e.g. once a sync has written its checkpoint).
 */
export function holdCrmLock(dbPath: string, options: { holdMs?: number; when?: string } = {}): CrmLock {
  const child = spawn(process.execPath, ['-e', HOLDER, dbPath, String(options.holdMs ?? 0), options.when ?? 'now'], { cwd: PROJECT_ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
  let output = '';
  let errors = '';
  child.stderr!.on('data', (chunk) => (errors += chunk));
  const locked = new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (chunk) => {
      output += chunk;
      if (output.includes('locked\n')) resolve();
    });
    child.on('exit', (code) => reject(new Error(`lock holder exited (${code}) before locking: ${errors}`)));
  });
  const done = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  return { locked, release: () => child.stdin!.write('release\n'), done, child };
}
