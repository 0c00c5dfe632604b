//! text_utils: transforms and inspects the text in ?text=.
//!
//!     GET /text_utils?op=palindrome&text=racecar  ->  Is palindrome: true ...
//!
//! Every successful answer ends with a few statistics about the input text.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{self, Write};

const OPERATIONS: &str =
    "Operations: upper, lower, title, reverse, length, words, chars, trim, split, contains, replace, palindrome";

fn main() {
    let params = wasio_request::read_params("text_utils").unwrap_or_default();
    let param = |k: &str| params.get(k).and_then(|v| v.as_str()).unwrap_or("").to_string();
    let text = param("text");
    let answer = if text.is_empty() {
        format!("Usage: /text_utils?op=upper&text=hello\n{}\n", OPERATIONS)
    } else {
        match apply(&param("op").to_lowercase(), &text, &param) {
            Ok(result) => result + &statistics(&text),
            Err(message) => message,
        }
    };
    let _ = io::stdout().lock().write_all(answer.as_bytes());
}

/// Runs one operation. Err carries a complete message for a bad request.
fn apply(op: &str, text: &str, param: &dyn Fn(&str) -> String) -> Result<String, String> {
    let mut out = String::new();
    match op {
        "upper" => writeln!(out, "Uppercase: {}", text.to_uppercase()),
        "lower" => writeln!(out, "Lowercase: {}", text.to_lowercase()),
        "title" => writeln!(out, "Title case: {}", title_case(text)),
        "reverse" => writeln!(out, "Reversed: {}", text.chars().rev().collect::<String>()),
        "length" | "len" => writeln!(out, "Length: {} characters", text.chars().count()),
        "words" => {
            let words: Vec<&str> = text.split_whitespace().collect();
            let _ = writeln!(out, "Word count: {}", words.len());
            if words.len() <= 10 {
                let _ = writeln!(out, "Words: [{}]", words.join(" "));
            }
            Ok(())
        }
        "chars" => {
            let mut counts = BTreeMap::new();
            for c in text.chars() {
                *counts.entry(c).or_insert(0) += 1;
            }
            let _ = writeln!(out, "Character count: {} unique characters", counts.len());
            if counts.len() <= 20 {
                let list: Vec<String> = counts.iter().map(|(c, n)| format!("{:?}: {}", c, n)).collect();
                let _ = writeln!(out, "Character frequency: {}", list.join(", "));
            }
            Ok(())
        }
        "trim" => {
            let trimmed = text.trim();
            let removed = text.chars().count() - trimmed.chars().count();
            writeln!(out, "Trimmed: '{}'\nRemoved {} characters", trimmed, removed)
        }
        "split" => {
            let delimiter = param("delimiter");
            let delimiter = if delimiter.is_empty() { ",".to_string() } else { delimiter };
            let parts: Vec<&str> = text.split(delimiter.as_str()).collect();
            let _ = writeln!(out, "Split by '{}': {} parts", delimiter, parts.len());
            for (i, part) in parts.iter().enumerate() {
                let _ = writeln!(out, "  [{}]: {}", i, part.trim());
            }
            Ok(())
        }
        "contains" => {
            let search = param("search");
            if search.is_empty() {
                return Err("Error: search parameter required for contains operation\n".into());
            }
            writeln!(out, "'{}' appears {} times in text", search, text.matches(search.as_str()).count())
        }
        "replace" => {
            let (old, new) = (param("old"), param("new"));
            if old.is_empty() {
                return Err("Error: old parameter required for replace operation\n".into());
            }
            writeln!(out, "Replaced '{}' with '{}': {}", old, new, text.replace(old.as_str(), &new))
        }
        "palindrome" => writeln!(out, "Is palindrome: {}", is_palindrome(text)),
        _ => return Err(format!("Error: unsupported operation '{}'\n{}\n", op, OPERATIONS)),
    }
    .map_err(|e| e.to_string())?;
    Ok(out)
}

/// Upper-cases the first letter of every word and leaves the rest alone, so
/// acronyms survive ("the NASA way" -> "The NASA Way").
fn title_case(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut at_word_start = true;
    for c in text.chars() {
        if at_word_start {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        // Letters, digits, underscores and non-ASCII symbols belong to a
        // word; whitespace and ASCII punctuation separate words.
        at_word_start = c.is_whitespace() || (c.is_ascii() && !c.is_ascii_alphanumeric() && c != '_');
    }
    out
}

/// Compares letters and digits only, ignoring case, so that phrases such as
/// "A man, a plan, a canal: Panama" count.
fn is_palindrome(text: &str) -> bool {
    let chars: Vec<char> = text.chars().filter(|c| c.is_alphanumeric()).flat_map(char::to_lowercase).collect();
    chars.iter().eq(chars.iter().rev())
}

fn statistics(text: &str) -> String {
    format!(
        "\nText statistics:\n  Length: {} characters\n  Words: {}\n  Lines: {}\n",
        text.chars().count(),
        text.split_whitespace().count(),
        text.matches('\n').count() + 1
    )
}

