/** Name and word pools for the scenario generator (invented names; any resemblance is chance). */

export const FIRST_NAMES = [
  'Maya', 'David', 'Sofia', 'James', 'Priya', 'Lukas', 'Hannah', 'Omar', 'Grace', 'Daniel', 'Elena', 'Marcus', 'Aisha', 'Thomas',
  'Mei', 'Robert', 'Chloé', 'Samuel', 'Nadia', 'Henry', 'Isabel', 'Kenji', 'Laura', 'Michael', 'Zoë', 'Patrick', 'Ingrid', 'Victor',
  'Rachel', 'Andrés', 'Fiona', 'George', 'Leila', 'Oliver', 'Camille', 'Benjamin', 'Yuki', 'Charlotte', 'Ethan', 'Amara', 'Julian',
  'Nora', 'Felix', 'Sara', 'Adrian', 'Claire', 'Tobias', 'Helena', 'Rafael', 'Anna',
];

export const LAST_NAMES = [
  'Chen', 'Okafor', 'Ramirez', 'Whitfield', 'Natarajan', 'Berg', 'Cho', 'Haddad', 'Lindqvist', 'Mensah', 'Novak', 'Patel', 'Quinn',
  'Rossi', 'Sato', 'Turner', 'Vasquez', 'Weber', 'Young', 'Abernathy', 'Brennan', 'Castillo', 'Delacroix', 'Eriksen', 'Fischer',
  'Gallagher', 'Hoffman', 'Ivanova', 'Jensen', 'Kowalski', 'Larsen', 'Moreau', 'Nakamura', "O'Neill", 'Petrov', 'Reyes',
  'Schmidt', 'Takahashi', 'Van der Berg', 'Wallace', 'Müller', 'Nguyen', 'Osei', 'Park', 'Silva', 'Thompson', 'Ueda', 'Zhang',
];

export const INSTITUTION_WORDS = [
  'Harbor', 'Granite', 'Bluewater', 'Cedar', 'Summit', 'Meridian', 'Ironwood', 'Lakeshore', 'Redwood', 'Atlas', 'Beacon',
  'Northgate', 'Silverline', 'Kestrel', 'Oakmont', 'Pinecrest', 'Sterling', 'Tidewater', 'Crescent', 'Evergreen', 'Highland',
  'Juniper', 'Larkspur', 'Marlowe', 'Osprey', 'Prospect', 'Ridgeline', 'Thornbury', 'Westbrook', 'Alder',
  'Birchwood', 'Copperleaf', 'Driftwood', 'Elmstead', 'Foxhollow', 'Glenhaven', 'Hawthorne', 'Ivywood', 'Kingsbridge',
];

export const INSTITUTION_KINDS: Array<{ suffix: string; tld: string; slug: string }> = [
  { suffix: 'Capital', tld: 'com', slug: 'capital' },
  { suffix: 'Partners', tld: 'com', slug: 'partners' },
  { suffix: 'Family Office', tld: 'com', slug: 'fo' },
  { suffix: 'University Endowment', tld: 'edu', slug: '' },
  { suffix: 'Foundation', tld: 'org', slug: 'foundation' },
  { suffix: 'Pension Fund', tld: 'org', slug: 'pension' },
  { suffix: 'Asset Management', tld: 'com', slug: 'am' },
  { suffix: 'Investments', tld: 'com', slug: 'invest' },
  { suffix: 'Fund of Funds', tld: 'com', slug: 'fof' },
];

export const PERSONAL_DOMAINS = ['gmail.com', 'yahoo.com', 'icloud.com', 'outlook.com', 'hey.com', 'fastmail.com', 'proton.me'];

export const COMPANIES = [
  'Lumenpath', 'Quillstack', 'Harborlight Health', 'Tessellate AI', 'Fernway Logistics', 'Brightseam', 'Corvid Security',
  'Nimbus Ledger', 'Oakline Robotics', 'Parcelwise', 'Ravel Bio', 'Solstice Grid', 'Tallow Labs', 'Vantage Clinic', 'Wrenfield',
  'Kiteworks Energy', 'Mosaic Payroll', 'Northstar Freight', 'Plover Analytics', 'Sable Materials',
];

export const CITIES = ['San Francisco', 'New York', 'Boston', 'London', 'Palo Alto', 'Chicago', 'Austin', 'Seattle'];

export const EVENTS = ['the SuperReturn dinner', 'the ILPA summit', 'the emerging managers breakfast', 'the Milken conference', 'our annual meeting'];

export const PLACES = ['Blue Bottle on Mint Plaza', 'your office', 'our office on Pine Street', 'the Rosewood lobby', 'a video call'];

export const NEWSLETTER_TOPICS = [
  'private markets in a higher-rate world', 'secondaries and liquidity', 'what we learned from 40 fund reviews',
  'emerging managers outlook', 'AI infrastructure valuations', 'climate tech allocation trends', 'the state of venture debt',
];

export const INDUSTRY_NEWSLETTERS: Array<{ name: string; email: string; domain: string }> = [
  { name: 'The Deal Flow Daily', email: 'daily@dealflowdaily.com', domain: 'dealflowdaily.com' },
  { name: 'Fund Ops Weekly', email: 'newsletter@fundopsweekly.io', domain: 'fundopsweekly.io' },
  { name: 'Cap Table Digest', email: 'hello@captabledigest.com', domain: 'captabledigest.com' },
];

/** Personal correspondents: family, friends, services (never investors). */
export const PERSONAL_SERVICES: Array<{ name: string; email: string }> = [
  { name: 'Bay Area Dental', email: 'appointments@bayareadental.com' },
  { name: 'Cityline Fitness', email: 'frontdesk@citylinefitness.com' },
  { name: 'Redwood Elementary PTA', email: 'pta@redwoodelementary.org' },
];
