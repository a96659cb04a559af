//! `oura-collector`: workspace placeholder; the services issue implements it.
fn main() {
    eprintln!("oura-collector: not implemented yet");
    std::process::exit(2);
}
