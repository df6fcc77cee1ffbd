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

/**
 * Runs the compiled crm-mail (as a user would, through bin/) with a clean environment: only PATH
 * and HOME from the machine, so a developer's own CRM_* variables never leak into a test.
 */
export function runCli(args: string[], options: { env?: Record<string, string>; cwd?: string; input?: string; timeoutMs?: number } = {}): Promise<CliResult> {
  return runClean(BIN, args, { ...options, input: options.input ?? '', timeoutMs: options.timeoutMs ?? 120_000 });
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
