//! calculator: one arithmetic operation on two numbers.
//!
//!     GET /calculator?op=add&a=15&b=25  ->  15.00 + 25.00 = 40.00
//!
//! Mistakes in the query (a missing operand, an unknown op, division by zero)
//! are answered with a readable "Error: ..." line and status 200, as the
//! original Go instrument did.

use std::io::{self, Write};

const OPERATIONS: &str = "Supported operations: add, sub, mul, div, pow, mod";

fn main() {
    let params = wasio_request::read_params("calculator").unwrap_or_default();
    let param = |k: &str| params.get(k).and_then(|v| v.as_str()).unwrap_or("").to_string();
    let answer = calculate(&param("op").to_lowercase(), &param("a"), &param("b"));
    let _ = writeln!(io::stdout().lock(), "{}", answer);
}

fn calculate(op: &str, a: &str, b: &str) -> String {
    if op.is_empty() || a.is_empty() || b.is_empty() {
        return format!("Usage: /calculator?op=add&a=5&b=3\n{}", OPERATIONS);
    }
    let a = match parse_number(a) {
        Some(x) => x,
        None => return format!("Error: invalid number 'a': {}", a),
    };
    let b = match parse_number(b) {
        Some(x) => x,
        None => return format!("Error: invalid number 'b': {}", b),
    };
    let (symbol, result) = match op {
        "add" | "+" => ("+", a + b),
        "sub" | "-" => ("-", a - b),
        "mul" | "*" => ("*", a * b),
        "div" | "/" if b == 0.0 => return "Error: division by zero".into(),
        "div" | "/" => ("/", a / b),
        // Any real exponent works; the result just has to be a number.
        "pow" | "**" | "^" => {
            let r = a.powf(b);
            return match check(r) {
                Ok(r) => format!("{:.2} ^ {} = {:.2}", a, b, r),
                Err(e) => e,
            };
        }
        // Modulo works on the integer parts, with the sign of the dividend.
        "mod" | "%" => {
            let (x, y) = (a.trunc() as i64, b.trunc() as i64);
            return match x.checked_rem(y) {
                Some(r) => format!("{} % {} = {}", x, y, r),
                None if y == 0 => "Error: modulo by zero".into(),
                None => format!("Error: {} % {} overflows", x, y),
            };
        }
        _ => return format!("Error: unsupported operation '{}'\n{}", op, OPERATIONS),
    };
    match check(result) {
        Ok(r) => format!("{:.2} {} {:.2} = {:.2}", a, symbol, b, r),
        Err(e) => e,
    }
}

/// Turns results that cannot be printed as a number into an error message.
fn check(r: f64) -> Result<f64, String> {
    if r.is_nan() {
        Err("Error: the result is not a real number".into())
    } else if r.is_infinite() {
        Err("Error: the result is too large".into())
    } else {
        Ok(r)
    }
}

/// Accepts finite decimal numbers only ("inf" and "NaN" would parse, but are
/// no useful operands).
fn parse_number(s: &str) -> Option<f64> {
    s.parse::<f64>().ok().filter(|x| x.is_finite())
}

