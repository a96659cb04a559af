//! `api-service`: workspace placeholder; the services issue implements it.
fn main() {
    eprintln!("api-service: not implemented yet");
    std::process::exit(2);
}
