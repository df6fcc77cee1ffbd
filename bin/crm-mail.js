#!/usr/bin/env node
// The launcher. Prefer bin/crm-mail (the package's bin), which protects --env-file from Node 20's
// own option parser; a leading `--` from it is dropped here.
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const entry = join(root, 'dist', 'src', 'cli', 'main.js');
if (!existsSync(entry)) {
  process.stderr.write('crm-mail is not built yet: run `npm run build` in ' + root + '\n');
  process.exit(1);
}
// `crm-mail ... | head` closes the pipe early: that is the reader's choice, not an error.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
}
const argv = process.argv[2] === '--' ? [...process.argv.slice(0, 2), ...process.argv.slice(3)] : process.argv;
const { main } = await import(pathToFileURL(entry).href);
process.exitCode = await main(argv);
