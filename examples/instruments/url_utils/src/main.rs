//! url_utils: encodes, decodes, dissects, checks and resolves URLs.
//!
//!     GET /url_utils?op=encode&input=a b&c      ->  URL encoded: a+b%26c
//!     GET /url_utils?op=parse&input=https://example.com/p?k=v
//!     GET /url_utils?op=join&base=https://example.com/a/b&input=../c
//!
//! Parsing follows RFC 3986 with the checks Go's net/url makes, so this
//! instrument accepts and rejects the same inputs as the original one.

use std::io::{self, Write};

const OPERATIONS: &str = "Operations: encode, decode, parse, validate, join";

fn main() {
    let params = wasio_request::read_params("url_utils").unwrap_or_default();
    let param = |k: &str| params.get(k).and_then(|v| v.as_str()).unwrap_or("").to_string();
    let input = param("input");
    let answer = if input.is_empty() {
        format!("Usage: /url_utils?op=encode&input=hello world\n{}\n", OPERATIONS).into_bytes()
    } else {
        run(&param("op").to_lowercase(), &input, &param("base"))
    };
    let _ = io::stdout().lock().write_all(&answer);
}

/// Runs one operation and returns the response body. Decoding may produce
/// bytes that are not UTF-8, so the body is bytes.
fn run(op: &str, input: &str, base: &str) -> Vec<u8> {
    let text = match op {
        "encode" => format!("URL encoded: {}\n", query_escape(input)),
        "decode" => match unescape(input, true) {
            Ok(bytes) => return [b"URL decoded: ".as_ref(), &bytes, b"\n"].concat(),
            Err(e) => format!("Error decoding URL: {}\n", e),
        },
        "parse" => match Url::parse(input) {
            Ok(url) => describe(&url),
            Err(e) => format!("Error parsing URL: {}\n", e),
        },
        "validate" => match Url::parse(input) {
            Ok(url) => {
                let mut issues = Vec::new();
                if url.scheme.is_empty() {
                    issues.push("missing scheme");
                }
                if url.host.is_none() && (url.scheme == "http" || url.scheme == "https") {
                    issues.push("missing host for http/https URL");
                }
                if issues.is_empty() {
                    format!("Valid URL: {}\n", input)
                } else {
                    format!("Invalid URL: {}\n", issues.join(", "))
                }
            }
            Err(e) => format!("Invalid URL: {}\n", e),
        },
        "join" if base.is_empty() => "Error: base parameter required for join operation\n".into(),
        "join" => match (Url::parse(base), Url::parse(input)) {
            (Err(e), _) => format!("Error parsing base URL: {}\n", e),
            (_, Err(e)) => format!("Error parsing relative URL: {}\n", e),
            (Ok(b), Ok(r)) => format!("Joined URL: {}\n", b.resolve(&r)),
        },
        _ => format!("Error: unsupported operation '{}'\n{}\n", op, OPERATIONS),
    };
    text.into_bytes()
}

fn describe(url: &Url) -> String {
    let decoded = |s: &str| String::from_utf8_lossy(&unescape(s, false).unwrap_or_default()).into_owned();
    let mut out = String::from("URL components:\n");
    out += &format!("  Scheme: {}\n", url.scheme);
    if !url.opaque.is_empty() {
        out += &format!("  Opaque: {}\n", url.opaque);
    }
    out += &format!("  Host: {}\n", decoded(url.host.as_deref().unwrap_or("")));
    out += &format!("  Path: {}\n", decoded(&url.path));
    out += &format!("  Query: {}\n", url.query.as_deref().unwrap_or(""));
    out += &format!("  Fragment: {}\n", decoded(url.fragment.as_deref().unwrap_or("")));
    if let Some(user) = &url.user {
        let name = user.split(':').next().unwrap_or("");
        out += &format!("  User: {}\n", decoded(name));
    }
    if let Some(Ok(pairs)) = url.query.as_deref().filter(|q| !q.is_empty()).map(parse_query) {
        out += "  Query parameters:\n";
        for (k, v) in pairs {
            out += &format!("    {} = {}\n", k, v);
        }
    }
    out
}

/// A URL split into its RFC 3986 components, each still percent-encoded.
#[derive(Default)]
struct Url {
    scheme: String,
    opaque: String,         // "mailto:" URLs: everything after the scheme
    user: Option<String>,   // userinfo, without the '@'
    host: Option<String>,   // host[:port]; Some when there is an authority
    path: String,
    query: Option<String>,
    fragment: Option<String>,
}

