/**
 * Conversation templates ("plots") for the generator: who writes to whom at each step, and the
 * text, filled from a per-thread context. Each plot is a short thread; the generator picks how
 * many steps happen.
 */
import type { MessageKind } from './generate.js';

export type Role = 'P' | 'P2' | 'L' | 'L2' | 'I2' | 'X' | 'N';

export interface Ctx {
  p: string;
  p2: string;
  l: string;
  l2: string;
  i2: string;
  x: string;
  firm: string;
  firm2: string;
  ourFirm: string;
  fund: string;
  quarter: string;
  amount: string;
  dueDate: string;
  callNo: number;
  company: string;
  company2: string;
  company3: string;
  coinvestor: string;
  pct: number;
  irr: number;
  tvpi: string;
  day: string;
  day2: string;
  time: string;
  month: string;
  place: string;
  event: string;
  city: string;
  target: string;
  topic: string;
  week: number;
  l2Email: string;
}

export type AttachmentKey = 'lp-letter' | 'capital-call' | 'data-room-index' | 'ic-memo' | 'board-deck' | 'term-sheet' | 'photos';

export interface Step {
  from: Role;
  to: Role[];
  cc?: Role[];
  body: (c: Ctx) => string;
  attach?: AttachmentKey;
}

export interface Plot {
  kind: MessageKind;
  /** The plot involves a second investor (co-investment). */
  twoInvestors?: boolean;
  subject: (c: Ctx) => string;
  steps: Step[];
}

const sign = (name: string): string => `\n\nBest,\n${name}`;

