#!/usr/bin/env node
/** The `wasio` command line. */
import { Command, CommanderError } from 'commander';
import { VERSION } from '../version.js';
import { CliUsageError } from './errors.js';
import { runModuleFile } from './run-command.js';

const collect = (value: string, previous: string[]): string[] => [...previous, value];

function buildProgram(): Command {
  const program = new Command('wasio')
    .description('Serve WebAssembly (WASI) modules as sandboxed HTTP endpoints')
    .version(VERSION, '-V, --version')
    .enablePositionalOptions()
    .exitOverride();

  program
    .command('run')
    .description('run one WASI module like `wasmtime run`; exits with its exit code')
    .option('--dir <HOST::GUEST[:ro]>', 'make a host directory visible to the module (repeatable)', collect, [])
    .option('--env <KEY=VALUE>', 'set an environment variable for the module (repeatable)', collect, [])
    .option('--stdin <FILE>', 'read the module\'s stdin from FILE instead of this process\'s stdin')
    .argument('<module>', 'the .wasm file')
    .argument('[args...]', 'arguments passed to the module')
    .passThroughOptions()
    .action(async (modulePath: string, args: string[], options: { dir: string[]; env: string[]; stdin?: string }) => {
      process.exitCode = await runModuleFile(modulePath, args, options);
    });

  return program;
}

try {
  await buildProgram().parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    process.exitCode = error.exitCode;
  } else if (error instanceof CliUsageError || (error as NodeJS.ErrnoException).code === 'ENOENT') {
    process.stderr.write(`wasio: ${(error as Error).message}\n`);
    process.exitCode = 2;
  } else {
    throw error;
  }
}