impl Url {
    fn parse(raw: &str) -> Result<Url, String> {
        let fail = |why: String| Err(format!("parse {:?}: {}", raw, why));
        if raw.bytes().any(|b| b < 0x20 || b == 0x7f) {
            return fail("net/url: invalid control character in URL".into());
        }
        let mut url = Url::default();
        let mut rest = raw;
        if let Some(i) = rest.find('#') {
            url.fragment = Some(rest[i + 1..].to_string());
            rest = &rest[..i];
        }
        if let Err(e) = check_escapes(url.fragment.as_deref().unwrap_or("")) {
            return fail(e);
        }
        match split_scheme(rest) {
            Ok(Some((scheme, after))) => {
                url.scheme = scheme.to_ascii_lowercase();
                rest = after;
            }
            Ok(None) => {}
            Err(e) => return fail(e),
        }
        if let Some(i) = rest.find('?') {
            url.query = Some(rest[i + 1..].to_string());
            rest = &rest[..i];
        }
        if !url.scheme.is_empty() && !rest.starts_with('/') {
            url.opaque = rest.to_string();
            return Ok(url);
        }
        if url.scheme.is_empty() {
            // Without a scheme, "a:b/c" would be ambiguous with a scheme.
            let first = rest.split('/').next().unwrap_or("");
            if first.contains(':') {
                return fail("first path segment in URL cannot contain colon".into());
            }
        }
        if let Some(after) = rest.strip_prefix("//") {
            let end = after.find('/').unwrap_or(after.len());
            let authority = &after[..end];
            rest = &after[end..];
            let host = match authority.rfind('@') {
                Some(i) => {
                    let user = &authority[..i];
                    if !user.bytes().all(|b| is_unreserved(b) || b"%!$&'()*+,;=:@".contains(&b)) {
                        return fail("net/url: invalid userinfo".into());
                    }
                    if let Err(e) = check_escapes(user) {
                        return fail(e);
                    }
                    url.user = Some(user.to_string());
                    &authority[i + 1..]
                }
                None => authority,
            };
            if let Err(e) = check_host(host) {
                return fail(e);
            }
            url.host = Some(host.to_string());
        }
        if let Err(e) = check_escapes(rest) {
            return fail(e);
        }
        url.path = rest.to_string();
        Ok(url)
    }

    /// Resolves `r` against `self` as a base (RFC 3986, section 5.2.2).
    fn resolve(&self, r: &Url) -> Url {
        let mut t = Url { fragment: r.fragment.clone(), ..Url::default() };
        if !r.scheme.is_empty() {
            t.scheme = r.scheme.clone();
            t.opaque = r.opaque.clone();
            t.user = r.user.clone();
            t.host = r.host.clone();
            t.path = remove_dot_segments(&r.path);
            t.query = r.query.clone();
            return t;
        }
        t.scheme = self.scheme.clone();
        if r.host.is_some() {
            t.user = r.user.clone();
            t.host = r.host.clone();
            t.path = remove_dot_segments(&r.path);
            t.query = r.query.clone();
            return t;
        }
        t.user = self.user.clone();
        t.host = self.host.clone();
        if r.path.is_empty() {
            t.path = self.path.clone();
            t.query = r.query.clone().or_else(|| self.query.clone());
        } else {
            t.query = r.query.clone();
            t.path = if r.path.starts_with('/') {
                remove_dot_segments(&r.path)
            } else if self.host.is_some() && self.path.is_empty() {
                remove_dot_segments(&format!("/{}", r.path))
            } else {
                let dir = &self.path[..self.path.rfind('/').map_or(0, |i| i + 1)];
                remove_dot_segments(&format!("{}{}", dir, r.path))
            };
        }
        t
    }
}

impl std::fmt::Display for Url {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        if !self.scheme.is_empty() {
            write!(f, "{}:", self.scheme)?;
        }
        if !self.opaque.is_empty() {
            write!(f, "{}", self.opaque)?;
        } else {
            if let Some(host) = &self.host {
                write!(f, "//")?;
                if let Some(user) = &self.user {
                    write!(f, "{}@", user)?;
                }
                write!(f, "{}", host)?;
                if !self.path.is_empty() && !self.path.starts_with('/') {
                    write!(f, "/")?;
                }
            }
            write!(f, "{}", self.path)?;
        }
        if let Some(q) = &self.query {
            write!(f, "?{}", q)?;
        }
        if let Some(frag) = &self.fragment {
            write!(f, "#{}", frag)?;
        }
        Ok(())
    }
}

