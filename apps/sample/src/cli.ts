#!/usr/bin/env node
// the `dl` executable
import { main } from './main.js';

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: Error) => {
    process.stderr.write(`dl: ${e.message}\n`);
    process.exit(1);
  },
);
