/**
 * Every route of examples/config.json answers its own example link with 200, the content
 * type a browser needs and a plausible body; the known instruments also give known answers.
 * The config is served from a copy (modules and mounted folders included), so requests that
 * write, like the chat's, never touch the repository. Until the examples config exists, the
 * file reports one skipped test saying so.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { copyConfigWithFiles, repoRoot, startServerFromFile } from '../helpers/server.js';

const examplesConfig = join(repoRoot, 'examples', 'config.json');
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

interface KnownAnswer {
  /** Path and query to ask. */
  readonly request: string;
  /** The Content-Type, or a pattern for it. */
  readonly contentType: string | RegExp;
  /** Throws (through assert) unless the body is right. */
  readonly check: (body: Buffer) => void;
}

const TEXT = /^text\/plain(; charset=utf-8)?$/;
const HTML = 'text/html; charset=utf-8';

function text(body: Buffer): string {
  return body.toString('utf8');
}

/** Answers we know for the example instruments, by route. A route not listed gets the generic checks only. */
const knownAnswers: Readonly<Record<string, KnownAnswer>> = {
  '/hello_world': {
    request: '/hello_world?name=Alice',
    contentType: TEXT,
    check: (body) => {
      assert.match(text(body), /Hello, Alice!/);
      assert.match(text(body), /seed\D{0,5}-?\d{1,19}/, 'shows the seed');
    },
  },
  '/tiny_hello': { request: '/tiny_hello?name=Alice', contentType: TEXT, check: (body) => assert.match(text(body), /Hello, Alice!/) },
  '/random': {
    request: '/random',
    contentType: TEXT,
    check: (body) => {
      const number = Number(/(\d+)\s*$/.exec(text(body))?.[1]);
      assert.ok(number >= 0 && number <= 99, `a number from 0 to 99 in ${text(body)}`);
    },
  },
  '/fibonacci': { request: '/fibonacci?n=10', contentType: TEXT, check: (body) => assert.match(text(body), /\b55\b/) },
  '/calculator': {
    request: '/calculator?op=add&a=15&b=25', contentType: TEXT, check: (body) => assert.match(text(body), /=\s*40(\.0+)?\b/),
  },
  '/time_utils': {
    request: '/time_utils?op=add&duration=2h30m&tz=UTC',
    contentType: TEXT,
    check: (body) => assert.match(text(body), /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/),
  },
  '/text_utils': {
    request: '/text_utils?op=palindrome&text=racecar', contentType: TEXT, check: (body) => assert.match(text(body), /palindrome: true/i),
  },
  '/url_utils': {
    request: '/url_utils?op=parse&input=https%3A%2F%2Fexample.com%2Fpath%3Fkey%3Dvalue',
    contentType: TEXT,
    check: (body) => {
      assert.match(text(body), /example\.com/);
      assert.match(text(body), /\/path/);
    },
  },
  '/hash_utils': {
    request: '/hash_utils?op=sha256&input=hello',
    contentType: TEXT,
    check: (body) => assert.ok(text(body).includes(createHash('sha256').update('hello').digest('hex')), text(body)),
  },
  '/mandelbrot': {
    request: '/mandelbrot?cx=-0.5&cy=0&zoom=1&width=64&height=48',
    contentType: 'image/png',
    check: (body) => assert.deepEqual(body.subarray(0, 8), PNG_SIGNATURE),
  },
  '/process_file': { request: '/process_file', contentType: TEXT, check: (body) => assert.match(text(body), /\d+ lines?/) },
  '/profile': {
    request: '/profile?name=John&age=25&hobbies=reading,coding',
    contentType: HTML,
    check: (body) => {
      assert.match(text(body), /^<!DOCTYPE html>/i);
      assert.match(text(body), /John/);
      assert.match(text(body), /coding/);
    },
  },
  '/wiki': { request: '/wiki?page=home', contentType: HTML, check: (body) => assert.match(text(body), /^<!DOCTYPE html>/i) },
  '/chat': { request: '/chat?action=ui', contentType: HTML, check: (body) => assert.match(text(body), /^<!DOCTYPE html>/i) },
};

/** HTML-escaped text, the way the index page writes it. */
function escapeForHtml(value: string): string {
  return value.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

/** The example link of a route, as the index page builds it. */
function exampleLink(path: string, example: string): string {
  const query = example.replace(/^\?/, '');
  return query === '' ? path : `${path}?${query}`;
}

if (!existsSync(examplesConfig)) {
  test('every example route answers its example', { skip: 'examples/config.json does not exist yet' }, () => {});
} else {
  const server = await startServerFromFile(copyConfigWithFiles(examplesConfig));
  const routes = Object.values(server.config.routes);

  describe('every example route answers its example link', () => {
    for (const route of routes) {
      const concrete = !route.path.includes(':') && !route.path.includes('*');
      test(route.path, { skip: concrete ? false : 'a route with parameters has no example link' }, async () => {
        const link = exampleLink(route.path, route.example);
        const response = await server.request(link);
        const body = Buffer.from(await response.arrayBuffer());
        assert.equal(response.status, 200, `${link}: ${body.toString('utf8', 0, 300)}`);
        assert.ok(body.byteLength > 0, `${link} has a body`);
        const expected = route.content_type ?? (knownAnswers[route.path]?.contentType);
        const contentType = response.headers.get('content-type') ?? '';
        if (typeof expected === 'string') assert.equal(contentType, expected);
        else if (expected !== undefined) assert.match(contentType, expected);
        else assert.notEqual(contentType, '', 'a content type is always sent');
      });
    }
  });

  describe('the example instruments give known answers', () => {
    for (const [path, answer] of Object.entries(knownAnswers)) {
      const configured = server.config.routes[path] !== undefined;
      test(answer.request, { skip: configured ? false : `${path} is not in examples/config.json` }, async () => {
        const response = await server.request(answer.request);
        const body = Buffer.from(await response.arrayBuffer());
        assert.equal(response.status, 200, body.toString('utf8', 0, 300));
        const contentType = response.headers.get('content-type') ?? '';
        if (typeof answer.contentType === 'string') assert.equal(contentType, answer.contentType);
        else assert.match(contentType, answer.contentType);
        answer.check(body);
      });
    }
  });

  test('the index page lists every example route with its example link', async () => {
    const { body } = await server.text('/');
    for (const route of routes) {
      assert.ok(body.includes(route.path), `the index names ${route.path}`);
      if (route.description !== '') assert.ok(body.includes(escapeForHtml(route.description)), `the index describes ${route.path}`);
    }
  });
}
