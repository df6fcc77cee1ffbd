/**
 * `--investor <id|name>` as every listing command takes it: an id, the exact name in any case, or a
 * part of the name. One place, so the commands agree on what a term matches and how "none" reads.
 */
import { NotFoundError } from '../errors.js';
import type { Db } from '../db/open.js';
import { findInvestors, type InvestorRef } from '../db/threadsView.js';
import { inertLine, type Output } from './output.js';

/** The investors a term names; none is an error that says what a term may be. */
export function investorsMatching(db: Db, term: string): InvestorRef[] {
  const investors = findInvestors(db, term);
  if (investors.length === 0) throw new NotFoundError(`no investor matches "${inertLine(term)}" (give an id, the exact name, or part of it).`);
  return investors;
}

/** The ids a filter term keeps; several matches are kept and named on stderr, so a loose term is visible. */
export function investorIdsFor(db: Db, term: string, out: Output): number[] {
  const investors = investorsMatching(db, term);
  if (investors.length > 1) out.info(`investors matching "${inertLine(term)}": ${investors.map((i) => `${inertLine(i.name)} (#${i.id})`).join(', ')}`);
  return investors.map((investor) => investor.id);
}
