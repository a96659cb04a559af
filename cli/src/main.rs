//! The `myhealthctl` binary: everything lives in the library.

fn main() -> std::process::ExitCode {
    myhealthctl::run()
}
