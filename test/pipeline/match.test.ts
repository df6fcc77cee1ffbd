import { describe, expect, it } from 'vitest';
import { isPersonalDomain, normalizeAddress, parseAddressCell, registeredDomain } from '../../src/mail/addresses.js';
import { InvestorIndex, buildQueries, domainFromFirm, splitQuery, type InvestorRecord, type MatchableMessage } from '../../src/match/investorIndex.js';
import { parseRaw } from '../../src/mail/parse.js';

const msg = (from: string, to: string[] = [], cc: string[] = [], bcc: string[] = [], replyTo: string[] = []): MatchableMessage => ({
  from: { address: from },
  to: to.map((address) => ({ address })),
  cc: cc.map((address) => ({ address })),
  bcc: bcc.map((address) => ({ address })),
  replyTo: replyTo.map((address) => ({ address })),
});

// The fixture CRM (fixtures/crm-seed.sql) plus cases for the rules.
const INVESTORS: InvestorRecord[] = [
  { id: 1, name: 'Harborview Pension', email: '"Ann Lee" <ann.lee@harborview-pension.com>; ops@harborview-pension.com', firm: 'Harborview Pension Fund' },
  { id: 2, name: 'Cedar Family Office', email: 'CHARLES@CEDARFO.COM, maria@cedarfo.com', firm: 'Cedar Family Office' },
  { id: 3, name: 'Angel: Sam Ortiz', email: 'sam.ortiz@gmail.com', firm: null },
  { id: 4, name: 'Blue Mesa Endowment', email: 'Tom Reed <treed@bluemesa.edu>;;  ', firm: 'Blue Mesa University Endowment' },
  // Two investors at one bank: the domain is ambiguous.
  { id: 5, name: 'Bigbank Wealth', email: 'wealth@bigbank.com', firm: null },
  { id: 6, name: 'Bigbank Ventures', email: 'ventures@bigbank.com', firm: null },
  // A firm cell that names a domain; the partner invests privately from the workspace domain too.
  { id: 7, name: 'Summit LP', email: 'lp@summit.co.uk', firm: 'https://www.summit.co.uk/about' },
  { id: 8, name: 'Partner personal', email: 'li@northwind.vc', firm: null },
  { id: 9, name: 'Nobody', email: 'n/a', firm: 'TBD' },
];

const index = InvestorIndex.build(INVESTORS, { workspaceDomain: 'northwind.vc', exclusions: ['doctor@clinic.example', 'lawfirm.example'], personalDomains: ['family.example'] });
const JANE = 'jane@northwind.vc';

describe('addresses', () => {
  it('parses messy CRM cells', () => {
    expect(parseAddressCell('"Jane Roe" <jane@x.com>; bob@x.com, CHARLIE@Y.COM')).toEqual([
      { address: 'jane@x.com', name: 'Jane Roe' },
      { address: 'bob@x.com' },
      { address: 'charlie@y.com' },
    ]);
    expect(parseAddressCell('"Roe, Jane" <jane@x.com>\nmailto:Bob@X.com;; bob@x.com ;')).toEqual([{ address: 'jane@x.com', name: 'Roe, Jane' }, { address: 'bob@x.com' }]);
    expect(parseAddressCell('n/a')).toEqual([]);
    expect(parseAddressCell(null)).toEqual([]);
  });

  it('normalizes addresses and domains', () => {
    expect(normalizeAddress(' <Ann.Lee@Harborview-Pension.COM> ')).toBe('ann.lee@harborview-pension.com');
    expect(normalizeAddress('jdöe@mächine.example')).toBe('jdöe@xn--mchine-bua.example');
    expect(normalizeAddress('not an address')).toBe('');
  });

  it('finds the registered domain, including two-level national suffixes', () => {
    expect(registeredDomain('mail.fund.com')).toBe('fund.com');
    expect(registeredDomain('a@ir.eu.fund.com')).toBe('fund.com');
    expect(registeredDomain('x@mail.fund.co.uk')).toBe('fund.co.uk');
    expect(registeredDomain('fund.com.au')).toBe('fund.com.au');
    expect(registeredDomain('localhost')).toBe('localhost');
  });

  it('knows personal-mail domains, their national variants, and configured extras', () => {
    for (const domain of ['gmail.com', 'googlemail.com', 'outlook.com', 'hotmail.com', 'yahoo.com', 'icloud.com', 'me.com', 'proton.me', 'gmx.de', 'gmx.net', 'aol.com', 'yahoo.co.uk', 'hotmail.fr', 'web.de']) {
      expect(isPersonalDomain(domain), domain).toBe(true);
    }
    expect(isPersonalDomain('sam@gmail.com')).toBe(true);
    expect(isPersonalDomain('fund.com')).toBe(false);
    expect(isPersonalDomain('family.example', ['family.example'])).toBe(true);
    expect(isPersonalDomain('mail.family.example', ['family.example'])).toBe(true);
    expect(isPersonalDomain('box.it', ['box.*'])).toBe(true);
  });

  it('reads a domain from a firm cell only when it is one', () => {
    expect(domainFromFirm('https://www.summit.co.uk/about')).toBe('summit.co.uk');
    expect(domainFromFirm('fund.com')).toBe('fund.com');
    expect(domainFromFirm('Harborview Pension Fund')).toBe('');
    expect(domainFromFirm('Acme Inc.')).toBe('');
  });
});

