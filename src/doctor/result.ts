/** What one doctor check says: a level, what it found, and (unless OK) what to do about it. */
export type CheckLevel = 'OK' | 'WARN' | 'FAIL';

export interface CheckResult {
  /** Stable identifier (scripts and the README's troubleshooting table use it). */
  name: string;
  level: CheckLevel;
  message: string;
  /** The fix, as a command or an exact step; absent when there is nothing to do. */
  fix?: string;
}

export function ok(name: string, message: string): CheckResult {
  return { name, level: 'OK', message };
}

export function warn(name: string, message: string, fix: string): CheckResult {
  return { name, level: 'WARN', message, fix };
}

export function fail(name: string, message: string, fix: string): CheckResult {
  return { name, level: 'FAIL', message, fix };
}

/** A FAIL when the setting is needed now (integration on), a WARN while the integration is still off. */
export function failOrWarn(needed: boolean, name: string, message: string, fix: string): CheckResult {
  return needed ? fail(name, message, fix) : warn(name, message, fix);
}

export function hasFailure(results: readonly CheckResult[]): boolean {
  return results.some((result) => result.level === 'FAIL');
}
