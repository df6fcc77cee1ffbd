import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { inertLine } from '../output.js';
import { ConflictError, EXIT, UsageError } from '../../errors.js';
import type { Db } from '../../db/open.js';
import type { CrmUser, Proposal, ProposalStatus, StoredEmail } from '../../db/proposals.js';
import { cleanBlock, cleanLine, newPartOfBody, truncate } from '../../activity/text.js';

const EXAMPLES = `
Examples:
  $ crm-mail review --as jane@northwind.vc            # interactive, oldest pending first
  $ crm-mail review list --status pending --json
  $ crm-mail review approve 12 --as jane@northwind.vc --note "2026-11-28 · Sent · Jane Doe ↔ Ann Lee: Sent the Fund III deck."
  $ crm-mail review dismiss 13 --as jane@northwind.vc

The reviewer (--as, else CRM_MAIL_USER) must be an active CRM user. Approve appends the note, stamped
"— approved by <name>", to the investor's notes (newest at the bottom). In the edit line, Esc or an
empty note goes back to the menu without deciding; Enter on the unchanged draft approves it.
A message whose sender no mailbox holds as sent and Gmail did not authenticate (no DKIM or SPF pass
for the From domain) is marked [unverified sender]: its From header may be forged.
Exit codes: 0 ok, 2 usage (no reviewer, inactive reviewer, no terminal), 7 unknown proposal or reviewer,
8 already decided (the message says by whom and when), 130 interactive review interrupted with Ctrl-C
(decisions made before it stay).`;

const STATUSES: readonly ProposalStatus[] = ['pending', 'approved', 'dismissed', 'withdrawn'];

function parseId(text: string): number {
  if (!/^\d+$/.test(text)) throw new UsageError(`proposal id must be a number (got ${JSON.stringify(text)}); see crm-mail review list.`);
  return Number(text);
}

function reviewerEmail(ctx: CliContext, options: { as?: string }): string | undefined {
  return options.as ?? ctx.config.reviewer;
}

export function registerReview(program: Command, ctx: CliContext): void {
  const review = program
    .command('review')
    .description('review drafted activity notes: approve (appends to the investor notes), edit, or dismiss')
    .option('--as <email>', 'reviewer: your CRM user email (default $CRM_MAIL_USER)')
    .addHelpText('after', EXAMPLES)
    // A word after `review` that is no subcommand reaches this action; refuse it as the unknown command it is.
    .allowExcessArguments(true)
    .action(async (options: { as?: string }, command: Command) => {
      if (command.args.length > 0) {
        throw new UsageError(`unknown command 'review ${command.args[0]}': use review, review list, review approve <id> or review dismiss <id> (crm-mail review --help).`);
      }
      const { resolveReviewer } = await import('../../activity/review.js');
      const db = ctx.db();
      const reviewer = resolveReviewer(db, reviewerEmail(ctx, options));
      if (!process.stdin.isTTY || !process.stdout.isTTY) {
        throw new UsageError('interactive review needs a terminal; in scripts use: crm-mail review list | approve <id> | dismiss <id>.');
      }
      await interactiveReview(ctx, db, reviewer);
    });

  review
    .command('list')
    .description('list proposals (default: pending), oldest first')
    .option('--status <status>', 'pending, approved, dismissed, withdrawn or all', 'pending')
    .option('--limit <n>', 'at most this many')
    .addHelpText('after', '\nExamples:\n  $ crm-mail review list\n  $ crm-mail review list --status approved --json')
    .action(async (options: { status: string; limit?: string }) => {
      const status = options.status.toLowerCase();
      if (status !== 'all' && !STATUSES.includes(status as ProposalStatus)) throw new UsageError(`--status must be one of ${STATUSES.join(', ')}, all.`);
      if (options.limit !== undefined && !/^\d+$/.test(options.limit)) throw new UsageError('--limit must be a whole number.');
      const { listProposals } = await import('../../db/proposals.js');
      const { proposalJson, currentNote } = await import('../../activity/review.js');
      const proposals = listProposals(ctx.db(), { status: status === 'all' ? undefined : (status as ProposalStatus), limit: options.limit === undefined ? undefined : Number(options.limit) });
      if (ctx.out.json) return ctx.out.data(proposals.map(proposalJson));
      if (proposals.length === 0) return ctx.out.line(`no ${status === 'all' ? '' : status + ' '}proposals`);
      for (const proposal of proposals) {
        const marks = `${proposal.unverifiedSender === 1 ? '  [unverified sender]' : ''}${proposal.copiesDiffer === 1 ? '  [copies differ]' : ''}`;
        ctx.out.line(`#${proposal.id}  ${proposal.status.padEnd(9)} ${inertLine(proposal.investorName)}: ${inertLine(currentNote(proposal))}${decisionSuffix(proposal)}${marks}`);
      }
    });

  review
    .command('approve <id>')
    .description('approve a proposal: append its note (or --note) to the investor notes')
    .option('--as <email>', 'reviewer: your CRM user email (default $CRM_MAIL_USER)')
    .option('--note <text>', 'the note to append instead of the drafted one (one line)')
    .addHelpText('after', '\nExamples:\n  $ crm-mail review approve 12 --as jane@northwind.vc\n  $ crm-mail review approve 12 --as jane@northwind.vc --note "2026-11-28 · Sent · Jane Doe ↔ Ann Lee: Deck sent."')
    .action(async (idText: string, options: { as?: string; note?: string }, command: Command) => {
      const id = parseId(idText);
      const { resolveReviewer, approveProposal, proposalJson } = await import('../../activity/review.js');
      const db = ctx.db();
      const reviewer = resolveReviewer(db, reviewerEmail(ctx, { as: options.as ?? (command.optsWithGlobals() as { as?: string }).as }));
      const result = approveProposal(db, id, reviewer, options.note);
      if (ctx.out.json) return ctx.out.data({ ...proposalJson(result.proposal), appendedLine: result.appendedLine, edited: result.edited });
      ctx.out.line(`approved #${id}; appended to ${inertLine(result.proposal.investorName)}'s notes:`);
      ctx.out.line(`  ${inertLine(result.appendedLine)}`);
    });

  review
    .command('dismiss <id>')
    .description('dismiss a proposal (nothing is written to the investor notes)')
    .option('--as <email>', 'reviewer: your CRM user email (default $CRM_MAIL_USER)')
    .addHelpText('after', '\nExamples:\n  $ crm-mail review dismiss 13 --as jane@northwind.vc')
    .action(async (idText: string, options: { as?: string }, command: Command) => {
      const id = parseId(idText);
      const { resolveReviewer, dismissProposal, proposalJson } = await import('../../activity/review.js');
      const db = ctx.db();
      const reviewer = resolveReviewer(db, reviewerEmail(ctx, { as: options.as ?? (command.optsWithGlobals() as { as?: string }).as }));
      const result = dismissProposal(db, id, reviewer);
      if (ctx.out.json) return ctx.out.data(proposalJson(result.proposal));
      ctx.out.line(`dismissed #${id} (${inertLine(result.proposal.investorName)})`);
    });
}

