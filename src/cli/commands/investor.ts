/**
 * `crm-mail investor <id|name>`: one investor's story from the captured mail, in date order: its
 * conversations (bulk and internal-only mail left out, as in `crm-mail investors`), the notes
 * partners approved and the proposals still waiting.
 */
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { investorsMatching } from '../investorTerm.js';
import { inertLine } from '../output.js';
import { UsageError } from '../../errors.js';
import type { TimelinePerson, TimelineProposal, TimelineThread } from '../../db/investorTimeline.js';

const EXAMPLES = `
Examples:
  $ crm-mail investor 12
  $ crm-mail investor "harborview pension"     # any case; part of a name works when only one investor has it
  $ crm-mail investor 12 --json

Oldest first. A thread's line is dated by its last message and says which way the mail went
(inbound, outbound, two-way), which partners' mailboxes hold it, the investor's people on it, the
subject and how many attachments it has. Open one with: crm-mail thread <id>.`;

export type TimelineEntry =
  | { kind: 'thread'; dateMs: number; thread: TimelineThread }
  | { kind: 'note' | 'proposal'; dateMs: number; proposal: TimelineProposal };

/** Threads, approved notes and pending proposals on one time line; ties keep threads first. */
export function mergeTimeline(threads: TimelineThread[], proposals: TimelineProposal[]): TimelineEntry[] {
  const entries: TimelineEntry[] = [
    ...threads.map((thread) => ({ kind: 'thread' as const, dateMs: thread.lastMs, thread })),
    ...proposals.map((proposal) => ({
      kind: proposal.status === 'approved' ? ('note' as const) : ('proposal' as const),
      dateMs: proposal.messageDateMs ?? Date.parse(proposal.createdAt),
      proposal,
    })),
  ];
  const order = { thread: 0, note: 1, proposal: 2 };
  return entries.sort((a, b) => a.dateMs - b.dateMs || order[a.kind] - order[b.kind]);
}

export function registerInvestor(program: Command, ctx: CliContext): void {
  program
    .command('investor')
    .description("one investor's timeline: conversations, approved notes and pending proposals, oldest first")
    .argument('<id|name>', 'investor id, exact name (any case), or a part of the name only one investor has')
    .addHelpText('after', EXAMPLES)
    .action(async (term: string) => {
      const { investorThreads, investorProposals } = await import('../../db/investorTimeline.js');
      if (term.trim() === '') throw new UsageError('give an investor id or name.');
      const db = ctx.db();
      const found = investorsMatching(db, term);
      if (found.length > 1) {
        const list = found.map((investor) => `  #${investor.id} ${inertLine(investor.name)}`).join('\n');
        throw new UsageError(`"${inertLine(term)}" matches ${found.length} investors; give the id of one:\n${list}`);
      }
      const investor = found[0]!;
      const entries = mergeTimeline(investorThreads(db, investor.id), investorProposals(db, investor.id));
      if (ctx.out.json) return ctx.out.data({ investor: { id: investor.id, name: inertLine(investor.name) }, entries: entries.map(entryJson) });
      ctx.out.line(`Investor #${investor.id} ${inertLine(investor.name)}`);
      if (entries.length === 0) return ctx.out.line('No captured conversations, notes or proposals yet.');
      for (const entry of entries) ctx.out.line(entryLine(entry));
      const count = (kind: TimelineEntry['kind'], one: string, many: string): string => {
        const n = entries.filter((entry) => entry.kind === kind).length;
        return `${n} ${n === 1 ? one : many}`;
      };
      ctx.out.line(
        `${count('thread', 'conversation', 'conversations')}, ${count('note', 'approved note', 'approved notes')}, ${count('proposal', 'pending proposal', 'pending proposals')}; ` +
          'open a conversation with: crm-mail thread <id>',
      );
    });
}

function day(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

export function directionOf(thread: TimelineThread): 'two-way' | 'inbound' | 'outbound' {
  if (thread.inbound > 0 && thread.outbound > 0) return 'two-way';
  return thread.inbound > 0 ? 'inbound' : 'outbound';
}

function names(people: TimelinePerson[]): string {
  return people.map((person) => inertLine(person.name).trim() || inertLine(person.address)).join(', ') || '-';
}

function entryLine(entry: TimelineEntry): string {
  if (entry.kind === 'thread') {
    const thread = entry.thread;
    const id = thread.threadId === null ? '' : ` #${thread.threadId}`;
    const attachments = thread.attachments > 0 ? `, ${thread.attachments} attachment${thread.attachments === 1 ? '' : 's'}` : '';
    return (
      `${day(entry.dateMs)}  thread${id}  ${directionOf(thread)}  ${inertLine(thread.subject).trim() || '(no subject)'}` +
      `  [${thread.messages} message${thread.messages === 1 ? '' : 's'}${attachments}; partners: ${names(thread.partners)}; their people: ${names(thread.people)}]`
    );
  }
  const proposal = entry.proposal;
  const label = entry.kind === 'note' ? `note (approved by ${inertLine(proposal.decidedBy) || 'unknown'})` : `proposal #${proposal.id} pending`;
  return `${day(entry.dateMs)}  ${label}  ${inertLine(proposal.note)}`;
}

function personJson(person: TimelinePerson): { address: string; name: string | null } {
  return { address: inertLine(person.address), name: person.name === null ? null : inertLine(person.name) };
}

function entryJson(entry: TimelineEntry): Record<string, unknown> {
  if (entry.kind === 'thread') {
    const thread = entry.thread;
    return {
      kind: 'thread',
      date: new Date(entry.dateMs).toISOString(),
      firstDate: new Date(thread.firstMs).toISOString(),
      threadId: thread.threadId,
      direction: directionOf(thread),
      subject: thread.subject === null ? null : inertLine(thread.subject),
      messages: thread.messages,
      inbound: thread.inbound,
      outbound: thread.outbound,
      attachments: thread.attachments,
      partners: thread.partners.map(personJson),
      people: thread.people.map(personJson),
    };
  }
  const proposal = entry.proposal;
  return {
    kind: entry.kind,
    date: new Date(entry.dateMs).toISOString(),
    proposalId: proposal.id,
    status: proposal.status,
    note: inertLine(proposal.note),
    decidedBy: proposal.decidedBy === null ? null : inertLine(proposal.decidedBy),
    decidedAt: proposal.decidedAt,
  };
}
