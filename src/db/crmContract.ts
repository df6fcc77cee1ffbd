/**
 * DESIGN.md, "The CRM contract": the CRM tables crm-mail reads or writes but does not own, and the
 * columns it uses. `migrate` checks it before touching an existing file, every command before it
 * runs, and `doctor` prints the statements that would add what is missing.
 */
import { ConfigError } from '../errors.js';
import type { Db } from './open.js';
import { tableColumns } from './schemaInfo.js';

/** A column the contract needs, with the type a fix should give it. */
export interface ContractColumn {
  /** Any one of these names satisfies the column (investors: firm or organization). */
  names: readonly string[];
  definition: string;
}

export interface ContractTable {
  table: string;
  columns: readonly ContractColumn[];
}

export const CRM_CONTRACT: readonly ContractTable[] = [
  {
    table: 'users',
    columns: [
      { names: ['id'], definition: 'id INTEGER PRIMARY KEY' },
      { names: ['email'], definition: 'email TEXT' },
      { names: ['name'], definition: 'name TEXT' },
      { names: ['is_active'], definition: 'is_active INTEGER NOT NULL DEFAULT 1' },
    ],
  },
  {
    table: 'investors',
    columns: [
      { names: ['id'], definition: 'id INTEGER PRIMARY KEY' },
      { names: ['name'], definition: 'name TEXT' },
      { names: ['email'], definition: 'email TEXT' },
      { names: ['firm', 'organization'], definition: 'firm TEXT' },
    ],
  },
  {
    table: 'fundraising_state',
    columns: [
      { names: ['investor_id'], definition: 'investor_id INTEGER PRIMARY KEY REFERENCES investors(id)' },
      { names: ['notes'], definition: 'notes TEXT' },
      { names: ['updated_at'], definition: 'updated_at TEXT' },
      { names: ['updated_by'], definition: 'updated_by INTEGER REFERENCES users(id)' },
    ],
  },
  {
    table: 'app_settings',
    columns: [
      { names: ['key'], definition: 'key TEXT PRIMARY KEY' },
      { names: ['value'], definition: 'value TEXT' },
    ],
  },
];

export interface ContractGaps {
  missingTables: ContractTable[];
  missingColumns: Array<{ table: string; column: ContractColumn }>;
}

/** What of the contract this file lacks; both lists empty when it holds all of it. */
export function contractGaps(db: Db): ContractGaps {
  const gaps: ContractGaps = { missingTables: [], missingColumns: [] };
  for (const spec of CRM_CONTRACT) {
    const columns = new Set(tableColumns(db, spec.table));
    if (columns.size === 0) {
      gaps.missingTables.push(spec);
      continue;
    }
    for (const column of spec.columns) {
      if (!column.names.some((name) => columns.has(name))) gaps.missingColumns.push({ table: spec.table, column });
    }
  }
  return gaps;
}

export function hasGaps(gaps: ContractGaps): boolean {
  return gaps.missingTables.length > 0 || gaps.missingColumns.length > 0;
}

/** One phrase per gap: "no table investors", "no column users.is_active". */
export function describeGaps(gaps: ContractGaps): string[] {
  return [
    ...gaps.missingTables.map((spec) => `no table ${spec.table}`),
    ...gaps.missingColumns.map((gap) => `no column ${gap.table}.${gap.column.names.join(' or ')}`),
  ];
}

/** The SQL that would add what is missing, for doctor's fix line. */
export function gapFixes(gaps: ContractGaps): string[] {
  return [
    ...gaps.missingTables.map((spec) => `CREATE TABLE ${spec.table} (${spec.columns.map((column) => column.definition).join(', ')})`),
    ...gaps.missingColumns.map((gap) => `ALTER TABLE ${gap.table} ADD COLUMN ${gap.column.definition.replace(/ PRIMARY KEY.*/, '')}`),
  ];
}

/** Refuses, naming the file and every gap, a database that does not hold the CRM contract. */
export function assertCrmContract(db: Db, path: string): void {
  const gaps = contractGaps(db);
  if (!hasGaps(gaps)) return;
  throw new ConfigError(
    `the CRM database ${path} has ${describeGaps(gaps).join(', ')}, which crm-mail relies on. ` +
      `Check --db points at the CRM's file, or restore the CRM's schema from its backup; ` +
      `\`crm-mail doctor --db ${path}\` prints the statements that add what is missing.`,
  );
}
