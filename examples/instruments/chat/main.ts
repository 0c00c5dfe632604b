// chat: a small chat room whose messages live in a mounted directory.
//
//   GET  /chat                                  the chat page (HTML, polls every 2 s)
//   GET  /chat?action=get&n=50                  the last n messages (JSON array, n <= 100)
//   POST /chat  action=send&username=..&text=.. append a message (form fields or query)
//
// Messages are stored one JSON object per line in /chat/messages.jsonl. A new
// message is appended with a single write to a file opened with O_APPEND, so
// concurrent requests never lose or interleave each other's messages, and no
// request ever rewrites the file.
//
// The runtime is "stub" (no garbage collector): an instance serves one request
// and is thrown away, so memory is never worth reclaiming.

import {
  errno, fd, fd_close, fd_filestat_get, fd_prestat_dir_name, fd_prestat_get, fd_pread, fd_write,
  fdflags, filestat, oflags, path_open, prestat, preopentype, rights,
} from "~lib/bindings/wasi_snapshot_preview1";
import { UI } from "./ui";

const CHAT_DIR = "/chat";
const MESSAGES = "messages.jsonl";
const MAX_STORED = 100; // the most messages a client may ask for
const DEFAULT_COUNT = 50;
const MAX_NAME = 40; // characters
const MAX_TEXT = 1000; // characters
// Reading this much of the file's end always covers MAX_STORED messages:
// a message line is at most ~6 bytes per character of name and text.
const TAIL_BYTES: u64 = 1 << 20;

// Scratch memory for the out-parameters of WASI calls.
const scratch = memory.data(64);

// ---------------------------------------------------------------- request

class Request {
  params: Map<string, string> = new Map<string, string>();
  method: string = "";
  ok: bool = true;
}

// A strict JSON reader over the decoded request text, just enough to pick
// out the string members of "params" and the "method".
class Parser {
  pos: i32 = 0;
  ok: bool = true;
  constructor(public s: string) {}

  peek(): i32 {
    return this.pos < this.s.length ? this.s.charCodeAt(this.pos) : -1;
  }
  fail(): void {
    this.ok = false;
    this.pos = this.s.length;
  }
  ws(): void {
    let c = this.peek();
    while (c == 0x20 || c == 0x09 || c == 0x0a || c == 0x0d) {
      this.pos++;
      c = this.peek();
    }
  }
  expect(c: i32): void {
    this.ws();
    if (this.peek() == c) this.pos++;
    else this.fail();
  }

  hex4(at: i32): i32 {
    if (at + 4 > this.s.length) return -1;
    let v = 0;
    for (let i = 0; i < 4; i++) {
      const c = this.s.charCodeAt(at + i);
      v <<= 4;
      if (c >= 0x30 && c <= 0x39) v |= c - 0x30;
      else if (c >= 0x61 && c <= 0x66) v |= c - 0x61 + 10;
      else if (c >= 0x41 && c <= 0x46) v |= c - 0x41 + 10;
      else return -1;
    }
    return v;
  }

  // A string starting at the current '"'. Lone surrogates become U+FFFD so
  // that everything written back out is valid UTF-8.
  str(): string {
    this.expect(0x22);
    let out = "";
    let start = this.pos;
    while (this.ok) {
      const c = this.peek();
      if (c < 0x20) {
        this.fail();
        break;
      }
      if (c == 0x22) {
        out += this.s.substring(start, this.pos);
        this.pos++;
        return out;
      }
      if (c != 0x5c) {
        this.pos++;
        continue;
      }
      out += this.s.substring(start, this.pos);
      const e = this.s.charCodeAt(this.pos + 1);
      this.pos += 2;
      if (e == 0x22) out += "\"";
      else if (e == 0x5c) out += "\\";
      else if (e == 0x2f) out += "/";
      else if (e == 0x62) out += "\b";
      else if (e == 0x66) out += "\f";
      else if (e == 0x6e) out += "\n";
      else if (e == 0x72) out += "\r";
      else if (e == 0x74) out += "\t";
      else if (e == 0x75) {
        let cp = this.hex4(this.pos);
        if (cp < 0) {
          this.fail();
          break;
        }
        this.pos += 4;
        if (cp >= 0xd800 && cp < 0xdc00 && this.s.charCodeAt(this.pos) == 0x5c &&
            this.s.charCodeAt(this.pos + 1) == 0x75) {
          const lo = this.hex4(this.pos + 2);
          if (lo >= 0xdc00 && lo < 0xe000) {
            cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            this.pos += 6;
          }
        }
        if (cp >= 0xd800 && cp < 0xe000) cp = 0xfffd;
        out += String.fromCodePoint(cp);
      } else {
        this.fail();
      }
      start = this.pos;
    }
    return "";
  }

