//! The request reader shared by the Rust instruments: the `wasio` payload on stdin.

use std::io::{self, Read};
use std::process::exit;

/// Reads the request on stdin and returns its "params" object. An empty stdin
/// counts as a request without parameters; malformed JSON is the host's fault
/// and ends the instance with exit code 1 (a 500), naming `program` on stderr.
pub fn read_params(program: &str) -> Option<serde_json::Map<String, serde_json::Value>> {
    let mut input = Vec::new();
    if io::stdin().read_to_end(&mut input).is_err() || input.iter().all(u8::is_ascii_whitespace) {
        return None;
    }
    match serde_json::from_slice::<serde_json::Value>(&input) {
        Ok(serde_json::Value::Object(mut req)) => match req.remove("params") {
            Some(serde_json::Value::Object(params)) => Some(params),
            _ => None,
        },
        _ => {
            eprintln!("{}: the request is not a JSON object", program);
            exit(1);
        }
    }
}
