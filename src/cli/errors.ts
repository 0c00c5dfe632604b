/** Errors of the command line: what the user typed cannot be acted on. */
export class CliUsageError extends Error {
  override readonly name = 'CliUsageError';
  readonly code = 'WASIO_ERR_CLI_USAGE';
}