  // Skips any value.
  skip(depth: i32): void {
    this.ws();
    const c = this.peek();
    if (depth > 64) this.fail();
    else if (c == 0x22) this.str();
    else if (c == 0x7b) this.object(null, depth);
    else if (c == 0x5b) {
      this.pos++;
      this.ws();
      if (this.peek() == 0x5d) {
        this.pos++;
        return;
      }
      while (this.ok) {
        this.skip(depth + 1);
        this.ws();
        if (this.peek() == 0x5d) {
          this.pos++;
          return;
        }
        this.expect(0x2c);
      }
    } else if (this.s.startsWith("true", this.pos)) this.pos += 4;
    else if (this.s.startsWith("false", this.pos)) this.pos += 5;
    else if (this.s.startsWith("null", this.pos)) this.pos += 4;
    else this.number();
  }

  number(): void {
    const start = this.pos;
    if (this.peek() == 0x2d) this.pos++;
    let digits = 0;
    while (this.peek() >= 0x30 && this.peek() <= 0x39) {
      this.pos++;
      digits++;
    }
    if (digits == 0) {
      this.fail();
      return;
    }
    if (this.peek() == 0x2e) {
      this.pos++;
      if (!(this.peek() >= 0x30 && this.peek() <= 0x39)) this.fail();
      while (this.peek() >= 0x30 && this.peek() <= 0x39) this.pos++;
    }
    if (this.peek() == 0x65 || this.peek() == 0x45) {
      this.pos++;
      if (this.peek() == 0x2b || this.peek() == 0x2d) this.pos++;
      if (!(this.peek() >= 0x30 && this.peek() <= 0x39)) this.fail();
      while (this.peek() >= 0x30 && this.peek() <= 0x39) this.pos++;
    }
    if (digits > 1 && this.s.charCodeAt(start + (this.s.charCodeAt(start) == 0x2d ? 1 : 0)) == 0x30) this.fail();
  }

  // An object. With req, this is the request itself (depth 0) or its params
  // (depth 1), and the interesting members are stored in req.
  object(req: Request | null, depth: i32): void {
    this.expect(0x7b);
    this.ws();
    if (this.peek() == 0x7d) {
      this.pos++;
      return;
    }
    while (this.ok) {
      this.ws();
      const key = this.str();
      this.expect(0x3a);
      this.ws();
      const c = this.peek();
      if (req != null && depth == 1 && c == 0x22) {
        req.params.set(key, this.str());
      } else if (req != null && depth == 0 && key == "params" && c == 0x7b) {
        this.object(req, 1);
      } else if (req != null && depth == 0 && key == "method" && c == 0x22) {
        req.method = this.str();
      } else {
        this.skip(depth + 1);
      }
      this.ws();
      if (this.peek() == 0x7d) {
        this.pos++;
        return;
      }
      this.expect(0x2c);
    }
  }
}

function parseRequest(text: string): Request {
  const req = new Request();
  const p = new Parser(text);
  p.ws();
  if (p.pos < text.length) {
    p.object(req, 0);
    p.ws();
    req.ok = p.ok && p.pos == text.length;
  }
  return req;
}

// Whether a stored line is one JSON object (so a damaged line is skipped
// instead of breaking the array sent to clients).
function isObject(line: string): bool {
  const p = new Parser(line);
  p.ws();
  if (p.peek() != 0x7b) return false;
  p.skip(0);
  p.ws();
  return p.ok && p.pos == line.length;
}

function readStdin(): string {
  const chunks = new Array<ArrayBuffer>();
  let total = 0;
  while (true) {
    const buf = new ArrayBuffer(16384);
    const n = process.stdin.read(buf);
    if (n <= 0) break;
    chunks.push(buf.slice(0, n));
    total += n;
  }
  const all = new Uint8Array(total);
  let off = 0;
  for (let i = 0; i < chunks.length; i++) {
    all.set(Uint8Array.wrap(chunks[i]), off);
    off += chunks[i].byteLength;
  }
  return String.UTF8.decode(all.buffer);
}

// ---------------------------------------------------------------- storage

// The file descriptor of the preopened directory mounted at CHAT_DIR, or -1.
function chatDir(): i32 {
  for (let dirfd = 3; dirfd < 1024; dirfd++) {
    if (fd_prestat_get(<fd>dirfd, changetype<prestat>(scratch)) != errno.SUCCESS) return -1;
    if (load<u8>(scratch) != preopentype.DIR) continue;
    const len = load<u32>(scratch, 4);
    const name = new ArrayBuffer(<i32>len);
    if (fd_prestat_dir_name(<fd>dirfd, changetype<usize>(name), len) != errno.SUCCESS) continue;
    let path = String.UTF8.decode(name);
    while (path.length > 1 && path.endsWith("/")) path = path.substring(0, path.length - 1);
    if (path == CHAT_DIR) return dirfd;
  }
  return -1;
}

function openMessages(dirfd: i32, flags: oflags, base: rights, fsflags: fdflags): i32 {
  const path = String.UTF8.encode(MESSAGES);
  const err = path_open(<fd>dirfd, 0, changetype<usize>(path), path.byteLength, flags, base, 0, fsflags, scratch);
  return err == errno.SUCCESS ? <i32>load<u32>(scratch) : -<i32>err;
}