/** Who decided and when, for a decided proposal in `review list`: "  [approved by Jane Doe <jane@x>, 2026-11-29 09:00 UTC]". */
export function decisionSuffix(proposal: { status: string; decidedAt: string | null; decidedByName: string | null; decidedByEmail: string | null }): string {
  if (proposal.status === 'pending' || proposal.decidedAt === null) return '';
  const who = proposal.decidedByName ? `${inertLine(proposal.decidedByName)} <${inertLine(proposal.decidedByEmail)}>` : inertLine(proposal.decidedByEmail ?? 'unknown user');
  return `  [${proposal.status} by ${who}, ${proposal.decidedAt.slice(0, 16).replace('T', ' ')} UTC]`;
}

interface Tally {
  approved: number;
  edited: number;
  dismissed: number;
  skipped: number;
  conflicts: number;
}

type Action = 'approve' | 'edit' | 'dismiss' | 'skip' | 'open' | 'quit';

function isPromptExit(error: unknown): boolean {
  return error instanceof Error && (error.name === 'ExitPromptError' || error.name === 'AbortPromptError');
}

/** @inquirer/prompts throws ExitPromptError when the partner presses Ctrl-C. */
function isInterrupt(error: unknown): boolean {
  return error instanceof Error && error.name === 'ExitPromptError';
}

type InputPrompt = typeof import('@inquirer/prompts').input;

/** What became of an edit: the note to approve, back to the menu (Esc, or nothing left), or Ctrl-C. */
type EditOutcome = { kind: 'note'; text: string } | { kind: 'cancelled' } | { kind: 'interrupted' };

/**
 * The draft on an editable line. input() answers its default when the line is empty, so clearing
 * the draft would approve it unchanged: what the line showed when Enter was pressed (the last
 * value drawn before validation runs) tells "emptied" from "accepted as is". Esc aborts the prompt
 * through its AbortSignal.
 */
