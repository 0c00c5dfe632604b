/**
 * The `wasio` protocol over real HTTP, through instruments in two languages: a C echo that
 * writes the request document back unchanged, and a Go instrument that decodes it with
 * encoding/json (body_base64 included) and answers with what it understood. Each case runs
 * against both, so a difference between them shows as a failing row.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { startServer } from '../helpers/server.js';
import { linesOfRequest, protocolInstrument, requestIdOf } from './support.js';

interface FileDescription {
  readonly field: string;
  readonly filename: string;
  readonly content_type: string;
  readonly size: number;
}

/** The request as either instrument hands it back: the body as bytes, whichever field carried it. */
interface Understood {
  readonly seed: string;
  readonly params: Record<string, string>;
  readonly method: string;
  readonly path: string;
  readonly route: string;
  readonly query: Record<string, string[]>;
  readonly path_params: Record<string, string>;
  readonly headers: Record<string, string>;
  readonly files: FileDescription[];
  readonly bodyField: 'body' | 'body_base64';
  readonly body: Buffer;
}

interface Language {
  readonly name: string;
  readonly prefix: string;
  read(text: string): Understood;
}

const seedOf = (text: string): string => /"seed":"?(-?\d+)"?[,}]/.exec(text)?.[1] ?? assert.fail(`no seed in ${text}`);

const languages: Language[] = [
  {
    name: 'C (the document written back unchanged)',
    prefix: '/c',
    read(text) {
      const document = JSON.parse(text) as Omit<Understood, 'seed' | 'bodyField' | 'body'> & { body?: string; body_base64?: string };
      const { body, body_base64: base64, ...rest } = document;
      assert.ok((body === undefined) !== (base64 === undefined), 'exactly one of body and body_base64');
      return {
        ...rest, seed: seedOf(text),
        bodyField: body === undefined ? 'body_base64' : 'body',
        body: body === undefined ? Buffer.from(base64 as string, 'base64') : Buffer.from(body, 'utf8'),
      };
    },
  },
  {
    name: 'Go (decoded with encoding/json)',
    prefix: '/go',
    read(text) {
      const answer = JSON.parse(text) as Omit<Understood, 'bodyField' | 'body'> & { language: string; body_field: 'body' | 'body_base64'; body_hex: string };
      assert.equal(answer.language, 'go');
      const { language: _language, body_field: bodyField, body_hex: hex, ...rest } = answer;
      return { ...rest, bodyField, body: Buffer.from(hex, 'hex') };
    },
  },
];

const server = await startServer({
  routes: {
    '/c/echo': { wasm_file: protocolInstrument('wasio_echo_c') },
    '/go/echo': { wasm_file: protocolInstrument('wasio_echo_go') },
    '/c/users/:id': { wasm_file: protocolInstrument('wasio_echo_c') },
    '/go/users/:id': { wasm_file: protocolInstrument('wasio_echo_go') },
    '/c/get-only': { wasm_file: protocolInstrument('wasio_echo_c'), methods: ['GET'] },
    '/go/get-only': { wasm_file: protocolInstrument('wasio_echo_go'), methods: ['GET'] },
    '/c/small-body': { wasm_file: protocolInstrument('wasio_echo_c'), max_body_bytes: 64 },
    '/go/small-body': { wasm_file: protocolInstrument('wasio_echo_go'), max_body_bytes: 64 },
  },
});

/** Calls the server; every response, whatever its status, must carry an X-Request-Id. */
async function call(path: string, init?: RequestInit): Promise<{ response: Response; body: string; requestId: string }> {
  const { response, body } = await server.text(path, init);
  return { response, body, requestId: requestIdOf(response) };
}

