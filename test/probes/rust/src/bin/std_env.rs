//! What a real program sees of its process: arguments, environment and stdin through std,
//! echoed back so the test can compare them with what it passed.

use std::io::{Read, Write};

fn main() {
    for (index, arg) in std::env::args().enumerate() {
        println!("arg {index} [{arg}]");
    }
    let mut vars: Vec<(String, String)> = std::env::vars().collect();
    vars.sort();
    for (key, value) in vars {
        println!("env {key}=[{value}]");
    }
    let mut input = Vec::new();
    std::io::stdin().read_to_end(&mut input).expect("stdin");
    println!("stdin {} bytes", input.len());
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(&input.to_ascii_uppercase()).expect("stdout");
    stdout.flush().expect("flush");
    eprintln!("to stderr");
}
