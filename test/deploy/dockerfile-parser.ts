/**
 * A reader for the Dockerfile and .dockerignore of this repository, so tests can check them
 * against the server without a Docker engine. It follows the Dockerfile reference for what
 * the file uses: comment lines, `\` line continuations, JSON (exec) and shell forms, stages
 * with `AS` names, global `ARG`s substituted into `FROM`, and the options of `COPY` and
 * `HEALTHCHECK`. It is not a general parser: heredocs and a changed escape character are
 * refused rather than misread.
 */

/** One instruction, with its keyword upper-cased and its arguments as written. */
export interface Instruction {
  readonly keyword: string;
  readonly args: string;
  /** 1-based line where the instruction starts, for assertion messages. */
  readonly line: number;
}

/** One build stage: from its `FROM` to the next. */
export interface Stage {
  /** The `AS` name, if any. */
  readonly name: string | undefined;
  /** The base image with global `ARG` defaults substituted. */
  readonly base: string;
  readonly instructions: readonly Instruction[];
}

export interface Dockerfile {
  /** `ARG`s declared before the first `FROM`, with their defaults. */
  readonly globalArgs: ReadonlyMap<string, string | undefined>;
  readonly stages: readonly Stage[];
}

/** A `COPY` (or `ADD`) instruction, taken apart. */
export interface CopyInstruction {
  /** The `--from` stage or image, if any. */
  readonly from: string | undefined;
  readonly sources: readonly string[];
  readonly destination: string;
}

/** A `HEALTHCHECK` instruction, taken apart; `command` is undefined for `HEALTHCHECK NONE`. */
export interface HealthcheckInstruction {
  /** `--interval`, `--timeout`, ... without the dashes. */
  readonly options: Readonly<Record<string, string>>;
  readonly command: readonly string[] | string | undefined;
}

