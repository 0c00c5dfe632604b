//! A Rust panic: the message goes to stderr, then the abort traps (`unreachable`).

fn main() {
    println!("before panic");
    panic!("probe panic");
}
