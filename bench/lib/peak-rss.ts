/**
 * Preloaded into a spawned crm-mail (NODE_OPTIONS=--import) to learn its peak resident memory: at
 * exit it writes getrusage's ru_maxrss (the kernel's own high-water mark, in KiB) and the CPU time
 * used to the file named by CRM_MAIL_BENCH_RSS_FILE. Exact, unlike sampling /proc, and it changes
 * nothing in crm-mail.
 */
import { writeFileSync } from 'node:fs';

const target = process.env.CRM_MAIL_BENCH_RSS_FILE;
if (target) {
  process.on('exit', () => {
    const usage = process.resourceUsage();
    // With --expose-gc (the suite passes it), what is still alive after a full collection at exit:
    // memory a run keeps rather than memory the collector had not yet reclaimed.
    const collect = (globalThis as { gc?: () => void }).gc;
    collect?.();
    const memory = process.memoryUsage();
    writeFileSync(
      target,
      JSON.stringify({
        pid: process.pid,
        maxRssKb: usage.maxRSS,
        cpuMs: (usage.userCPUTime + usage.systemCPUTime) / 1000,
        liveHeapKb: collect ? Math.round(memory.heapUsed / 1024) : undefined,
        externalKb: collect ? Math.round(memory.external / 1024) : undefined,
      }),
    );
  });
}
