#!/usr/bin/env node
/** The `wasio` command line. */
import { Command, CommanderError } from 'commander';
import { VERSION } from '../version.js';
import { CliUsageError } from './errors.js';

const collect = (value: string, previous: string[]): string[] => [...previous, value];

function buildProgram(): Command {
  const program = new Command('wasio')
    .description('Serve WebAssembly (WASI) modules as sandboxed HTTP endpoints')
    .version(VERSION, '-V, --version')
    .enablePositionalOptions()
    .exitOverride();

  program
    .command('serve', { isDefault: true })
    .description('serve the instruments of a config file over HTTP')
    .option('-c, --config <FILE>', 'config file', 'config.json')
    .option('--port <N>', 'port to listen on (overrides the config and PORT)')
    .option('--host <H>', 'address to listen on (overrides the config)')
    .option('--processes <N|auto>', 'HTTP processes sharing the port; auto: one per core (overrides the config)')
    .option('--tls-cert <FILE>', 'serve HTTPS with this PEM certificate chain (with --tls-key; overrides the config\'s tls)')
    .option('--tls-key <FILE>', 'the PEM private key of --tls-cert')
    .option('--log-format <FORMAT>', 'json, pretty or apache (default: WASIO_LOG_FORMAT, else pretty on a terminal, json otherwise)')
    .option('--log-level <LEVEL>', 'trace, debug, info, warn, error, fatal or silent (default: WASIO_LOG_LEVEL, else info)')
    .action(async (options: {
      config: string; port?: string; host?: string; processes?: string; tlsCert?: string; tlsKey?: string; logFormat?: string; logLevel?: string;
    }) => {
      // Each command loads only what it needs, so `wasio run` starts without the HTTP stack.
      const [{ serve }, { createLogger, logSettings }] = await Promise.all([import('./serve-command.js'), import('./logger.js')]);
      await serve(options, createLogger(logSettings(options)));
    });

  program
    .command('check')
    .description('validate a config file and compile every module; one line per problem')
    .option('-c, --config <FILE>', 'config file', 'config.json')
    .action(async (options: { config: string }) => {
      const { check } = await import('./check-command.js');
      process.exitCode = await check(options.config, (line) => process.stdout.write(`${line}\n`));
    });

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
      const { runModuleFile } = await import('./run-command.js');
      process.exitCode = await runModuleFile(modulePath, args, options);
    });

  return program;
}

try {
  await buildProgram().parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    process.exitCode = error.exitCode;
  } else if (
    // ConfigError is matched by name: importing the config layer here would slow every command.
    error instanceof CliUsageError || (error as Error).name === 'ConfigError' || (error as Error).name === 'TlsFilesError'
    || (error as NodeJS.ErrnoException).code === 'ENOENT'
  ) {
    process.stderr.write(`wasio: ${(error as Error).message}\n`);
    process.exitCode = 2;
  } else {
    throw error;
  }
}