async function editNote(input: InputPrompt, draft: string): Promise<EditOutcome> {
  const controller = new AbortController();
  const onKey = (_text: string, key?: { name?: string }): void => {
    if (key?.name === 'escape') controller.abort();
  };
  process.stdin.on('keypress', onKey);
  let onLine = draft;
  let onLineAtEnter = draft;
  try {
    const answer = await input(
      {
        message: 'Esc or an empty note goes back to the menu. Note (edit, then Enter):',
        default: draft,
        prefill: 'editable',
        transformer: (value, { isFinal }) => {
          if (!isFinal) onLine = value;
          // The answer line left on screen: not the draft input() fell back to.
          return isFinal && onLineAtEnter.trim() === '' ? '(empty: nothing decided)' : value;
        },
        validate: () => {
          onLineAtEnter = onLine;
          return true;
        },
      },
      { signal: controller.signal },
    );
    return onLineAtEnter.trim() === '' || answer.trim() === '' ? { kind: 'cancelled' } : { kind: 'note', text: answer };
  } catch (error) {
    if (!isPromptExit(error)) throw error;
    return isInterrupt(error) ? { kind: 'interrupted' } : { kind: 'cancelled' };
  } finally {
    process.stdin.off('keypress', onKey);
  }
}

async function interactiveReview(ctx: CliContext, db: Db, reviewer: CrmUser): Promise<void> {
  const { expand, input } = await import('@inquirer/prompts');
  const { listProposals, getProposal, loadProposalEmail, loadSourceEmail } = await import('../../db/proposals.js');
  const { approveProposal, dismissProposal, displayName } = await import('../../activity/review.js');
  const { describePeople } = await import('../../activity/propose.js');
  const out = ctx.out;
  const pending = listProposals(db, { status: 'pending' });
  out.line(`Reviewing as ${displayName(reviewer)} <${reviewer.email}>: ${pending.length} pending proposal${pending.length === 1 ? '' : 's'}, oldest first.`);
  const tally: Tally = { approved: 0, edited: 0, dismissed: 0, skipped: 0, conflicts: 0 };

  const choices = [
    { key: 'a', name: 'approve (append to the investor notes)', value: 'approve' },
    { key: 'e', name: 'edit the note, then approve', value: 'edit' },
    { key: 'd', name: 'dismiss', value: 'dismiss' },
    { key: 's', name: 'skip for now', value: 'skip' },
    { key: 'o', name: 'open the whole message', value: 'open' },
    { key: 'q', name: 'quit', value: 'quit' },
  ] as const;

  let quit = false;
  for (let index = 0; index < pending.length && !quit; index++) {
    const proposal = getProposal(db, pending[index]!.id);
    if (!proposal || proposal.status !== 'pending') continue; // decided elsewhere meanwhile
    const email = loadProposalEmail(db, proposal);
    const source = loadSourceEmail(db, proposal.messageKey, proposal.investorId);
    const people = source ? describePeople(db, source) : undefined;
    out.line('');
    out.line(`── ${index + 1} of ${pending.length} · proposal #${proposal.id} ${'─'.repeat(40)}`);
    out.line(describeProposal(proposal, email, people));
    for (;;) {
      let action: Action;
      try {
        action = await expand<Action>({ message: 'Decision', choices: choices.map((choice) => ({ ...choice })), expanded: true });
      } catch (error) {
        if (!isPromptExit(error)) throw error;
        if (isInterrupt(error)) ctx.exitCode = EXIT.interrupted;
        action = 'quit';
      }
      if (action === 'open') {
        out.line(wholeMessage(email));
        continue;
      }
      try {
        if (action === 'approve') {
          const result = approveProposal(db, proposal.id, reviewer);
          tally.approved++;
          out.line(`✔ approved; appended: ${result.appendedLine}`);
        } else if (action === 'edit') {
          const edit = await editNote(input, proposal.draftedNote);
          if (edit.kind === 'interrupted') {
            ctx.exitCode = EXIT.interrupted;
            quit = true;
            break;
          }
          if (edit.kind === 'cancelled') {
            out.line('edit cancelled: nothing decided, back to the menu');
            continue;
          }
          const result = approveProposal(db, proposal.id, reviewer, edit.text);
          if (result.edited) tally.edited++;
          else tally.approved++;
          out.line(`✔ approved${result.edited ? ' (edited)' : ''}; appended: ${result.appendedLine}`);
        } else if (action === 'dismiss') {
          dismissProposal(db, proposal.id, reviewer);
          tally.dismissed++;
          out.line('✖ dismissed');
        } else if (action === 'skip') {
          tally.skipped++;
        } else {
          quit = true;
        }
      } catch (error) {
        if (!(error instanceof ConflictError)) throw error;
        tally.conflicts++;
        out.line(`! ${error.message}`);
      }
      break;
    }
  }
  const left = listProposals(db, { status: 'pending' }).length;
  out.line('');
  out.line(
    `Summary: approved ${tally.approved}, edited ${tally.edited}, dismissed ${tally.dismissed}, skipped ${tally.skipped}` +
      `${tally.conflicts > 0 ? `, already decided by someone else ${tally.conflicts}` : ''}; ${left} still pending.`,
  );
}