// Appends one line with one write call on an O_APPEND descriptor: the
// operating system places the whole line at the end of the file, even when
// other instances append at the same moment.
function appendLine(dirfd: i32, line: string): bool {
  const file = openMessages(dirfd, oflags.CREAT, rights.FD_WRITE, fdflags.APPEND);
  if (file < 0) return false;
  const data = String.UTF8.encode(line);
  let done = 0;
  let ok = true;
  while (done < data.byteLength) {
    store<usize>(scratch, changetype<usize>(data) + done);
    store<usize>(scratch, data.byteLength - done, sizeof<usize>());
    if (fd_write(<fd>file, scratch, 1, scratch + 16) != errno.SUCCESS) {
      ok = false;
      break;
    }
    done += <i32>load<usize>(scratch, 16);
  }
  fd_close(<fd>file);
  return ok;
}

// The last `count` complete, well-formed lines of the message file.
function lastLines(dirfd: i32, count: i32): string[] {
  const lines = new Array<string>();
  const file = openMessages(dirfd, 0, rights.FD_READ | rights.FD_SEEK | rights.FD_FILESTAT_GET, 0);
  if (file < 0) return lines; // no messages yet
  if (fd_filestat_get(<fd>file, changetype<filestat>(scratch)) != errno.SUCCESS) {
    fd_close(<fd>file);
    return lines;
  }
  const size = load<u64>(scratch, 32);
  const offset = size > TAIL_BYTES ? size - TAIL_BYTES : 0;
  const buf = new ArrayBuffer(<i32>(size - offset));
  let got = 0;
  while (got < buf.byteLength) {
    store<usize>(scratch, changetype<usize>(buf) + got);
    store<usize>(scratch, buf.byteLength - got, sizeof<usize>());
    if (fd_pread(<fd>file, scratch, 1, offset + got, scratch + 16) != errno.SUCCESS) break;
    const n = <i32>load<usize>(scratch, 16);
    if (n == 0) break;
    got += n;
  }
  fd_close(<fd>file);

  const all = String.UTF8.decode(buf.slice(0, got)).split("\n");
  // The last piece is "" after a final newline, or a line still being
  // written; the first is cut in the middle when the read started mid-file.
  const first = offset > 0 ? 1 : 0;
  for (let i = all.length - 2; i >= first && lines.length < count; i--) {
    if (isObject(all[i])) lines.unshift(all[i]);
  }
  return lines;
}

// ---------------------------------------------------------------- output

function jsonString(s: string): string {
  let out = "\"";
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x20 && c != 0x22 && c != 0x5c) continue;
    out += s.substring(start, i);
    if (c == 0x22) out += "\\\"";
    else if (c == 0x5c) out += "\\\\";
    else if (c == 0x0a) out += "\\n";
    else out += "\\u00" + (c < 0x10 ? "0" : "") + c.toString(16);
    start = i + 1;
  }
  return out + s.substring(start) + "\"";
}

function reply(json: string): void {
  process.stdout.write(json + "\n");
}

function error(message: string): void {
  reply("{\"error\":" + jsonString(message) + "}");
}

// ---------------------------------------------------------------- actions

function send(req: Request, dirfd: i32): void {
  let name = req.params.has("username") ? req.params.get("username").trim() : "";
  if (name.length == 0) name = "Anonymous";
  const text = req.params.has("text") ? req.params.get("text").trim() : "";
  if (text.length == 0) return error("Message is empty");
  if (name.length > MAX_NAME) return error("Name is too long (at most " + MAX_NAME.toString() + " characters)");
  if (text.length > MAX_TEXT) return error("Message is too long (at most " + MAX_TEXT.toString() + " characters)");
  const seconds = Date.now() / 1000;
  const line = "{\"timestamp\":" + seconds.toString() + ",\"username\":" + jsonString(name) +
    ",\"text\":" + jsonString(text) + "}\n";
  if (!appendLine(dirfd, line)) return error("Write failed");
  reply("{\"status\":\"ok\"}");
}

function list(req: Request, dirfd: i32): void {
  let count = DEFAULT_COUNT;
  if (req.params.has("n")) {
    const n = I32.parseInt(req.params.get("n"));
    if (n > 0 && n <= MAX_STORED) count = n;
  }
  reply("[" + lastLines(dirfd, count).join(",") + "]");
}

const req = parseRequest(readStdin());
if (!req.ok) {
  process.stderr.write("chat: the request on stdin is not a JSON object\n");
  process.exit(1);
}
const action = req.params.has("action") ? req.params.get("action").toLowerCase() : "";
if (action == "" || action == "ui") {
  process.stdout.write(UI);
} else {
  const dirfd = chatDir();
  if (dirfd < 0) {
    process.stderr.write("chat: no directory is mounted at " + CHAT_DIR + "\n");
    process.exit(1);
  }
  if (action == "send") send(req, dirfd);
  else list(req, dirfd); // "get", and anything else, as in the original
}