/** Splits the text into instructions, joining continued lines and dropping comments. */
function instructionsOf(text: string): Instruction[] {
  const lines = text.split(/\r?\n/);
  const instructions: Instruction[] = [];
  let pending: { text: string; line: number } | undefined;
  for (const [index, raw] of lines.entries()) {
    if (/^\s*#\s*escape\s*=/i.test(raw) && instructions.length === 0 && pending === undefined) {
      throw new Error(`line ${index + 1}: an escape directive is not supported by this reader`);
    }
    // Comment lines are dropped even inside a continuation, as Docker does.
    if (/^\s*#/.test(raw)) continue;
    if (pending === undefined && raw.trim() === '') continue;
    const continued = /\\\s*$/.test(raw);
    const part = continued ? raw.replace(/\\\s*$/, '') : raw;
    pending = pending === undefined ? { text: part, line: index + 1 } : { text: `${pending.text} ${part.trim()}`, line: pending.line };
    if (continued) continue;
    const match = /^\s*(\S+)\s*(.*)$/s.exec(pending.text);
    if (match !== null) {
      const args = (match[2] ?? '').trim();
      if (args.includes('<<')) throw new Error(`line ${pending.line}: heredocs are not supported by this reader`);
      instructions.push({ keyword: (match[1] ?? '').toUpperCase(), args, line: pending.line });
    }
    pending = undefined;
  }
  if (pending !== undefined) throw new Error(`line ${pending.line}: the file ends inside a continued line`);
  return instructions;
}

/** Replaces `$NAME` and `${NAME}` with the value in `values` (empty when it has none). */
function substitute(text: string, values: ReadonlyMap<string, string | undefined>): string {
  return text.replace(/\$\{(\w+)\}|\$(\w+)/g, (_all, braced: string | undefined, bare: string | undefined) => values.get(braced ?? bare ?? '') ?? '');
}

/** Parses a Dockerfile's text into its global `ARG`s and its stages. */
export function parseDockerfile(text: string): Dockerfile {
  const globalArgs = new Map<string, string | undefined>();
  const stages: { name: string | undefined; base: string; instructions: Instruction[] }[] = [];
  for (const instruction of instructionsOf(text)) {
    if (instruction.keyword === 'FROM') {
      const words = instruction.args.split(/\s+/).filter((word) => !word.startsWith('--'));
      const [image, as, name] = words;
      if (image === undefined) throw new Error(`line ${instruction.line}: FROM without an image`);
      if (as !== undefined && (as.toUpperCase() !== 'AS' || name === undefined)) throw new Error(`line ${instruction.line}: expected FROM image [AS name]`);
      stages.push({ name, base: substitute(image, globalArgs), instructions: [] });
      continue;
    }
    const stage = stages.at(-1);
    if (stage === undefined) {
      if (instruction.keyword !== 'ARG') throw new Error(`line ${instruction.line}: only ARG may come before the first FROM`);
      const [name, value] = splitOnce(instruction.args, '=');
      globalArgs.set(name, value);
      continue;
    }
    stage.instructions.push(instruction);
  }
  return { globalArgs, stages };
}

function splitOnce(text: string, separator: string): [string, string | undefined] {
  const at = text.indexOf(separator);
  return at === -1 ? [text, undefined] : [text.slice(0, at), text.slice(at + separator.length)];
}

/** The JSON array of an exec-form argument list, or undefined for the shell form. */
export function execForm(args: string): string[] | undefined {
  if (!args.startsWith('[')) return undefined;
  const parsed: unknown = JSON.parse(args);
  if (!Array.isArray(parsed) || !parsed.every((item) => typeof item === 'string')) {
    throw new Error(`not a JSON array of strings: ${args}`);
  }
  return parsed;
}

/** Leading `--name=value` (or bare `--flag`) options, and what follows them. */
function takeOptions(args: string): { options: Record<string, string>; rest: string } {
  const options: Record<string, string> = {};
  let rest = args;
  for (let match = /^--([\w-]+)(?:=(\S*))?\s*/.exec(rest); match !== null; match = /^--([\w-]+)(?:=(\S*))?\s*/.exec(rest)) {
    options[match[1] ?? ''] = match[2] ?? 'true';
    rest = rest.slice(match[0].length);
  }
  return { options, rest };
}

/** Takes a `COPY`/`ADD` argument list apart (shell or JSON form). */
export function parseCopy(args: string): CopyInstruction {
  const { options, rest } = takeOptions(args);
  const words = execForm(rest) ?? rest.split(/\s+/).filter((word) => word !== '');
  const destination = words.at(-1);
  if (destination === undefined || words.length < 2) throw new Error(`COPY needs a source and a destination: ${args}`);
  return { from: options['from'], sources: words.slice(0, -1), destination };
}

/** Takes a `HEALTHCHECK` argument list apart. */
export function parseHealthcheck(args: string): HealthcheckInstruction {
  const { options, rest } = takeOptions(args);
  if (rest.trim().toUpperCase() === 'NONE') return { options, command: undefined };
  const match = /^CMD\s+(.*)$/is.exec(rest);
  if (match === null) throw new Error(`HEALTHCHECK without CMD: ${args}`);
  const command = match[1] ?? '';
  return { options, command: execForm(command) ?? command };
}

/** The instructions of `stage` with `keyword`, in order. */
export function instructionsNamed(stage: Stage, keyword: string): Instruction[] {
  return stage.instructions.filter((instruction) => instruction.keyword === keyword);
}

/** The last instruction of `stage` with `keyword` (the one that counts for CMD, USER, ...). */
export function lastInstruction(stage: Stage, keyword: string): Instruction | undefined {
  return instructionsNamed(stage, keyword).at(-1);
}

/** The `ENV` values a stage sets, in the `KEY=value` form (quotes removed). */
export function environmentOf(stage: Stage): Map<string, string> {
  const env = new Map<string, string>();
  for (const instruction of instructionsNamed(stage, 'ENV')) {
    for (const match of instruction.args.matchAll(/(\w+)=("(?:[^"\\]|\\.)*"|\S*)/g)) {
      const value = match[2] ?? '';
      env.set(match[1] ?? '', value.startsWith('"') ? (JSON.parse(value) as string) : value);
    }
  }
  return env;
}

/** `*`, `?` and `**` of a .dockerignore pattern as a regular expression over a whole path. */
function globToRegExp(pattern: string): RegExp {
  let source = '';
  for (let index = 0; index < pattern.length; index += 1) {
    const char = pattern[index] as string;
    if (char === '*' && pattern[index + 1] === '*') {
      source += '.*';
      index += 1;
    } else if (char === '*') {
      source += '[^/]*';
    } else if (char === '?') {
      source += '[^/]';
    } else {
      source += char.replace(/[.+^${}()|[\]\\]/g, '\\$&');
    }
  }
  return new RegExp(`^${source}$`);
}

/**
 * A .dockerignore as a predicate: true when `path` (relative to the context, `/`-separated)
 * is left out of the build context. As in Docker, a pattern that matches a folder matches
 * everything in it, `!` re-includes, and the last matching pattern decides.
 */
export function dockerignoreMatcher(text: string): (path: string) => boolean {
  const rules = text.split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const include = line.startsWith('!');
      const pattern = (include ? line.slice(1) : line).replace(/^\/+/, '').replace(/\/+$/, '');
      return { include, regexp: globToRegExp(pattern) };
    });
  return (path) => {
    const parts = path.replace(/^\.\//, '').split('/');
    const prefixes = parts.map((_part, index) => parts.slice(0, index + 1).join('/'));
    let ignored = false;
    for (const rule of rules) {
      if (prefixes.some((prefix) => rule.regexp.test(prefix))) ignored = !rule.include;
    }
    return ignored;
  };
}
