import { runCommand } from './commands.js';
import { ConfigError } from './config.js';

/** Admin commands: `node dist/cli.js migrate`, `purge`, `territories …` (see commands.ts). */
try {
  process.exitCode = await runCommand(process.argv[2], { args: process.argv.slice(3) });
} catch (error) {
  console.error(error instanceof ConfigError ? error.message : error);
  process.exitCode = 1;
}
