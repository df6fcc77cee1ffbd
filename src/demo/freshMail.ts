/**
 * The mail that "arrives" during the demo, after the backfill: written from the generated firm so
 * names and addresses line up with the CRM. Each message is delivered to every partner mailbox it
 * concerns (sender's copy labelled SENT, recipients' INBOX), as Gmail would hold it.
 */
import type { Scenario, ScenarioInvestor } from '../emulator/index.js';
import { buildMessage, formatAddress, formatDate, gmailAuthenticationResults, pdfLike } from '../emulator/scenario/rfc822.js';

export interface Delivery {
  /** One line for the demo's narration. */
  summary: string;
  messageId: string;
  /** Partner mailbox -> labels of its copy. */
  copies: Array<{ mailbox: string; labelIds: string[] }>;
  raw: Buffer;
  /** Investor mail that should become a proposal (newsletters should not). */
  proposable: boolean;
  hasAttachment: boolean;
}

interface Person {
  name: string;
  email: string;
}

/** The display name the generated mail gives an address (the generator writes `Name <address>`). */
function nameInMail(scenario: Scenario, email: string): string | undefined {
  const pattern = new RegExp(`[,:]\\s*"?([^"<>,\\r\\n]+?)"?\\s*<${email.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}>`, 'i');
  for (const copies of Object.values(scenario.mailboxes)) {
    for (const copy of copies) {
      const head = copy.raw.toString('utf8').split('\r\n\r\n')[0]!;
      const found = head.match(pattern)?.[1]?.trim();
      if (found) return decodeWords(found);
    }
  }
  return undefined;
}

/** RFC 2047 B-encoded UTF-8 words, as the generator writes non-ASCII names. */
function decodeWords(text: string): string {
  return text.replace(/=\?UTF-8\?B\?([^?]*)\?=/gi, (_, data: string) => Buffer.from(data, 'base64').toString('utf8'));
}

function personOf(scenario: Scenario, investor: ScenarioInvestor, index = 0): Person {
  const email = investor.contacts[index] ?? investor.contacts[0]!;
  if (investor.firm === null) return { name: investor.name, email };
  const local = email.split('@')[0]!.replace(/[._-]+/g, ' ').replace(/\b\w/g, (char) => char.toUpperCase());
  return { name: nameInMail(scenario, email) ?? local, email };
}

function messageId(tag: string, now: number, domain: string): string {
  return `<demo-${tag}-${now.toString(36)}@${domain}>`;
}

/** The subject and Message-ID of the newest investor message of `investorId` in a mailbox, to reply to. */
function lastMessageWith(scenario: Scenario, mailbox: string, investorId: number): { messageId: string; subject: string; references: string[] } | undefined {
  const copies = scenario.mailboxes[mailbox] ?? [];
  for (let index = copies.length - 1; index >= 0; index--) {
    const copy = copies[index]!;
    if (copy.truth.kind !== 'investor' || !copy.truth.investorIds.includes(investorId)) continue;
    const head = copy.raw.toString('utf8').split('\r\n\r\n')[0]!;
    const subject = head.match(/^Subject: (.*(?:\r\n[ \t].*)*)/m)?.[1]?.replace(/\r\n[ \t]/g, ' ') ?? '';
    const hints = copy.threadHints;
    return { messageId: copy.truth.messageId, subject, references: [...hints.parents.map((id) => `<${id}>`), copy.truth.messageId] };
  }
  return undefined;
}

/**
 * Four messages dated `now`: an investor writing to one partner with another in CC (one message,
 * two mailboxes), a partner sending a data-room letter with an attachment, an angel replying in an
 * old thread, and an investor's newsletter (bulk: captured, never proposed).
 */
