/**
 * Tables that fit the terminal. Every table command declares its columns with a priority and how
 * narrow each may get; on a narrow terminal the least important columns are hidden first, then the
 * widest text columns are narrowed (wrapped or cut), and a footer names what was hidden. `--wide`
 * shows every column at its natural width.
 */
import Table from 'cli-table3';

export interface TableColumn {
  head: string;
  /** 0: always shown; a higher number is hidden sooner when the terminal is too narrow. */
  priority: number;
  /** The narrowest text width the column may take; beyond it the text wraps or is cut. Absent: never narrowed. */
  minWidth?: number;
  /** Wrap the text onto more lines instead of cutting it with an ellipsis. */
  wrap?: boolean;
  align?: 'left' | 'right';
}

export type Cell = string | number;

/** Which columns are shown and the text width of each (padding and borders excluded). */
export interface ColumnPlan {
  shown: number[];
  widths: number[];
}

/** The width a terminal line has when nothing says otherwise. */
const DEFAULT_WIDTH = 80;

/** One space of padding either side of the text, and one border character per column plus one. */
export function lineWidth(widths: readonly number[]): number {
  return widths.reduce((sum, width) => sum + width + 2, 0) + widths.length + 1;
}

/** How wide text is on a terminal, near enough: code points (cli-table3 cuts to its exact measure). */
function textWidth(text: string): number {
  return Math.max(0, ...text.split('\n').map((line) => Array.from(line).length));
}

/**
 * The columns to show within maxWidth (undefined: no limit): hide by priority until the narrowest
 * layout fits, then narrow the widest narrowable column one character at a time.
 */
export function planColumns(columns: readonly TableColumn[], natural: readonly number[], maxWidth: number | undefined): ColumnPlan {
  const all = columns.map((_, index) => index);
  if (maxWidth === undefined) return { shown: all, widths: natural.slice() };
  const narrowest = columns.map((column, index) => Math.min(natural[index]!, column.minWidth ?? natural[index]!));
  let shown = all;
  while (lineWidth(shown.map((index) => narrowest[index]!)) > maxWidth) {
    const droppable = shown.filter((index) => columns[index]!.priority > 0);
    if (droppable.length === 0) break;
    // The highest priority number goes first; among equals, the rightmost.
    const victim = droppable.reduce((worst, index) => (columns[index]!.priority >= columns[worst]!.priority ? index : worst));
    shown = shown.filter((index) => index !== victim);
  }
  const widths = shown.map((index) => natural[index]!);
  while (lineWidth(widths) > maxWidth) {
    let widest = -1;
    widths.forEach((width, position) => {
      if (width > narrowest[shown[position]!]! && (widest === -1 || width > widths[widest]!)) widest = position;
    });
    if (widest === -1) break;
    widths[widest] = widths[widest]! - 1;
  }
  return { shown, widths };
}

/**
 * The width tables must fit: none with --wide; a terminal's own width; else $COLUMNS (a pipe or a
 * cron log whose reader set it); else 80.
 */
export function tableWidth(options: { wide?: boolean; isTTY: boolean; env?: NodeJS.ProcessEnv; columns?: number }): number | undefined {
  if (options.wide) return undefined;
  const columns = options.columns ?? (options.isTTY ? process.stdout.columns : undefined);
  if (columns !== undefined && columns > 0) return columns;
  const fromEnv = Number((options.env ?? process.env).COLUMNS);
  if (Number.isInteger(fromEnv) && fromEnv > 0) return fromEnv;
  return DEFAULT_WIDTH;
}

export interface RenderOptions {
  maxWidth: number | undefined;
  /** Colours (cli-table3's default) only on a terminal: cron logs and pipes get plain characters. */
  color: boolean;
}

/** The table as text, ending with a newline; when columns were hidden, a last line names them and --wide. */
export function renderTable(columns: readonly TableColumn[], rows: readonly Cell[][], options: RenderOptions): string {
  const text = rows.map((row) => row.map((cell) => String(cell)));
  const natural = columns.map((column, index) => Math.max(textWidth(column.head), ...text.map((row) => textWidth(row[index] ?? ''))));
  // A column with nothing in it (every cell "-" or blank) is the first to go on a narrow terminal.
  const ranked = columns.map((column, index) => (column.priority > 0 && text.every((row) => isBlank(row[index])) ? { ...column, priority: Number.MAX_SAFE_INTEGER } : column));
  const plan = planColumns(ranked, natural, options.maxWidth);
  const table = new Table({
    head: plan.shown.map((index) => columns[index]!.head),
    colWidths: plan.widths.map((width) => width + 2),
    colAligns: plan.shown.map((index) => columns[index]!.align ?? 'left'),
    style: options.color ? undefined : { head: [], border: [] },
  });
  for (const row of text) {
    table.push(plan.shown.map((index) => ({ content: row[index] ?? '', wordWrap: Boolean(columns[index]!.wrap) })));
  }
  const hidden = columns.filter((_, index) => !plan.shown.includes(index)).map((column) => column.head);
  const note = hidden.length === 0 ? '' : wrapWords(`(${hidden.join(', ')} hidden to fit ${options.maxWidth} columns; --wide shows every column)`, options.maxWidth!);
  return table.toString() + '\n' + note;
}

function isBlank(cell: string | undefined): boolean {
  const trimmed = (cell ?? '').trim();
  return trimmed === '' || trimmed === '-';
}

/** Words onto lines of at most `width` characters (a longer word keeps its own line), each ending with a newline. */
function wrapWords(text: string, width: number): string {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line !== '' && textWidth(`${line} ${word}`) > width) {
      lines.push(line);
      line = word;
    } else {
      line = line === '' ? word : `${line} ${word}`;
    }
  }
  if (line !== '') lines.push(line);
  return lines.map((item) => item + '\n').join('');
}
