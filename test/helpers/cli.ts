import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

export const PROJECT_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** The package's bin: a shell wrapper that keeps Node 20 from taking --env-file for itself. */
export const BIN = join(PROJECT_ROOT, 'bin', 'crm-mail');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** The time crm-mail puts in front of each line off a terminal (README, "Log format"). */
export const LINE_STAMP = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z /gm;

/** The text without the leading time of each line, for tests about what the lines say. */
export function unstamped(text: string): string {
  return text.replace(LINE_STAMP, '');
}

/**
 * Runs the compiled crm-mail (as a user would, through bin/) with a clean environment: only PATH
 * and HOME from the machine, so a developer's own CRM_* variables never leak into a test. Its
 * output is not a terminal, so every line starts with the time; stdout and stderr come back with
 * those removed (`raw` keeps them).
 */
export function runCli(args: string[], options: { env?: Record<string, string>; cwd?: string; input?: string; timeoutMs?: number } = {}): Promise<CliResult & { raw: CliResult }> {
  return runClean(BIN, args, { ...options, input: options.input ?? '', timeoutMs: options.timeoutMs ?? 120_000 }).then((raw) => ({
    code: raw.code,
    stdout: unstamped(raw.stdout),
    stderr: unstamped(raw.stderr),
    raw,
  }));
}

/**
 * Runs any program with the same clean environment as runCli. Without `input` its stdin is closed
 * (ignored); without `timeoutMs` it may run as long as the test allows.
 */
export function runClean(
  command: string,
  args: string[],
  options: { env?: Record<string, string>; cwd?: string; input?: string; timeoutMs?: number } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd ?? PROJECT_ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', NODE_LLAMA_CPP_SKIP_DOWNLOAD: 'true', ...options.env },
      stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (chunk) => (stdout += chunk));
    child.stderr?.on('data', (chunk) => (stderr += chunk));
    const timer = options.timeoutMs === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), options.timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
    child.stdin?.end(options.input);
  });
}