export const INVESTOR_PLOTS: Plot[] = [
  {
    kind: 'investor',
    subject: (c) => `${c.fund} - ${c.quarter} LP letter`,
    steps: [
      {
        from: 'P', to: ['L'], cc: ['P2'], attach: 'lp-letter',
        body: (c) => `Dear ${c.l},\n\nPlease find attached our ${c.quarter} letter for ${c.fund}. A few highlights:\n\n- ${c.company} closed its Series B led by ${c.coinvestor}; we marked the position up ${c.pct}%.\n- We made two new investments this quarter, ${c.company2} and ${c.company3}.\n- Net IRR since inception stands at ${c.irr}%, TVPI ${c.tvpi}x.\n\nHappy to walk you through the numbers on a call.${sign(c.p)}`,
      },
      {
        from: 'L', to: ['P'], cc: ['L2'],
        body: (c) => `Thanks ${c.p}, this is helpful. Could you also send the updated capital account statement? Our investment committee meets on ${c.day} and I'd like to include it in the pack.\n\nRegards,\n${c.l}`,
      },
      {
        from: 'P', to: ['L'], cc: ['L2', 'P2'],
        body: (c) => `Of course. Our finance team will send the statement today, and I've copied ${c.l2} so it reaches the right inbox.${sign(c.p)}`,
      },
    ],
  },
  {
    kind: 'investor',
    subject: (c) => `Capital Call Notice #${c.callNo} - ${c.fund}`,
    steps: [
      {
        from: 'P', to: ['L'], attach: 'capital-call',
        body: (c) => `Dear ${c.l},\n\nThis is notice of capital call #${c.callNo} for ${c.fund}. Your share is ${c.amount}, due on ${c.dueDate}. Wire instructions are in the attached notice; please note they have not changed since the last call.\n\nThe proceeds fund our follow-on investment in ${c.company} and management fees for the period.\n\nKind regards,\n${c.p}`,
      },
      {
        from: 'L', to: ['P'], cc: ['L2'],
        body: (c) => `Confirming receipt, ${c.p}. Our treasury team (${c.l2}, copied) will wire by ${c.dueDate}.\n\n${c.l}`,
      },
      {
        from: 'L2', to: ['P'], cc: ['L'],
        body: (c) => `Hi ${c.p},\n\nThe wire for call #${c.callNo} went out this morning; the Fed reference is in our portal. Please confirm when it lands.\n\nThanks,\n${c.l2}`,
      },
    ],
  },
  {
    kind: 'investor',
    subject: (c) => `Data room access for ${c.fund} diligence`,
    steps: [
      {
        from: 'L', to: ['P'], cc: ['L2'],
        body: (c) => `Hi ${c.p},\n\nWe're moving forward with our diligence on ${c.fund}. Could you grant data room access to me and my colleague ${c.l2} (${c.l2Email})? We'd mainly like the track record, the LPA draft and the portfolio company updates.\n\nThanks,\n${c.l}\n${c.firm}`,
      },
      {
        from: 'P', to: ['L'], cc: ['L2', 'P2'], attach: 'data-room-index',
        body: (c) => `Hi ${c.l},\n\nDone - you should both have invitations from our data room provider. The index is attached. ${c.p2} can answer anything on the fintech positions.${sign(c.p)}`,
      },
      {
        from: 'L2', to: ['P'], cc: ['L'],
        body: (c) => `Thanks ${c.p}. One gap: we can't find the ${c.company} board materials from last year. Could you add them?\n\n${c.l2}`,
      },
    ],
  },
  {
    kind: 'investor',
    subject: (c) => `Catch-up in ${c.month}?`,
    steps: [
      {
        from: 'P', to: ['L'],
        body: (c) => `Hi ${c.l},\n\nIt's been a while. Would you have time for coffee or a call in the next couple of weeks? I'd love to update you on the portfolio and hear how ${c.firm} is thinking about next year's allocation.${sign(c.p)}`,
      },
      {
        from: 'L', to: ['P'],
        body: (c) => `Hi ${c.p}, good timing. ${c.day} at ${c.time} works, or the following ${c.day2} morning. ${c.place}?\n\n${c.l}`,
      },
      {
        from: 'P', to: ['L'],
        body: (c) => `${c.day} at ${c.time} it is - I'll send an invite for ${c.place}. Looking forward to it.\n\n${c.p}`,
      },
    ],
  },
  {
    kind: 'investor',
    subject: (c) => `Introduction: ${c.p} <> ${c.l} (${c.firm})`,
    steps: [
      {
        from: 'P', to: ['L'], cc: ['P2'],
        body: (c) => `Hi ${c.l},\n\nThank you for taking the time at ${c.event} last week. As promised, I'm introducing my partner ${c.p2}, who leads our fintech practice. We're raising ${c.fund} with a target of ${c.target} and a first close planned for ${c.month}.\n\nWould you be open to a 45-minute call with both of us?${sign(c.p)}`,
      },
      {
        from: 'L', to: ['P'], cc: ['P2'],
        body: (c) => `Thanks ${c.p}, and nice to meet you ${c.p2}. We're building our ${c.month} pipeline now. Could you send the deck ahead of the call? ${c.day} afternoon works on our side.\n\nBest regards,\n${c.l}`,
      },
    ],
  },
  {
    kind: 'investor',
    twoInvestors: true,
    subject: (c) => `${c.company} Series A - co-investment opportunity`,
    steps: [
      {
        from: 'P', to: ['L', 'I2'], cc: ['P2'], attach: 'term-sheet',
        body: (c) => `Hi ${c.l} and ${c.i2},\n\nAs LPs with co-investment rights, you are both invited to look at ${c.company}'s Series A alongside ${c.fund}. We are leading the round; the term sheet is attached. Allocation available to co-investors is ${c.amount} in total.\n\nWe'd need indications by ${c.dueDate}.${sign(c.p)}`,
      },
      {
        from: 'I2', to: ['P'], cc: ['L'],
        body: (c) => `Thanks ${c.p}. ${c.firm2} is interested. Could we get 30 minutes with the ${c.company} founders this week?\n\n${c.i2}`,
      },
      {
        from: 'L', to: ['P'], cc: ['I2'],
        body: (c) => `We'll pass on this one - it's outside our mandate - but please keep us in mind for the next one.\n\n${c.l}`,
      },
    ],
  },
];