export function freshInvestorMail(scenario: Scenario, now: number): Delivery[] {
  const [first, second, third] = scenario.partners as Array<{ email: string; name: string }>;
  if (!first || !second || !third) throw new Error('the demo firm needs three partners');
  const institutions = scenario.investors.filter((investor) => investor.firm !== null && investor.domains.length > 0);
  const angels = scenario.investors.filter((investor) => investor.firm === null);
  const [lp, prospect, publisher] = institutions;
  if (!lp || !prospect || !publisher) throw new Error('the demo firm needs three institutional investors');
  const domain = scenario.domain;
  const date = formatDate(now);
  const deliveries: Delivery[] = [];

  const lpPerson = personOf(scenario, lp);
  const secondCloseId = messageId('second-close', now, lp.domains[0]!);
  deliveries.push({
    summary: `${lpPerson.email} -> ${first.email}, cc ${second.email}: timing of the second close`,
    messageId: secondCloseId,
    copies: [
      { mailbox: first.email, labelIds: ['INBOX', 'UNREAD', 'IMPORTANT'] },
      { mailbox: second.email, labelIds: ['INBOX', 'UNREAD'] },
    ],
    proposable: true,
    hasAttachment: false,
    raw: buildMessage({
      headers: [
        gmailAuthenticationResults(lpPerson.email),
        ['From', formatAddress(lpPerson)],
        ['To', formatAddress(first)],
        ['Cc', formatAddress(second)],
        ['Subject', `${scenario.firmName} Fund III: timing of the second close`],
        ['Date', date],
        ['Message-ID', secondCloseId],
      ],
      text: [
        `Hi ${first.name.split(' ')[0]},`,
        '',
        `Our investment committee approved a commitment of $15M to Fund III this morning. Could you confirm the date of the second close and send the subscription documents? ${second.name.split(' ')[0]}, copying you for the side letter.`,
        '',
        'Best regards,',
        lpPerson.name,
        lp.firm ?? '',
      ].join('\n'),
      attachments: [],
      boundarySeed: 'demo1',
    }),
  });

  const prospectPerson = personOf(scenario, prospect);
  const dataRoomId = messageId('data-room', now, domain);
  deliveries.push({
    summary: `${second.email} -> ${prospectPerson.email}, cc ${third.email}: data room access, with the Q3 LP letter`,
    messageId: dataRoomId,
    copies: [
      { mailbox: second.email, labelIds: ['SENT'] },
      { mailbox: third.email, labelIds: ['INBOX', 'UNREAD'] },
    ],
    proposable: true,
    hasAttachment: true,
    raw: buildMessage({
      headers: [
        ['From', formatAddress(second)],
        ['To', formatAddress(prospectPerson)],
        ['Cc', formatAddress(third)],
        ['Subject', 'Fund III data room access'],
        ['Date', date],
        ['Message-ID', dataRoomId],
      ],
      text: [
        `Dear ${prospectPerson.name.split(' ')[0]},`,
        '',
        `Thank you for the call on Tuesday. You now have access to the Fund III data room; the Q3 LP letter is attached. ${third.name.split(' ')[0]} can walk your team through the portfolio metrics next week.`,
        '',
        'Kind regards,',
        second.name,
      ].join('\n'),
      attachments: [{ filename: 'Q3 LP Letter.pdf', mimeType: 'application/pdf', content: pdfLike('Q3 LP Letter', 48_000, 42) }],
      boundarySeed: 'demo2',
    }),
  });

  const angel = angels.find((candidate) => lastMessageWith(scenario, third.email, candidate.id)) ?? angels[0];
  if (angel) {
    const earlier = lastMessageWith(scenario, third.email, angel.id);
    const angelPerson = personOf(scenario, angel);
    const replyId = messageId('angel-reply', now, 'mail.demo');
    const subject = earlier ? (/^re:/i.test(earlier.subject) ? earlier.subject : `Re: ${earlier.subject}`) : 'Following up on Fund III';
    const headers: Array<[string, string]> = [
      gmailAuthenticationResults(angelPerson.email),
      ['From', formatAddress(angelPerson)],
      ['To', formatAddress(third)],
      ['Subject', subject],
      ['Date', date],
      ['Message-ID', replyId],
    ];
    if (earlier) headers.push(['In-Reply-To', earlier.messageId], ['References', earlier.references.join(' ')]);
    deliveries.push({
      summary: `${angelPerson.email} -> ${third.email}: a reply in an existing thread`,
      messageId: replyId,
      copies: [{ mailbox: third.email, labelIds: ['INBOX', 'UNREAD'] }],
      proposable: true,
      hasAttachment: false,
      raw: buildMessage({
        headers,
        text: [
          `${third.name.split(' ')[0]} - I'm in for $250k in Fund III. Please send the wire instructions.`,
          '',
          angelPerson.name,
          '',
          ...(earlier ? [`On an earlier day, ${third.name} <${third.email}> wrote:`, '> Thanks for your interest in Fund III.', '> Happy to share the deck and answer questions.', '> Best,', `> ${third.name}`] : []),
        ].join('\n'),
        attachments: [],
        boundarySeed: 'demo3',
      }),
    });
  }

  const host = publisher.domains[0]!;
  const newsletterId = messageId('newsletter', now, host);
  deliveries.push({
    summary: `news@${host} -> ${first.email}: the investor's newsletter (bulk: captured, not proposed)`,
    messageId: newsletterId,
    copies: [{ mailbox: first.email, labelIds: ['INBOX', 'CATEGORY_UPDATES'] }],
    proposable: false,
    hasAttachment: false,
    raw: buildMessage({
      headers: [
        gmailAuthenticationResults(`news@${host}`),
        ['From', formatAddress({ name: `${publisher.firm} Insights`, email: `news@${host}` })],
        ['To', formatAddress(first)],
        ['Subject', `${publisher.firm} Insights: private markets in the fourth quarter`],
        ['Date', date],
        ['Message-ID', newsletterId],
        ['List-Unsubscribe', `<mailto:unsubscribe@${host}>`],
        ['List-Id', `Insights <insights.${host}>`],
        ['Precedence', 'bulk'],
      ],
      text: 'This quarter: secondaries pricing, the denominator effect, and our outlook for venture distributions.\n\nUnsubscribe: reply with "unsubscribe".',
      attachments: [],
      boundarySeed: 'demo4',
    }),
  });
  return deliveries;
}
