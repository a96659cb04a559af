//! `data-processor`: workspace placeholder; the services issue implements it.
fn main() {
    eprintln!("data-processor: not implemented yet");
    std::process::exit(2);
}
