//! Where a changed value lands in the generated tree: the changed lines of a
//! file, the Terraform blocks and attributes they belong to, and which of a
//! root's files read a changed `terraform.tfvars` variable.

use crate::tree::Tree;

/// The lines of `old` (the file as rendered now) that differ in `new`; for
/// lines only added, the line they follow.
pub(super) fn changed_lines(old: &[u8], new: &[u8]) -> Vec<usize> {
    let (o, n) = (String::from_utf8_lossy(old), String::from_utf8_lossy(new));
    let diff = similar::TextDiff::from_lines(o.as_ref(), n.as_ref());
    let mut out: Vec<usize> = Vec::new();
    for op in diff.ops() {
        match *op {
            similar::DiffOp::Replace { old_index, old_len, .. }
            | similar::DiffOp::Delete { old_index, old_len, .. } => out.extend((old_index + 1)..=(old_index + old_len)),
            similar::DiffOp::Insert { old_index, .. } => out.push(old_index.max(1)),
            similar::DiffOp::Equal { .. } => {}
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// The Terraform block (`module "rds"`, `resource "aws_x" "y"`) each line
/// of `text` sits in, with the attribute the line sets.
pub(super) fn hcl_places(text: &str, lines: &[usize]) -> Vec<String> {
    let all: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    for &l in lines {
        let Some(line) = all.get(l.wrapping_sub(1)) else { continue };
        let attr = line.split('=').next().unwrap_or("").trim();
        // The nearest unclosed top-level block above.
        let mut block = None;
        for prev in all[..l].iter().rev() {
            if !prev.starts_with(' ') && prev.trim_end().ends_with('{') {
                block = Some(prev.trim_end().trim_end_matches('{').trim().to_string());
                break;
            }
        }
        if let Some(b) = block {
            out.push(format!("{b} {attr}"));
        }
    }
    out.dedup();
    out
}

/// Whether `text` reads `var.<name>`: the reference itself, not a longer
/// name that starts with it (`var.vpc_endpoints_x`) or ends with it.
pub(super) fn reads_var(text: &str, name: &str) -> bool {
    let needle = format!("var.{name}");
    let ident = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
    text.match_indices(&needle).any(|(i, _)| {
        !text[..i].chars().next_back().is_some_and(|c| ident(c) || c == '.')
            && !text[i + needle.len()..].chars().next().is_some_and(ident)
    })
}

/// For a `*.tfvars` line `name = …`: `var.name` and the blocks of the root
/// that read it (`module "rds" instance_class`; in a file of the root other
/// than `main.tf`, that file named). `root` holds the root's `.tf` files.
pub(super) fn tfvar_readers(tfvars: &str, root: &[(&str, String)], lines: &[usize]) -> Vec<String> {
    let all: Vec<&str> = tfvars.lines().collect();
    let mut out = Vec::new();
    for &l in lines {
        // A multi-line value: the assignment is the nearest line above at column 0.
        let Some(start) = all[..l.min(all.len())].iter().rev().find(|x| !x.starts_with(' ') && x.contains('=')) else {
            continue;
        };
        let var = start.split('=').next().unwrap_or("").trim().to_string();
        let mut readers = Vec::new();
        for (file, text) in root {
            let uses: Vec<usize> =
                text.lines().enumerate().filter(|(_, x)| reads_var(x, &var)).map(|(i, _)| i + 1).collect();
            for place in hcl_places(text, &uses) {
                readers.push(if *file == "main.tf" { place } else { format!("{place} ({file})") });
            }
        }
        out.push(format!("var.{var} → {}", if readers.is_empty() { "(unused)".into() } else { readers.join(", ") }));
    }
    out.dedup();
    out
}

/// The `.tf` files of the root a `*.tfvars` file of `tree` feeds: its own
/// directory's, or the bootstrap root's for an environment's `bootstrap.tfvars`.
pub(super) fn root_of<'t>(tree: &'t Tree, tfvars: &str) -> Vec<(&'t str, String)> {
    let dir = match tfvars.rsplit_once('/') {
        Some((_, "bootstrap.tfvars")) => "terraform/bootstrap",
        Some((d, _)) => d,
        None => "",
    };
    tree.iter()
        .filter_map(|(path, bytes)| {
            let name = path.strip_prefix(dir)?.strip_prefix('/')?;
            (name.ends_with(".tf") && !name.contains('/')).then(|| (name, String::from_utf8_lossy(bytes).into_owned()))
        })
        .collect()
}
