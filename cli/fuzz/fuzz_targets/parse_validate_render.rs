//! Arbitrary bytes through the whole pipeline: parse → validate → render,
//! or → diagnostics rendered for the terminal. Nothing may panic, and a
//! config that validates must render.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use myhealthctl::Source;
use myhealthctl::{Options, Templates, render};

fn templates() -> &'static Templates {
    static T: OnceLock<Templates> = OnceLock::new();
    T.get_or_init(Templates::embedded)
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    match myhealthctl::load_config(Source { name: "fuzz.toml".into(), text: text.to_string() }) {
        Ok(cfg) => {
            let opts = Options { only_envs: vec![], config_name: "fuzz.toml".into() };
            render(&cfg, templates(), &opts).expect("a config that validates must render");
        }
        Err(report) => {
            let _ = report.render(true);
            let _ = report.render(false);
        }
    }
});