/// Splits "scheme:rest". Ok(None) when `s` has no scheme.
fn split_scheme(s: &str) -> Result<Option<(&str, &str)>, String> {
    for (i, b) in s.bytes().enumerate() {
        match b {
            b'a'..=b'z' | b'A'..=b'Z' => {}
            b'0'..=b'9' | b'+' | b'-' | b'.' if i > 0 => {}
            b':' if i == 0 => return Err("missing protocol scheme".into()),
            b':' => return Ok(Some((&s[..i], &s[i + 1..]))),
            _ => return Ok(None),
        }
    }
    Ok(None)
}

/// Checks host[:port] the way Go does: an optional numeric port, and only
/// characters that may appear in a host name or an IP literal.
fn check_host(host: &str) -> Result<(), String> {
    let (name, port) = if host.starts_with('[') {
        match host.find(']') {
            Some(i) => (&host[..=i], &host[i + 1..]),
            None => return Err("missing ']' in host".into()),
        }
    } else {
        match host.rfind(':') {
            Some(i) => (&host[..i], &host[i..]),
            None => (host, ""),
        }
    };
    if !port.is_empty() && !(port.starts_with(':') && port[1..].bytes().all(|b| b.is_ascii_digit())) {
        return Err(format!("invalid port {:?} after host", port));
    }
    check_escapes(name)?;
    if let Some(c) = name.chars().find(|&c| {
        c.is_ascii() && !(is_unreserved(c as u8) || "%!$&'()*+,;=:[]<>\"".contains(c))
    }) {
        return Err(format!("invalid character {:?} in host name", c.to_string()));
    }
    Ok(())
}

fn check_escapes(s: &str) -> Result<(), String> {
    unescape(s, false).map(|_| ())
}

fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~".contains(&b)
}

/// Percent-encodes a string for use in a query, as HTML forms do: a space
/// becomes '+', every byte but the unreserved ones becomes %XX.
fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for &b in s.as_bytes() {
        match b {
            b' ' => out.push('+'),
            _ if is_unreserved(b) => out.push(b as char),
            _ => out.push_str(&format!("%{:02X}", b)),
        }
    }
    out
}

/// Decodes %XX escapes (and '+' as a space when `plus_is_space`).
fn unescape(s: &str, plus_is_space: bool) -> Result<Vec<u8>, String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                match (bytes.get(i + 1), bytes.get(i + 2)) {
                    (Some(&h), Some(&l)) if h.is_ascii_hexdigit() && l.is_ascii_hexdigit() => {
                        out.push(hex_value(h) << 4 | hex_value(l));
                    }
                    _ => {
                        let bad: String = s[i..].chars().take(3).collect();
                        return Err(format!("invalid URL escape {:?}", bad));
                    }
                }
                i += 3;
            }
            b'+' if plus_is_space => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    Ok(out)
}

fn hex_value(digit: u8) -> u8 {
    (digit as char).to_digit(16).unwrap_or(0) as u8
}

/// Splits a query into decoded (key, value) pairs, in their order.
fn parse_query(q: &str) -> Result<Vec<(String, String)>, String> {
    let mut pairs = Vec::new();
    for item in q.split('&').filter(|s| !s.is_empty()) {
        if item.contains(';') {
            return Err("invalid semicolon separator in query".into());
        }
        let (k, v) = item.split_once('=').unwrap_or((item, ""));
        let text = |s| unescape(s, true).map(|b| String::from_utf8_lossy(&b).into_owned());
        pairs.push((text(k)?, text(v)?));
    }
    Ok(pairs)
}

/// RFC 3986, section 5.2.4.
fn remove_dot_segments(path: &str) -> String {
    // The empty segment before the leading '/' of an absolute path stays.
    let keep = if path.starts_with('/') { 1 } else { 0 };
    let mut out: Vec<&str> = Vec::new();
    let segments: Vec<&str> = path.split('/').collect();
    for (i, seg) in segments.iter().enumerate() {
        let last = i == segments.len() - 1;
        match *seg {
            "." | ".." => {
                if *seg == ".." && out.len() > keep {
                    out.pop();
                }
                if last {
                    out.push(""); // "a/b/.." names the directory "a/"
                }
            }
            s => out.push(s),
        }
    }
    let joined = out.join("/");
    if path.starts_with('/') && !joined.starts_with('/') {
        format!("/{}", joined)
    } else {
        joined
    }
}