for (const language of languages) {
  const { prefix } = language;

  describe(`wasio protocol, ${language.name}`, () => {
    test('GET: method, path, route, every query value, first values as params, headers in lower case', async () => {
      const { response, body } = await call(`${prefix}/echo?tag=a&tag=b&name=Al%20ice&empty=&caf%C3%A9=cr%C3%A8me`, {
        headers: { 'X-Custom': 'value', Accept: 'application/json' },
      });
      assert.equal(response.status, 200, body);
      const seen = language.read(body);
      assert.equal(seen.method, 'GET');
      assert.equal(seen.path, `${prefix}/echo`);
      assert.equal(seen.route, `${prefix}/echo`);
      assert.deepEqual(seen.query, { tag: ['a', 'b'], name: ['Al ice'], empty: [''], café: ['crème'] });
      assert.deepEqual(seen.params, { tag: 'a', name: 'Al ice', empty: '', café: 'crème' });
      assert.deepEqual(seen.path_params, {});
      assert.equal(seen.headers['x-custom'], 'value');
      assert.equal(seen.headers['accept'], 'application/json');
      assert.deepEqual(seen.files, []);
      assert.equal(seen.bodyField, 'body');
      assert.equal(seen.body.byteLength, 0);
      assert.match(seen.seed, /^-?\d{1,19}$/);
      assert.ok(BigInt(seen.seed) >= -(2n ** 63n) && BigInt(seen.seed) < 2n ** 63n);
    });

    test('path parameters arrive decoded, the path as requested', async () => {
      const seen = language.read((await call(`${prefix}/users/J%C3%BCrgen%20K`)).body);
      assert.equal(seen.route, `${prefix}/users/:id`);
      assert.equal(seen.path, `${prefix}/users/J%C3%BCrgen%20K`);
      assert.deepEqual(seen.path_params, { id: 'Jürgen K' });
    });

    test('a UTF-8 body arrives as text in body', async () => {
      const text = '{"greeting": "grüß dich ✓"}\n';
      const seen = language.read((await call(`${prefix}/echo`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: text })).body);
      assert.equal(seen.method, 'POST');
      assert.equal(seen.bodyField, 'body');
      assert.equal(seen.body.toString('utf8'), text);
      assert.equal(seen.headers['content-type'], 'application/json');
    });

    test('a binary body arrives intact in body_base64, every byte value included', async () => {
      const bytes = Buffer.alloc(512);
      for (let i = 0; i < bytes.byteLength; i++) bytes[i] = (i * 7) & 0xff;
      const seen = language.read((await call(`${prefix}/echo`, { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: bytes })).body);
      assert.equal(seen.method, 'POST');
      assert.equal(seen.bodyField, 'body_base64');
      assert.deepEqual(seen.body, bytes);
    });

    test('a urlencoded body is merged into params, the body winning over the query', async () => {
      const seen = language.read((await call(`${prefix}/echo?name=query&only=query`, {
        method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'name=body&extra=%E2%9C%93',
      })).body);
      assert.deepEqual(seen.params, { name: 'body', only: 'query', extra: '✓' });
      assert.deepEqual(seen.files, []);
    });

    test('a multipart body: text fields merged into params (body wins), files described and not inlined', async () => {
      const png = Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex');
      const form = new FormData();
      form.append('name', 'from the form');
      form.append('comment', 'ünïcödé ✓');
      form.append('upload', new Blob([png], { type: 'image/png' }), 'a.png');
      form.append('notes', new Blob(['plain text file\n'], { type: 'text/plain' }), 'notes.txt');
      const { response, body } = await call(`${prefix}/echo?name=query&page=2`, { method: 'POST', body: form });
      assert.equal(response.status, 200, body);
      const seen = language.read(body);
      assert.deepEqual(seen.params, { name: 'from the form', page: '2', comment: 'ünïcödé ✓' });
      assert.deepEqual(seen.query, { name: ['query'], page: ['2'] });
      assert.deepEqual(seen.files, [
        { field: 'upload', filename: 'a.png', content_type: 'image/png', size: png.byteLength },
        { field: 'notes', filename: 'notes.txt', content_type: 'text/plain', size: 16 },
      ]);
      assert.match(seen.headers['content-type'] ?? '', /^multipart\/form-data; boundary=/);
      // The whole body still arrives, as base64 here since the PNG bytes are not UTF-8.
      assert.equal(seen.bodyField, 'body_base64');
      assert.ok(seen.body.includes(png), 'the raw body holds the file');
    });

    test('a multipart body that cannot be parsed is 400 before the module runs', async () => {
      const { response, body, requestId } = await call(`${prefix}/echo`, {
        method: 'POST', headers: { 'content-type': 'multipart/form-data; boundary=xyz' }, body: 'not a multipart body',
      });
      assert.equal(response.status, 400);
      assert.match(body, /invalid multipart\/form-data body: no line of the body is the boundary "--xyz"/);
      const lines = await linesOfRequest(server.logs, requestId);
      assert.ok(lines.some((line) => line['code'] === 'WASIO_ERR_MULTIPART' && /no line of the body is the boundary/.test(String(line.msg))),
        `no WASIO_ERR_MULTIPART line in ${JSON.stringify(lines)}`);
      assert.ok(lines.every((line) => line['instanceMs'] === undefined), 'no instance ran');
    });

    test('HEAD runs the instrument and answers its headers without a body', async () => {
      const { response, body } = await call(`${prefix}/echo?via=head`, { method: 'HEAD' });
      assert.equal(response.status, 200);
      assert.equal(body, '');
      assert.match(response.headers.get('content-type') ?? '', /^(text\/plain|application\/json)/);
      assert.ok(Number(response.headers.get('content-length')) > 0, 'the length of the body a GET would get');
    });

    test('a method the route does not list is 405 with Allow, HEAD allowed with GET', async () => {
      const post = await call(`${prefix}/get-only`, { method: 'POST', body: 'x' });
      assert.equal(post.response.status, 405);
      assert.equal(post.response.headers.get('allow'), 'GET, HEAD');
      assert.equal((await call(`${prefix}/get-only`, { method: 'HEAD' })).response.status, 200);
      assert.equal((await call(`${prefix}/get-only`)).response.status, 200);
    });

    test('a body over max_body_bytes is 413, declared or streamed; one at the limit is served', async () => {
      const declared = await call(`${prefix}/small-body`, { method: 'POST', body: 'x'.repeat(65) });
      assert.equal(declared.response.status, 413);
      const streamed = await call(`${prefix}/small-body`, {
        method: 'POST',
        body: new ReadableStream({
          start(controller) {
            for (let i = 0; i < 4; i++) controller.enqueue(new TextEncoder().encode('y'.repeat(32)));
            controller.close();
          },
        }),
        duplex: 'half',
      } as RequestInit);
      assert.equal(streamed.response.status, 413, 'a chunked body without Content-Length is stopped past the limit');
      const atLimit = await call(`${prefix}/small-body`, { method: 'POST', body: 'z'.repeat(64) });
      assert.equal(atLimit.response.status, 200);
      assert.equal(language.read(atLimit.body).body.toString(), 'z'.repeat(64));
    });
  });
}

test('an unknown path and a failing request also carry an X-Request-Id, and a sane client id is kept', async () => {
  assert.equal((await call('/nowhere')).response.status, 404);
  const given = await call('/c/echo', { headers: { 'x-request-id': 'client-chosen-id.42' } });
  assert.equal(given.requestId, 'client-chosen-id.42');
  const lines = await linesOfRequest(server.logs, 'client-chosen-id.42');
  assert.ok(lines.some((line) => line.msg === 'request'), 'the access line carries the client\'s id');
});
