/**
 * Runs the compiled crm-mail the way cron does (the package's bin/crm-mail), with a clean
 * environment, and measures the whole process: wall time from spawn to exit (startup included),
 * and on request its peak RSS (a preload that reports ru_maxrss) or a V8 CPU profile.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** dist/bench/lib/crm-cli.js -> the package root three folders up. */
export const PROJECT_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const BIN = join(PROJECT_ROOT, 'bin', 'crm-mail');
/** The launcher bin/crm-mail execs; spawned directly only to pass node flags NODE_OPTIONS refuses. */
const BIN_JS = join(PROJECT_ROOT, 'bin', 'crm-mail.js');
const PEAK_RSS_PRELOAD = join(dirname(fileURLToPath(import.meta.url)), 'peak-rss.js');

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
  wallMs: number;
  /** Peak resident set size in MiB (with `measureRss`). */
  peakRssMb?: number;
  /** CPU time (user + system) the process used, in ms (with `measureRss`). */
  cpuMs?: number;
  /** V8 heap still in use after a full collection at exit, and external memory, in MiB (with `measureRss`). */
  liveHeapAtExitMb?: number;
  externalAtExitMb?: number;
  /** Path of the .cpuprofile written (with `cpuProfileDir`). */
  cpuProfile?: string;
}

export interface CliRunOptions {
  env: Record<string, string>;
  measureRss?: boolean;
  /** Folder for the V8 CPU profile (node --cpu-prof); one profile per run. */
  cpuProfileDir?: string;
  timeoutMs?: number;
}

/** PATH must reach the same node that runs the suite: bin/crm-mail is a sh wrapper around `node`. */
function basePath(): string {
  return [dirname(process.execPath), process.env.PATH ?? ''].join(':');
}

export function runCrmMail(args: string[], options: CliRunOptions): Promise<CliRun> {
  const nodeOptions: string[] = [];
  const nodeFlags: string[] = [];
  const extraEnv: Record<string, string> = {};
  let rssFile: string | undefined;
  if (options.measureRss) {
    rssFile = join(options.env.CRM_MAIL_BENCH_TMP ?? '/tmp', `rss-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}.json`);
    nodeOptions.push('--expose-gc', `--import=${PEAK_RSS_PRELOAD}`);
    extraEnv.CRM_MAIL_BENCH_RSS_FILE = rssFile;
  }
  if (options.cpuProfileDir) {
    rmSync(options.cpuProfileDir, { recursive: true, force: true });
    mkdirSync(options.cpuProfileDir, { recursive: true });
    // Node 20 refuses --cpu-prof in NODE_OPTIONS: run the launcher the wrapper would exec, with the flags.
    nodeFlags.push('--cpu-prof', `--cpu-prof-dir=${options.cpuProfileDir}`);
  }
  const env: Record<string, string> = {
    PATH: basePath(),
    HOME: process.env.HOME ?? '/tmp',
    NO_PROXY: '127.0.0.1,localhost',
    NODE_LLAMA_CPP_SKIP_DOWNLOAD: 'true',
    ...options.env,
    ...extraEnv,
  };
  if (nodeOptions.length > 0) env.NODE_OPTIONS = [options.env.NODE_OPTIONS, ...nodeOptions].filter(Boolean).join(' ');

  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child =
      nodeFlags.length > 0
        ? spawn(process.execPath, [...nodeFlags, BIN_JS, '--', ...args], { cwd: PROJECT_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] })
        : spawn(BIN, args, { cwd: PROJECT_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 30 * 60_000);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code) => {
      const wallMs = performance.now() - started;
      clearTimeout(timer);
      const result: CliRun = { code: code ?? -1, stdout, stderr, wallMs };
      if (rssFile && existsSync(rssFile)) {
        const usage = JSON.parse(readFileSync(rssFile, 'utf8')) as { maxRssKb: number; cpuMs: number; liveHeapKb?: number; externalKb?: number };
        result.peakRssMb = usage.maxRssKb / 1024;
        result.cpuMs = usage.cpuMs;
        if (usage.liveHeapKb !== undefined) result.liveHeapAtExitMb = usage.liveHeapKb / 1024;
        if (usage.externalKb !== undefined) result.externalAtExitMb = usage.externalKb / 1024;
        rmSync(rssFile, { force: true });
      }
      if (options.cpuProfileDir) {
        const profile = readdirSync(options.cpuProfileDir).find((name) => name.endsWith('.cpuprofile'));
        if (profile) result.cpuProfile = join(options.cpuProfileDir, profile);
      }
      resolve(result);
    });
  });
}

/** Runs crm-mail and insists on an expected exit code (0 unless told), with its output in the error otherwise. */
export async function runCrmMailOk(args: string[], options: CliRunOptions, okCodes: number[] = [0]): Promise<CliRun> {
  const run = await runCrmMail(args, options);
  if (!okCodes.includes(run.code)) {
    throw new Error(`crm-mail ${args.join(' ')} exited ${run.code}:\n${run.stderr.slice(-2000)}\n${run.stdout.slice(-2000)}`);
  }
  return run;
}

/** Parses the JSON document a `--json` command printed on stdout. */
export function parseJson<T>(run: CliRun, what: string): T {
  try {
    return JSON.parse(run.stdout) as T;
  } catch {
    throw new Error(`${what}: stdout is not JSON:\n${run.stdout.slice(0, 2000)}\n${run.stderr.slice(-2000)}`);
  }
}