interface AddressJson {
  address?: unknown;
  name?: unknown;
}

function addressList(json: string | null): string {
  if (!json) return '';
  try {
    const items = JSON.parse(json) as unknown;
    if (!Array.isArray(items)) return '';
    return (items as AddressJson[])
      .filter((item) => item && typeof item.address === 'string')
      .map((item) => (typeof item.name === 'string' && item.name ? `${item.name} <${item.address as string}>` : (item.address as string)))
      .join(', ');
  } catch {
    return '';
  }
}

const UNVERIFIED_SENDER_WARNING =
  'unverified sender: Gmail recorded no DKIM or SPF pass for the From domain and no mailbox holds it as sent, so the From header may be forged';

/** What a reviewer should know before trusting a proposal's message. */
function proposalWarnings(proposal: Proposal): string[] {
  const warnings: string[] = [];
  if (proposal.unverifiedSender === 1) warnings.push(UNVERIFIED_SENDER_WARNING);
  if (proposal.copiesDiffer === 1) warnings.push('the mailbox copies of this message do not all read the same (crm-mail messages shows each)');
  return warnings;
}

function describeProposal(proposal: Proposal, email: StoredEmail | undefined, people?: { partners: string[]; contacts: string[] }): string {
  const date = proposal.messageDateMs === null ? 'unknown date' : new Date(proposal.messageDateMs).toISOString().replace('T', ' ').slice(0, 16) + ' UTC';
  const direction = proposal.direction === 'sent' ? 'Sent (by the firm)' : proposal.direction === 'received' ? 'Received (by the firm)' : String(proposal.direction);
  const lines = [
    `Investor:  ${cleanLine(proposal.investorName, 100)} (#${proposal.investorId})`,
    `Date:      ${date}   Direction: ${direction}`,
  ];
  if (people) {
    lines.push(`Partners:  ${cleanLine(people.partners.join(', '), 200)}`);
    lines.push(`Contacts:  ${cleanLine(people.contacts.join(', '), 200)}`);
  }
  if (email) {
    const from = email.fromName ? `${email.fromName} <${email.fromAddress}>` : (email.fromAddress ?? '');
    lines.push(`From:      ${cleanLine(from, 160)}`);
    lines.push(`To:        ${cleanLine(addressList(email.toJson), 300)}`);
    const cc = addressList(email.ccJson);
    if (cc) lines.push(`Cc:        ${cleanLine(cc, 300)}`);
    lines.push(`Subject:   ${cleanLine(email.subject, 200)}`);
    const first = cleanBlock(newPartOfBody(email.bodyText ?? email.snippet ?? ''))
      .split('\n')
      .filter((line) => line.trim() !== '')
      .slice(0, 4)
      .map((line) => `  │ ${truncate(line, 100)}`);
    lines.push('Message:', ...(first.length > 0 ? first : ['  │ (no text)']));
  } else {
    lines.push('(the message is no longer stored)');
  }
  for (const warning of proposalWarnings(proposal)) lines.push(`Warning:   ${warning}`);
  lines.push(`Drafted:   ${cleanLine(proposal.draftedNote, 400)}`);
  lines.push(`           by the ${proposal.drafter} drafter${proposal.model ? ` (${cleanLine(proposal.model, 80)})` : ''}`);
  return lines.join('\n');
}

function wholeMessage(email: StoredEmail | undefined): string {
  if (!email) return '(the message is no longer stored)';
  const header = [
    `Message-ID: ${cleanLine(email.rfcMessageId, 200)}`,
    `Date:       ${cleanLine(email.dateHeader ?? new Date(email.internalDateMs).toISOString(), 100)}`,
    `From:       ${cleanLine(email.fromName ? `${email.fromName} <${email.fromAddress}>` : email.fromAddress, 200)}`,
    `To:         ${cleanLine(addressList(email.toJson), 1000)}`,
    `Cc:         ${cleanLine(addressList(email.ccJson), 1000)}`,
    `Subject:    ${cleanLine(email.subject, 500)}`,
  ];
  const rule = '─'.repeat(60);
  return [rule, ...header, '', cleanBlock(email.bodyText ?? email.snippet ?? '(no text stored)'), rule].join('\n');
}
