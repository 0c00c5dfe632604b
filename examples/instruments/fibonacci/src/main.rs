//! fibonacci: the n-th Fibonacci number, exact for any n up to MAX_N.
//!
//!     GET /fibonacci?n=15  ->  Fibonacci number for n=15 is 610

use std::io::{self, Write};

/// F(10000) has 2090 digits and takes about a millisecond; the bound keeps a
/// request from occupying a worker for long.
const MAX_N: u64 = 10_000;

/// A bignum limb holds 18 decimal digits: the sum of two limbs stays below
/// 2^64, and printing needs no base conversion.
const LIMB: u64 = 1_000_000_000_000_000_000;

fn main() {
    let n = wasio_request::read_params("fibonacci").and_then(|p| p.get("n").and_then(|v| v.as_str()).map(String::from));
    let mut out = io::stdout().lock();
    let n = match n.as_deref().map(str::parse::<i64>) {
        Some(Ok(n)) if n >= 0 => n as u64,
        _ => {
            let _ = writeln!(out, "Please provide a valid non-negative integer for 'n'.");
            return;
        }
    };
    if n > MAX_N {
        let _ = writeln!(out, "Please provide a value of 'n' no greater than {}.", MAX_N);
        return;
    }
    let _ = writeln!(out, "Fibonacci number for n={} is {}", n, to_decimal(&fibonacci(n)));
}

/// F(n) as little-endian base-10^18 limbs, by plain iteration.
fn fibonacci(n: u64) -> Vec<u64> {
    let (mut a, mut b) = (vec![0u64], vec![1u64]);
    for _ in 0..n {
        let sum = add(&a, &b);
        a = b;
        b = sum;
    }
    a
}

fn add(x: &[u64], y: &[u64]) -> Vec<u64> {
    let mut sum = Vec::with_capacity(x.len().max(y.len()) + 1);
    let mut carry = 0;
    for i in 0..x.len().max(y.len()) {
        let s = x.get(i).unwrap_or(&0) + y.get(i).unwrap_or(&0) + carry;
        carry = s / LIMB;
        sum.push(s % LIMB);
    }
    if carry > 0 {
        sum.push(carry);
    }
    sum
}

fn to_decimal(limbs: &[u64]) -> String {
    let mut s = limbs.last().unwrap().to_string();
    for limb in limbs.iter().rev().skip(1) {
        s.push_str(&format!("{:018}", limb));
    }
    s
}
