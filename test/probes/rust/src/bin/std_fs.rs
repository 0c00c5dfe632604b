//! What a real program does with files under /data through std::fs, then the same ways out of
//! the mount that the escape probe tries with raw calls (see the escape test for the layout).
//! Each line ends in "ok", a value, or "err <errno name>".

use std::fs::{self, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};

/// wasi-libc's errno values are WASI's, so std's raw OS error is the WASI errno.
fn errno_name(error: &io::Error) -> String {
    match error.raw_os_error() {
        Some(2) => "acces".into(),
        Some(20) => "exist".into(),
        Some(44) => "noent".into(),
        Some(54) => "notdir".into(),
        Some(69) => "rofs".into(),
        Some(76) => "notcapable".into(),
        Some(other) => format!("errno-{other}"),
        None => format!("{:?}", error.kind()),
    }
}

fn report<T: std::fmt::Display>(label: &str, result: io::Result<T>) {
    match result {
        Ok(value) => println!("{label} {value}"),
        Err(error) => println!("{label} err {}", errno_name(&error)),
    }
}

fn done(result: io::Result<()>) -> io::Result<&'static str> {
    result.map(|()| "ok")
}

/// Directory entries by name, sorted: the host's order is its file system's.
fn listing(path: &str) -> io::Result<String> {
    let mut names = fs::read_dir(path)?
        .map(|entry| entry.map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect::<io::Result<Vec<_>>>()?;
    names.sort();
    Ok(names.join(","))
}

fn ordinary_files() {
    report("write", done(fs::write("/data/hello.txt", "hello from rust")));
    report("read", fs::read_to_string("/data/hello.txt"));
    let appended = OpenOptions::new().append(true).open("/data/hello.txt")
        .and_then(|mut file| file.write_all(b" again"));
    report("append", done(appended));
    report("read", fs::read_to_string("/data/hello.txt"));

    let rewound = (|| {
        let mut file = OpenOptions::new().read(true).write(true).create(true).open("/data/rw.bin")?;
        file.write_all(b"0123456789")?;
        file.seek(SeekFrom::Start(3))?;
        let mut four = [0u8; 4];
        file.read_exact(&mut four)?;
        file.set_len(5)?;
        Ok(format!("{} len {}", String::from_utf8_lossy(&four), file.metadata()?.len()))
    })();
    report("seek-read-set_len", rewound);

    report("metadata is_file", fs::metadata("/data/hello.txt").map(|m| m.is_file()));
    report("create_dir_all", done(fs::create_dir_all("/data/a/b/c")));
    report("write deep", done(fs::write("/data/a/b/c/deep.txt", "deep")));
    report("rename", done(fs::rename("/data/hello.txt", "/data/renamed.txt")));
    report("exists old-name", Ok::<_, io::Error>(fs::metadata("/data/hello.txt").is_ok()));
    report("hard_link", done(fs::hard_link("/data/renamed.txt", "/data/linked.txt")));
    report("copy", fs::copy("/data/renamed.txt", "/data/copy.txt"));
    report("read_link planted", fs::read_link("/data/inner").map(|p| p.display().to_string()));
    report("read through planted inner link", fs::read_to_string("/data/inner/file.txt"));
    report("list /data", listing("/data"));
    report("remove_file", done(fs::remove_file("/data/copy.txt")));
    report("remove_dir_all", done(fs::remove_dir_all("/data/a")));
    report("remove_dir missing", done(fs::remove_dir("/data/a")));
}

fn escapes() {
    for path in [
        "/data/../outside/secret.txt", "/data/up/secret.txt", "/data/up-file",
        "/data/abs/secret.txt", "/data/etc/passwd",
    ] {
        // A byte count, not the content: a leak of /etc/passwd should not end up in a log.
        report(&format!("escape read {path}"), fs::read(path).map(|bytes| bytes.len()));
    }
    report("escape metadata /data/up/secret.txt", fs::metadata("/data/up/secret.txt").map(|m| m.len()));
    report("escape read_dir /data/up", listing("/data/up"));
    report("escape write /data/up/new.txt", done(fs::write("/data/up/new.txt", "escaped")));
    report("escape write /data/abs/new.txt", done(fs::write("/data/abs/new.txt", "escaped")));
    report("escape truncate /data/up-file", done(fs::write("/data/up-file", "")));
    report("escape create_dir /data/up/newdir", done(fs::create_dir("/data/up/newdir")));
    report("escape rename out", done(fs::rename("/data/inside.txt", "/data/up/x")));
    report("escape rename in", done(fs::rename("/data/up/secret.txt", "/data/stolen.txt")));
    report("escape hard_link in", done(fs::hard_link("/data/up/secret.txt", "/data/stolen.txt")));
    report("escape remove_file", done(fs::remove_file("/data/abs/secret.txt")));
}

fn main() {
    ordinary_files();
    escapes();
    println!("done");
}
