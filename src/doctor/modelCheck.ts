/**
 * Which drafter `crm-mail propose` will use, and whether its model file is there. With `--model`
 * the file's GGUF header is validated first (a malformed file can abort the process from native
 * code) and then the model is really loaded and released.
 */
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Config } from '../config.js';
import { fail, ok, warn, type CheckResult } from './result.js';

/** Validates and loads a model file; throws with a readable message when it cannot. */
export type ModelProbe = (path: string, threads: number | undefined) => Promise<{ summary: string }>;

export async function checkModel(config: Config, options: { load: boolean; probe?: ModelProbe }): Promise<CheckResult> {
  const path = config.modelPath;
  if (!path) {
    if (options.load) return fail('model', '--model was given but CRM_MAIL_MODEL is not set', 'set CRM_MAIL_MODEL to the path of a GGUF model file');
    if (config.drafter === 'rule') return ok('model', 'no model: notes are drafted by the rule drafter (CRM_MAIL_DRAFTER=rule)');
    return warn(
      'model',
      'no drafter configured: propose (and the step after each sync) will refuse to draft',
      'set CRM_MAIL_MODEL to a GGUF model file, or CRM_MAIL_DRAFTER=rule for the deterministic drafter',
    );
  }
  const absolute = resolve(path);
  let size: number;
  try {
    const stat = statSync(absolute);
    if (!stat.isFile()) return fail('model', `model ${absolute} is not a file`, 'point CRM_MAIL_MODEL at a .gguf file');
    size = stat.size;
  } catch {
    return fail('model', `model file ${absolute} does not exist`, 'check CRM_MAIL_MODEL (an absolute path is safest under cron)');
  }
  const drafterNote = config.drafter === 'rule' ? ' (CRM_MAIL_DRAFTER=rule: the rule drafter is used, not this model)' : '';
  if (!options.load) {
    return ok('model', `model file ${absolute} present (${formatMegabytes(size)})${drafterNote}; \`crm-mail doctor --model\` loads it`);
  }
  const probe = options.probe ?? (await import('./modelProbe.js')).probeModel;
  try {
    const { summary } = await probe(absolute, config.modelThreads);
    return ok('model', `model ${absolute} loads: ${summary}${drafterNote}`);
  } catch (error) {
    const message = (error as Error).message;
    return fail('model', message.includes(absolute) ? message : `model ${absolute} cannot be loaded: ${message}`, 'replace the file with a complete GGUF model (re-copy it; a truncated download is the usual cause)');
  }
}

export function formatMegabytes(bytes: number): string {
  return bytes < 1024 * 1024 ? `${(bytes / 1024).toFixed(0)} KB` : `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}
