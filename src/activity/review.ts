/**
 * Review decisions. A proposal is decided once: approve appends the (possibly edited) line to the
 * investor's notes and marks the proposal, both in one IMMEDIATE transaction; the status change is
 * conditional on the proposal still being pending, so two reviewers racing produce exactly one
 * decision and one appended line. The loser gets a ConflictError naming who decided and when.
 */
import { ConflictError, NotFoundError, UsageError } from '../errors.js';
import type { Db } from '../db/open.js';
import { nowIso } from '../db/open.js';
import { appendInvestorNote } from '../db/fundraising.js';
import { decideProposal, findUserByEmail, getProposal, type CrmUser, type Proposal } from '../db/proposals.js';
import { cleanEditedNote, stampedLine } from './noteLine.js';

/** The reviewer, who must be an active CRM user: from --as, else CRM_MAIL_USER. */
export function resolveReviewer(db: Db, email: string | undefined): CrmUser {
  if (!email || email.trim() === '') {
    throw new UsageError('say who is reviewing: --as <your CRM email>, or set CRM_MAIL_USER.');
  }
  const user = findUserByEmail(db, email);
  if (!user) throw new NotFoundError(`no CRM user has the email ${email.trim()}; the reviewer must be a user of the CRM.`);
  if (!user.isActive) throw new UsageError(`${user.email} is not an active CRM user; only active users can review proposals.`);
  return user;
}

export function displayName(user: Pick<CrmUser, 'name' | 'email'>): string {
  return user.name && user.name.trim() !== '' ? user.name.trim() : user.email;
}

function alreadyDecided(proposal: Proposal): ConflictError {
  if (proposal.status === 'withdrawn') {
    return new ConflictError(`proposal ${proposal.id} was withdrawn at ${proposal.withdrawnAt ?? 'an unknown time'} (${proposal.withdrawnReason ?? 'its mail was purged'}); nothing changed.`);
  }
  const who = proposal.decidedByName
    ? `${proposal.decidedByName} <${proposal.decidedByEmail}>`
    : proposal.decidedByEmail ?? (proposal.decidedBy !== null ? `user #${proposal.decidedBy}` : 'someone');
  return new ConflictError(`proposal ${proposal.id} was already ${proposal.status} by ${who} at ${proposal.decidedAt ?? 'an unknown time'}; nothing changed.`);
}

function requireProposal(db: Db, id: number): Proposal {
  const proposal = getProposal(db, id);
  if (!proposal) throw new NotFoundError(`there is no proposal ${id} (see crm-mail review list).`);
  return proposal;
}

export interface DecisionResult {
  proposal: Proposal;
  /** The line appended to the investor's notes (approve only). */
  appendedLine?: string;
  edited: boolean;
}

/** Approves a pending proposal; `note` replaces the drafted text (same one-line rules). */
export function approveProposal(db: Db, id: number, reviewer: CrmUser, note?: string, now: Date = new Date()): DecisionResult {
  const finalText = note === undefined ? undefined : cleanEditedNote(note);
  if (finalText === '') throw new UsageError('the edited note is empty; approve with text, or dismiss the proposal.');
  const run = db.transaction((): DecisionResult => {
    const proposal = requireProposal(db, id);
    if (proposal.status !== 'pending') throw alreadyDecided(proposal);
    const text = finalText ?? proposal.draftedNote;
    const edited = finalText !== undefined && finalText !== proposal.draftedNote;
    const line = stampedLine(text, displayName(reviewer));
    const at = nowIso(now);
    if (!decideProposal(db, { id, status: 'approved', userId: reviewer.id, at, finalNote: line, editedNote: edited ? text : null })) {
      throw alreadyDecided(requireProposal(db, id));
    }
    appendInvestorNote(db, proposal.investorId, line, reviewer.id, at);
    return { proposal: requireProposal(db, id), appendedLine: line, edited };
  });
  return run.immediate();
}

export function dismissProposal(db: Db, id: number, reviewer: CrmUser, now: Date = new Date()): DecisionResult {
  const run = db.transaction((): DecisionResult => {
    const proposal = requireProposal(db, id);
    if (proposal.status !== 'pending') throw alreadyDecided(proposal);
    if (!decideProposal(db, { id, status: 'dismissed', userId: reviewer.id, at: nowIso(now), finalNote: null, editedNote: null })) {
      throw alreadyDecided(requireProposal(db, id));
    }
    return { proposal: requireProposal(db, id), edited: false };
  });
  return run.immediate();
}

/** The text a list shows for a proposal: what was appended, else the edit, else the draft. */
export function currentNote(proposal: Proposal): string {
  return proposal.finalNote ?? proposal.editedNote ?? proposal.draftedNote;
}

/** The JSON shape of `review list --json` (a stable contract for scripts). */
export function proposalJson(proposal: Proposal): Record<string, unknown> {
  return {
    id: proposal.id,
    status: proposal.status,
    investorId: proposal.investorId,
    investorName: proposal.investorName,
    messageId: proposal.rfcMessageId ?? proposal.messageKey,
    messageKey: proposal.messageKey,
    emailId: proposal.emailId,
    subject: proposal.subject,
    direction: proposal.direction,
    messageDate: proposal.messageDateMs === null ? null : new Date(proposal.messageDateMs).toISOString(),
    note: currentNote(proposal),
    draftedNote: proposal.draftedNote,
    editedNote: proposal.editedNote,
    drafter: proposal.drafter,
    model: proposal.model,
    tokensIn: proposal.tokensIn,
    tokensOut: proposal.tokensOut,
    createdAt: proposal.createdAt,
    decidedBy: proposal.decidedByEmail,
    decidedAt: proposal.decidedAt,
    withdrawnReason: proposal.withdrawnReason,
    withdrawnAt: proposal.withdrawnAt,
    copiesDiffer: proposal.copiesDiffer === 1,
    unverifiedSender: proposal.unverifiedSender === 1,
  };
}
