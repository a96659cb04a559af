//! Rebuild when anything under `templates/` changes: `include_dir!` embeds
//! the files but cargo would not notice templates that are added or removed.
fn main() {
    println!("cargo:rerun-if-changed=../templates");
}
