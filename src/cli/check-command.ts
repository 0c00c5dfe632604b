/**
 * `wasio check`: validate the config, compile every module and read the TLS files, printing
 * one line per problem. Resolves to the exit status: 0 when all is well, 1 otherwise.
 */
import { ConfigError, loadConfig } from '../config/index.js';
import { TlsFilesError } from '../http/errors.js';
import { readTlsFiles } from '../http/tls.js';
import { ModuleStore } from '../runtime/index.js';

export async function check(configFile: string, out: (line: string) => void): Promise<number> {
  let config;
  try {
    config = await loadConfig(configFile);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    for (const problem of error.problems) {
      const at = problem.position === undefined ? '' : `:${problem.position.line}:${problem.position.column}`;
      out(`${error.file}${at}: ${problem.keyPath === '' ? '' : `${problem.keyPath}: `}${problem.message} [${problem.code}]`);
    }
    return 1;
  }
  const store = new ModuleStore({ maxModules: Object.keys(config.routes).length });
  let problems = 0;
  for (const route of Object.values(config.routes)) {
    try {
      await store.get(route.wasm_file, route.memory_limit_mb);
    } catch (error) {
      problems += 1;
      out(`${config.file}: routes["${route.path}"].wasm_file: ${(error as Error).message} [${(error as { code?: string }).code ?? 'WASIO_ERR_MODULE_LOAD'}]`);
    }
  }
  if (config.tls !== undefined) {
    try {
      readTlsFiles(config.tls);
    } catch (error) {
      if (!(error instanceof TlsFilesError)) throw error;
      problems += 1;
      out(`${config.file}: tls: ${error.message} [${error.code}]`);
    }
  }
  if (problems === 0) out(`${config.file}: ok (${Object.keys(config.routes).length} routes)`);
  return problems === 0 ? 0 : 1;
}
