/**
 * How a command speaks: tables and progress on a terminal, one JSON document with --json, plain
 * lines under cron (not a TTY), nothing but errors with --quiet.
 */
import { terminalLine, terminalText } from '../mail/terminalText.js';

export interface OutputOptions {
  json: boolean;
  quiet: boolean;
  verbose: boolean;
  isTTY?: boolean;
  stdout?: NodeJS.WritableStream;
  stderr?: NodeJS.WritableStream;
}

/**
 * Makes untrusted text inert for a terminal: escape sequences, controls, bidi overrides and
 * invisible characters removed, foreign line breaks made newlines (the one sanitiser, terminalText).
 */
export function inert(text: string | null | undefined): string {
  return terminalText(text);
}

/** Inert and on one line. */
export function inertLine(text: string | null | undefined): string {
  return terminalLine(text);
}

/**
 * Under cron a line must say when it was written: each non-empty line gets the UTC time, ISO 8601
 * with milliseconds, and a space in front (README, "Log format"). Blank lines stay blank.
 */
export function stampLines(text: string, now: Date = new Date()): string {
  const stamp = now.toISOString();
  return text.replace(/^(?=[^\n])/gm, `${stamp} `);
}

/** Whether lines written to `stream` are dated: not on a terminal (a file, a pipe, cron). */
export function isLogStream(stream: NodeJS.WritableStream): boolean {
  return !(stream as { isTTY?: boolean }).isTTY;
}

export class Output {
  readonly json: boolean;
  readonly quiet: boolean;
  readonly verbose: boolean;
  readonly isTTY: boolean;
  private readonly stdout: NodeJS.WritableStream;
  private readonly stderr: NodeJS.WritableStream;

  constructor(options: OutputOptions) {
    this.json = options.json;
    this.quiet = options.quiet;
    this.verbose = options.verbose;
    this.stdout = options.stdout ?? process.stdout;
    this.stderr = options.stderr ?? process.stderr;
    this.isTTY = options.isTTY ?? Boolean((this.stdout as { isTTY?: boolean }).isTTY);
  }

  /** Human text on stdout; suppressed by --json and --quiet. */
  line(text = ''): void {
    if (this.json || this.quiet) return;
    this.emit(this.stdout, text + '\n');
  }

  /** Detail shown only with --verbose, on stderr so it never mixes into --json output. */
  debug(text: string): void {
    if (this.verbose) this.emit(this.stderr, text + '\n');
  }

  /** A notice for the human that must not pollute stdout (progress, hints). */
  info(text: string): void {
    if (this.quiet) return;
    this.emit(this.stderr, inert(text) + '\n');
  }

  // Notices and errors may quote CRM values or mail headers (a name, a subject), and carry no
  // formatting of their own: they always pass the sanitiser.
  warn(text: string): void {
    this.emit(this.stderr, `warning: ${inert(text)}\n`);
  }

  error(text: string): void {
    this.emit(this.stderr, `error: ${inert(text)}\n`);
  }

  /** Whether this run's one JSON document is already out (an error after it then goes to stderr only). */
  get wroteDocument(): boolean {
    return this.documentWritten;
  }
  private documentWritten = false;

  /** The one machine-readable document of a --json run. */
  data(value: unknown): void {
    this.documentWritten = true;
    this.stdout.write(JSON.stringify(value, null, this.isTTY ? 2 : undefined) + '\n');
  }

  /** Raw write to stdout (already formatted text such as a rendered table). */
  write(text: string): void {
    if (this.json || this.quiet) return;
    this.emit(this.stdout, text);
  }

  /** Text for stderr that bypasses --quiet (errors, failing accounts), dated like every line. */
  stderrWrite(text: string): void {
    this.emit(this.stderr, text);
  }

  /** The one place human text leaves: dated when the stream is not a terminal; JSON never is. */
  private emit(stream: NodeJS.WritableStream, text: string): void {
    const onTerminal = stream === this.stdout ? this.isTTY : !isLogStream(stream);
    stream.write(onTerminal ? text : stampLines(text));
  }
}