describe('matching', () => {
  it('exact: a listed address, received', () => {
    expect(index.match(msg('ann.lee@harborview-pension.com', [JANE]), JANE)).toEqual({
      investors: [{ investorId: 1, strategy: 'exact', address: 'ann.lee@harborview-pension.com' }],
      direction: 'received',
    });
  });

  it('exact is case-insensitive and wins over domain for the same investor', () => {
    const result = index.match(msg(JANE, ['someone@harborview-pension.com', 'OPS@Harborview-Pension.com']), JANE);
    expect(result).toEqual({ investors: [{ investorId: 1, strategy: 'exact', address: 'ops@harborview-pension.com' }], direction: 'sent' });
  });

  it('domain: another person at the organization', () => {
    expect(index.match(msg(JANE, ['cfo@cedarfo.com']), JANE)).toEqual({ investors: [{ investorId: 2, strategy: 'domain', address: 'cfo@cedarfo.com' }], direction: 'sent' });
  });

  it('subdomain: mail.harborview-pension.com matches harborview-pension.com', () => {
    expect(index.match(msg('desk@mail.harborview-pension.com', [JANE]), JANE).investors).toEqual([{ investorId: 1, strategy: 'domain', address: 'desk@mail.harborview-pension.com' }]);
  });

  it('a domain named only by the firm cell matches (summit.co.uk), with its two-level suffix', () => {
    expect(index.match(msg('gp@ir.summit.co.uk', [JANE]), JANE).investors).toEqual([{ investorId: 7, strategy: 'domain', address: 'gp@ir.summit.co.uk' }]);
  });

  it('personal domain: only the exact address, never the domain', () => {
    expect(index.match(msg('sam.ortiz@gmail.com', [JANE]), JANE).investors).toEqual([{ investorId: 3, strategy: 'exact', address: 'sam.ortiz@gmail.com' }]);
    expect(index.match(msg('stranger@gmail.com', [JANE]), JANE).investors).toEqual([]);
  });

  it('own domain: the workspace domain is never an investor domain, and mail among partners is internal', () => {
    // Investor 8 lists a northwind.vc address: internal-only mail still never matches.
    expect(index.match(msg(JANE, ['li@northwind.vc', 'omar@northwind.vc']), JANE)).toEqual({ investors: [], direction: 'internal' });
    expect(index.match(msg('omar@northwind.vc', [JANE], ['ops@eu.northwind.vc']), JANE)).toEqual({ investors: [], direction: 'internal' });
    expect(index.terms()).not.toContain('northwind.vc');
  });

  it('ambiguous domain: two investors share it, neither matches by domain, both by exact address; it is reported', () => {
    expect(index.ambiguousDomains).toEqual([{ domain: 'bigbank.com', investorIds: [5, 6] }]);
    expect(index.match(msg('advisor@bigbank.com', [JANE]), JANE).investors).toEqual([]);
    expect(index.match(msg('wealth@bigbank.com', [JANE]), JANE).investors).toEqual([{ investorId: 5, strategy: 'exact', address: 'wealth@bigbank.com' }]);
  });

  it('exclusions: an excluded address or domain anywhere in the message blocks capture', () => {
    const doctor = index.match(msg('doctor@clinic.example', [JANE], ['ann.lee@harborview-pension.com']), JANE);
    expect(doctor.investors).toEqual([]);
    expect(doctor.excluded).toMatch(/doctor@clinic\.example/);
    const lawyer = index.match(msg(JANE, ['maria@cedarfo.com'], [], ['partner@mail.lawfirm.example']), JANE);
    expect(lawyer.excluded).toMatch(/lawfirm\.example/);
    const replyTo = index.match(msg('maria@cedarfo.com', [JANE], [], [], ['doctor@clinic.example']), JANE);
    expect(replyTo.excluded).toBeDefined();
  });

  it('CC and BCC count as participants', () => {
    expect(index.match(msg(JANE, ['omar@northwind.vc'], ['maria@cedarfo.com']), JANE).investors).toEqual([{ investorId: 2, strategy: 'exact', address: 'maria@cedarfo.com' }]);
    expect(index.match(msg(JANE, [], [], ['treed@bluemesa.edu', 'ann.lee@harborview-pension.com']), JANE)).toEqual({
      investors: [
        { investorId: 1, strategy: 'exact', address: 'ann.lee@harborview-pension.com' },
        { investorId: 4, strategy: 'exact', address: 'treed@bluemesa.edu' },
      ],
      direction: 'sent',
    });
  });

  it('display-name tricks: only the real address counts', async () => {
    const parsed = await parseRaw(Buffer.from('From: "ann.lee@harborview-pension.com" <attacker@evil.example>\r\nTo: "maria@cedarfo.com" <jane@northwind.vc>\r\nSubject: wire\r\n\r\nsend money\r\n'));
    expect(index.match(parsed, JANE)).toEqual({ investors: [], direction: 'received' });
    const real = await parseRaw(Buffer.from('From: "ceo@evil.example" <ann.lee@harborview-pension.com>\r\nTo: jane@northwind.vc\r\nSubject: hi\r\n\r\nhello\r\n'));
    expect(index.match(real, JANE).investors).toEqual([{ investorId: 1, strategy: 'exact', address: 'ann.lee@harborview-pension.com' }]);
  });

  it('reply-to alone never makes a match', () => {
    expect(index.match(msg('news@list.example', [JANE], [], [], ['maria@cedarfo.com']), JANE).investors).toEqual([]);
  });

  it('direction: sent from the account even at another domain, received otherwise', () => {
    const aliasIndex = InvestorIndex.build(INVESTORS, { workspaceDomain: 'northwind.vc' });
    expect(aliasIndex.match(msg('jane.doe@northwind-alias.com', ['maria@cedarfo.com']), 'jane.doe@northwind-alias.com').direction).toBe('sent');
    expect(aliasIndex.match(msg('maria@cedarfo.com', ['jane.doe@northwind-alias.com']), 'jane.doe@northwind-alias.com').direction).toBe('received');
  });

  it('investors without a readable address are listed, not guessed', () => {
    expect(index.investorsWithoutAddress).toEqual([9]);
  });
});

