//! Writing HCL values the way `terraform fmt` would: consecutive one-line
//! attributes have their `=` aligned, multi-line values break the run,
//! strings are escaped (including `${` and `%{` template sequences).
//! Exposed to templates as the `hcl` and `hcl_attrs` filters.

use serde_json::Value;

/// An HCL expression for `v`, laid out for a line indented by `indent` spaces.
pub fn value(v: &Value, indent: usize) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => string(s),
        Value::Array(items) if items.is_empty() => "[]".into(),
        Value::Array(items) if items.iter().all(is_scalar) => {
            format!("[{}]", items.iter().map(|i| value(i, indent)).collect::<Vec<_>>().join(", "))
        }
        Value::Array(items) => {
            let pad = " ".repeat(indent + 2);
            let mut s = String::from("[\n");
            for i in items {
                s.push_str(&format!("{pad}{},\n", value(i, indent + 2)));
            }
            s.push_str(&" ".repeat(indent));
            s.push(']');
            s
        }
        Value::Object(map) if map.is_empty() => "{}".into(),
        Value::Object(map) => {
            let attrs: Vec<(String, Value)> = map.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
            format!("{{\n{}{}}}", attrs_body(&attrs, indent + 2), " ".repeat(indent))
        }
    }
}

fn is_scalar(v: &Value) -> bool {
    !matches!(v, Value::Array(_) | Value::Object(_))
}

/// A quoted HCL string literal.
pub fn string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '$' | '%' if chars.peek() == Some(&'{') => {
                out.push(c);
                out.push(c);
            }
            // Validation refuses control characters; should one arrive, it is escaped, never raw.
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// An attribute name: bare when it is an identifier, quoted otherwise.
pub fn key(k: &str) -> String {
    let ident = k.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if ident { k.to_string() } else { string(k) }
}

/// `name = value` lines at `indent`, aligned like `terraform fmt` does.
pub fn attrs_body(attrs: &[(String, Value)], indent: usize) -> String {
    let rendered: Vec<(String, String)> = attrs.iter().map(|(k, v)| (key(k), value(v, indent))).collect();
    raw_attrs(&rendered, indent)
}

/// Like `attrs_body` for expressions already written as HCL (e.g. type constraints).
pub fn raw_attrs(rendered: &[(String, String)], indent: usize) -> String {
    let pad = " ".repeat(indent);
    let mut out = String::new();
    let mut i = 0;
    while i < rendered.len() {
        // A run of one-line values is aligned to its longest key; a
        // multi-line value stands alone, unaligned.
        let mut j = i;
        while j < rendered.len() && !rendered[j].1.contains('\n') {
            j += 1;
        }
        if j == i {
            let (k, v) = &rendered[i];
            out.push_str(&format!("{pad}{k} = {v}\n"));
            i += 1;
            continue;
        }
        let width = rendered[i..j].iter().map(|(k, _)| k.chars().count()).max().unwrap_or(0);
        for (k, v) in &rendered[i..j] {
            out.push_str(&format!("{pad}{k:<width$} = {v}\n"));
        }
        i = j;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn aligns_runs_and_breaks_on_multiline() {
        let attrs = vec![
            ("a".to_string(), json!(1)),
            ("bbbb".to_string(), json!("x")),
            ("obj".to_string(), json!({"a": 1, "bbb": "x", "kubernetes.io/role": "y"})),
            ("after".to_string(), json!(2)),
            ("zz".to_string(), json!([1, 2])),
        ];
        assert_eq!(
            attrs_body(&attrs, 0),
            "a    = 1\nbbbb = \"x\"\nobj = {\n  a                    = 1\n  bbb                  = \"x\"\n  \"kubernetes.io/role\" = \"y\"\n}\nafter = 2\nzz    = [1, 2]\n"
        );
    }

    #[test]
    fn escapes_template_sequences() {
        assert_eq!(string("a${b}%{c}\"\\"), r#""a$${b}%%{c}\"\\""#);
    }
}