export const INTERNAL_PLOTS: Plot[] = [
  {
    kind: 'internal',
    subject: (c) => `IC memo: ${c.company}`,
    steps: [
      { from: 'P', to: ['P2'], attach: 'ic-memo', body: (c) => `${c.p2},\n\nDraft IC memo for ${c.company} attached. Main open question is the gross margin path once they move off their current cloud credits. Can you review before Thursday?\n\n${c.p}` },
      { from: 'P2', to: ['P'], body: (c) => `Read it. I'd push harder on the churn cohort data - the ${c.quarter} numbers look flattering because of two large renewals. Otherwise supportive.\n\n${c.p2}` },
      { from: 'P', to: ['P2'], body: (c) => `Fair point, I'll add a cohort table. Thanks.\n\n${c.p}` },
    ],
  },
  {
    kind: 'internal',
    subject: (c) => `Pipeline review - week ${c.week}`,
    steps: [
      { from: 'P', to: ['P2'], body: (c) => `Team,\n\nFor Monday: ${c.company} (seed, strong founder), ${c.company2} (Series A, expensive) and ${c.company3} (pass unless the round changes). Please add yours to the tracker by Sunday night.\n\n${c.p}` },
      { from: 'P2', to: ['P'], body: (c) => `Added two. I'd like 10 minutes on ${c.company2}: the lead has asked us for a decision by Friday.\n\n${c.p2}` },
    ],
  },
  {
    kind: 'internal',
    subject: (c) => `${c.company} board deck comments`,
    steps: [
      { from: 'P2', to: ['P'], attach: 'board-deck', body: (c) => `${c.p},\n\nHere's the ${c.company} board deck for next week. Slides 7-9 (hiring plan) look aggressive given the runway. Worth raising with the CEO before the meeting?\n\n${c.p2}` },
      { from: 'P', to: ['P2'], body: (c) => `Agreed. I'll call her tomorrow and suggest we phase the plan by quarter.\n\n${c.p}` },
    ],
  },
  {
    kind: 'internal',
    subject: (c) => `Offsite agenda - ${c.city}`,
    steps: [
      { from: 'P', to: ['P2'], body: (c) => `Draft agenda for the ${c.city} offsite: fund strategy (Fri am), portfolio reviews (Fri pm), LP relations and the ${c.fund} fundraise (Sat am). Anything missing?\n\n${c.p}` },
      { from: 'P2', to: ['P'], body: (c) => `Let's add an hour on reserves. Otherwise looks good.\n\n${c.p2}` },
    ],
  },
];

export const PERSONAL_PLOTS: Plot[] = [
  {
    kind: 'personal',
    subject: () => 'Dinner Saturday?',
    steps: [
      { from: 'X', to: ['P'], body: (c) => `Hey ${c.p}!\n\nAre you two free for dinner on Saturday? We were thinking of trying the new place in Hayes Valley around 7.\n\n${c.x}` },
      { from: 'P', to: ['X'], body: (c) => `Sounds great, count us in. I'll bring wine.\n\n${c.p}` },
    ],
  },
  {
    kind: 'personal',
    subject: () => 'Photos from the weekend',
    steps: [
      { from: 'X', to: ['P'], attach: 'photos', body: (c) => `Hi ${c.p},\n\nAttached a few photos from the hike. The one at the summit came out really well!\n\nLove,\n${c.x}` },
      { from: 'P', to: ['X'], body: (c) => `These are wonderful, thank you! Framing the summit one.\n\n${c.p}` },
    ],
  },
  {
    kind: 'personal',
    subject: (c) => `Reminder: your appointment on ${c.day}`,
    steps: [{ from: 'X', to: ['P'], body: (c) => `Hello ${c.p},\n\nThis is a reminder of your appointment on ${c.day} at ${c.time}. Please reply to this email if you need to reschedule.\n\nThank you,\n${c.x}` }],
  },
  {
    kind: 'personal',
    subject: () => 'School pickup this week',
    steps: [
      { from: 'X', to: ['P'], body: (c) => `Hi ${c.p}, can you do pickup on ${c.day}? I have a late meeting. Thanks!\n\n${c.x}` },
      { from: 'P', to: ['X'], body: (c) => `Yes, I've got ${c.day}. I'll move my 4pm.\n\n${c.p}` },
    ],
  },
];

export const INVESTOR_NEWSLETTER: Plot = {
  kind: 'newsletter',
  subject: (c) => `${c.firm} Perspectives: ${c.topic}`,
  steps: [
    {
      from: 'N', to: ['P'],
      body: (c) => `${c.firm} Perspectives\n\nThis quarter we look at ${c.topic}. Our team spoke with more than thirty general partners about pacing, reserves and the exit environment, and summarised what we heard in five charts.\n\nRead the full piece on our website.\n\nYou are receiving this email because you subscribed to ${c.firm} Perspectives. Unsubscribe at any time using the link in this message.`,
    },
  ],
};

export const INDUSTRY_NEWSLETTER: Plot = {
  kind: 'newsletter',
  subject: (c) => `This week: ${c.topic}`,
  steps: [
    {
      from: 'N', to: ['P'],
      body: (c) => `Good morning,\n\nToday's issue: ${c.topic}; ${c.company} raises a new round; and three charts on fund sizes.\n\nForward this to a colleague who would enjoy it.\n\nManage your subscription or unsubscribe below.`,
    },
  ],
};