describe('generated cases', () => {
  // 200 investors at their own domains, every 10th also at gmail; random messages checked against the rules.
  const generated: InvestorRecord[] = Array.from({ length: 200 }, (_, i) => ({ id: i + 1, name: `Inv ${i}`, email: `p${i}@org${i}.com${i % 10 === 0 ? `; p${i}@gmail.com` : ''}`, firm: null }));
  const big = InvestorIndex.build(generated, { workspaceDomain: 'northwind.vc' });
  it('every listed address matches its own investor exactly, every colleague by domain, gmail strangers never', () => {
    for (let i = 0; i < 200; i++) {
      expect(big.match(msg(`p${i}@org${i}.com`, [JANE]), JANE).investors).toEqual([{ investorId: i + 1, strategy: 'exact', address: `p${i}@org${i}.com` }]);
      expect(big.match(msg(JANE, [`other${i}@sub.org${i}.com`]), JANE).investors).toEqual([{ investorId: i + 1, strategy: 'domain', address: `other${i}@sub.org${i}.com` }]);
      expect(big.match(msg(`q${i}@gmail.com`, [JANE]), JANE).investors).toEqual([]);
    }
  });
});

describe('Gmail search queries', () => {
  it('cover each unambiguous domain and every listed address outside those domains', () => {
    const terms = index.terms();
    expect(terms).toEqual(expect.arrayContaining(['harborview-pension.com', 'cedarfo.com', 'bluemesa.edu', 'summit.co.uk', 'sam.ortiz@gmail.com', 'wealth@bigbank.com', 'ventures@bigbank.com']));
    expect(terms).not.toContain('ann.lee@harborview-pension.com'); // covered by its domain
    expect(terms).not.toContain('gmail.com');
    expect(terms).not.toContain('li@northwind.vc');
    const queries = index.searchQueries();
    expect(queries).toHaveLength(1);
    expect(queries[0]).toContain('from:cedarfo.com to:cedarfo.com cc:cedarfo.com bcc:cedarfo.com');
    expect(queries[0]!.startsWith('{')).toBe(true);
    // The exclusions ride along as negative terms, so Gmail never returns their mail.
    expect(queries[0]).toMatch(/\} -from:doctor@clinic\.example -to:doctor@clinic\.example -cc:doctor@clinic\.example -bcc:doctor@clinic\.example -from:lawfirm\.example /);
  });

  it('carry the same negative terms in every chunk, within the length bound, and keep at least half of it for positive terms', () => {
    const terms = Array.from({ length: 300 }, (_, i) => `person${i}@org${i}.com`);
    const exclusions = Array.from({ length: 40 }, (_, i) => `excluded${i}.example`);
    const queries = buildQueries(terms, 600, exclusions);
    expect(queries.length).toBeGreaterThan(10);
    const negatives = queries[0]!.slice(queries[0]!.indexOf('} ') + 2);
    expect(negatives.length).toBeLessThanOrEqual(300);
    expect(negatives).toMatch(/^-from:excluded0\.example -to:excluded0\.example -cc:excluded0\.example -bcc:excluded0\.example/);
    for (const q of queries) {
      expect(q.length).toBeLessThanOrEqual(600);
      expect(q.endsWith(negatives)).toBe(true);
    }
    const found = queries.join(' ').match(/(?<!-)from:(\S+)/g)!.map((m) => m.slice(5));
    expect(found).toEqual(terms);
    expect(InvestorIndex.build([], { workspaceDomain: 'northwind.vc' }).exclusionSearch()).toBe('');
  });

  it('are chunked to the length bound without losing a term', () => {
    const terms = Array.from({ length: 300 }, (_, i) => `person${i}@org${i}.com`);
    const queries = buildQueries(terms, 500);
    expect(queries.length).toBeGreaterThan(10);
    for (const q of queries) expect(q.length).toBeLessThanOrEqual(500);
    const found = queries.join(' ').match(/from:(\S+)/g)!.map((m) => m.slice(5));
    expect(found).toEqual(terms);
  });

  it('split a refused search into two halves with the same negatives, down to one term, never losing one', () => {
    const terms = ['a.com', 'b.com', 'c@d.com', 'e.org', 'f.net'];
    const [query] = buildQueries(terms, 5000, ['x.example']);
    const split = splitQuery(query!);
    expect(split).toEqual({ parts: [buildQueries(terms.slice(0, 3), 5000, ['x.example'])[0], buildQueries(terms.slice(3), 5000, ['x.example'])[0]] });
    expect(splitQuery(buildQueries(['only@one.com'], 5000, ['x.example'])[0]!)).toEqual({ term: 'only@one.com' });
    // capture=all: negatives only, nothing to split.
    expect(splitQuery('-from:x.example -to:x.example -cc:x.example -bcc:x.example')).toBeUndefined();
    expect(splitQuery('')).toBeUndefined();
  });

  it('queriesForTerms builds queries for new terms only, and skips unsafe ones', () => {
    expect(index.queriesForTerms(['new.fund.com'])).toEqual([`{from:new.fund.com to:new.fund.com cc:new.fund.com bcc:new.fund.com} ${index.exclusionSearch()}`]);
    expect(index.exclusionSearch()).toMatch(/^-from:doctor@clinic\.example .* -bcc:lawfirm\.example$/);
    expect(index.queriesForTerms(['a"b@x.com} OR in:anywhere'])).toEqual([]);
  });
});
