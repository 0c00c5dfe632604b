// cgi protocol, Rust: a module written the way WAGI's documentation teaches, and nothing more.
// It prints a Content-Type header and the blank line that ends the headers (println! adds the
// second newline), then its text, reading the query from QUERY_STRING and from the arguments
// (argument 0 is the path, then one argument per `&`-separated query item). It knows nothing
// of WASIO and must run unchanged.

fn main() {
    println!("Content-Type: text/plain\n");
    println!("hello world");

    let query = std::env::var("QUERY_STRING").unwrap_or_default();
    println!("query: {}", query);

    for (index, arg) in std::env::args().enumerate() {
        println!("arg {}: {}", index, arg);
    }
}
