//! What PostgreSQL cannot store, refused before the body is parsed: a
//! document nested deeper than [`MAX_DOCUMENT_DEPTH`] (its JSONB would
//! exhaust the server's stack: `stack depth limit exceeded`), a NUL
//! character (`\u0000`: neither `text` nor `jsonb` can hold one) and a lone
//! UTF-16 surrogate escape (`\ud800` without its pair is no character;
//! `jsonb` refuses it). serde_json lets all three through into a document's
//! `RawValue` — it skips what it does not type without a depth limit and
//! without decoding escapes — so they reached the database and came back
//! as 500s. Each is refused (422, naming the collection, and the path where
//! the string is) rather than repaired: stripping a NUL would store a
//! document Oura never sent.
//!
//! One pass over the body's bytes finds them; only when it finds one is the
//! body parsed again, into a `Value`, to name the path of the string.

use serde_json::Value;

use crate::error::AppError;
use myhealth_common::oura;

/// Levels a document may nest, itself included (Oura's deepest, a sleep
/// period's `readiness.contributors`, is 3).
pub const MAX_DOCUMENT_DEPTH: usize = 32;

/// The body's own levels above a document: `{ "sleep": [ … ] }`.
const BODY_LEVELS: usize = 2;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Problem {
    TooDeep,
    Nul,
    LoneSurrogate,
}

/// Where in the body: the top-level key, and the element of its array.
#[derive(Debug, Default)]
struct Place {
    key: Option<String>,
    index: Option<usize>,
}

/// Refuse a body holding anything PostgreSQL cannot store.
pub fn check(body: &[u8]) -> Result<(), AppError> {
    let Some((problem, place)) = scan(body) else { return Ok(()) };
    let at = match (&place.key, place.index) {
        (Some(k), Some(i)) => format!("{k}[{i}]"),
        (Some(k), None) => k.clone(),
        (None, _) => "the body".into(),
    };
    let message = match problem {
        Problem::TooDeep => format!("{at}: nested deeper than {MAX_DOCUMENT_DEPTH} levels, the most a document may"),
        Problem::Nul => {
            format!("{}: contains U+0000 (NUL), which PostgreSQL cannot store", nul_path(body).unwrap_or(at))
        }
        Problem::LoneSurrogate => format!(
            "{}: a lone UTF-16 surrogate escape (such as \\ud800 without its pair) is not a character",
            surrogate_path(body).unwrap_or(at)
        ),
    };
    Err(match place.key.filter(|k| oura::is_collection(k)) {
        Some(collection) => AppError::InvalidDocument { collection, message },
        None => AppError::Invalid(message),
    })
}

/// The first problem and where it is. Malformed JSON is not judged here
/// (the parser that follows says what is wrong with it): the scan stops.
fn scan(b: &[u8]) -> Option<(Problem, Place)> {
    let mut depth = 0usize;
    // The last string closed at depth 1 (a top-level key), and, inside its
    // array, how many commas at depth 2 were passed.
    let (mut key, mut index, mut array) = (None::<(usize, usize)>, 0usize, false);
    let place = |key: Option<(usize, usize)>, index, array, depth| Place {
        key: key.map(|(s, e): (usize, usize)| String::from_utf8_lossy(&b[s..e]).into_owned()),
        index: (array && depth >= 2).then_some(index),
    };
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'"' => {
                let start = i + 1;
                let mut j = start;
                loop {
                    j += memchr::memchr2(b'"', b'\\', &b[j..])?;
                    if b[j] == b'"' {
                        break;
                    }
                    match b.get(j + 1)? {
                        b'u' => {
                            let cp = hex4(b, j + 2)?;
                            let problem = match cp {
                                0 => Some(Problem::Nul),
                                0xD800..=0xDBFF => {
                                    let paired = b.get(j + 6) == Some(&b'\\')
                                        && b.get(j + 7) == Some(&b'u')
                                        && hex4(b, j + 8).is_some_and(|lo| (0xDC00..=0xDFFF).contains(&lo));
                                    if paired {
                                        j += 6;
                                        None
                                    } else {
                                        Some(Problem::LoneSurrogate)
                                    }
                                }
                                0xDC00..=0xDFFF => Some(Problem::LoneSurrogate),
                                _ => None,
                            };
                            if let Some(p) = problem {
                                return Some((p, place(key, index, array, depth)));
                            }
                            j += 6;
                        }
                        _ => j += 2,
                    }
                }
                if depth == 1 {
                    key = Some((start, j));
                }
                i = j + 1;
            }
            open @ (b'[' | b'{') => {
                depth += 1;
                if depth == 2 {
                    (index, array) = (0, open == b'[');
                }
                if depth > BODY_LEVELS + MAX_DOCUMENT_DEPTH {
                    return Some((Problem::TooDeep, place(key, index, array, depth)));
                }
                i += 1;
            }
            b']' | b'}' => {
                depth = depth.saturating_sub(1);
                i += 1;
            }
            b',' if depth == 2 => {
                index += 1;
                i += 1;
            }
            _ => i += 1,
        }
    }
    None
}

/// The four hex digits of a `\u` escape at `at`.
fn hex4(b: &[u8], at: usize) -> Option<u32> {
    let digits = std::str::from_utf8(b.get(at..at + 4)?).ok()?;
    u32::from_str_radix(digits, 16).ok()
}

/// The path of the first string or key holding a NUL.
fn nul_path(body: &[u8]) -> Option<String> {
    fn walk(v: &Value, path: &mut String) -> bool {
        match v {
            Value::String(s) => s.contains('\0'),
            Value::Array(a) => a.iter().enumerate().any(|(i, x)| {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                let found = walk(x, path);
                if !found {
                    path.truncate(len);
                }
                found
            }),
            Value::Object(o) => o.iter().any(|(k, x)| {
                let len = path.len();
                path.push_str(&format!(".{}", k.escape_debug()));
                // A key holding the NUL: the path ends at it.
                let found = k.contains('\0') || walk(x, path);
                if !found {
                    path.truncate(len);
                }
                found
            }),
            _ => false,
        }
    }
    let v: Value = serde_json::from_slice(body).ok()?;
    let mut path = String::new();
    walk(&v, &mut path).then(|| path.trim_start_matches('.').to_string())
}

/// The path serde_json stops at on a lone surrogate.
fn surrogate_path(body: &[u8]) -> Option<String> {
    let de = &mut serde_json::Deserializer::from_slice(body);
    let e = serde_path_to_error::deserialize::<_, Value>(de).err()?;
    Some(e.path().to_string()).filter(|p| p != ".")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem(body: &str) -> Option<(Problem, Option<String>, Option<usize>)> {
        scan(body.as_bytes()).map(|(p, at)| (p, at.key, at.index))
    }

    #[test]
    fn finds_depth_nul_and_lone_surrogates_where_they_are() {
        let deep = |n| format!("{}{}", "[".repeat(n), "]".repeat(n));
        assert_eq!(problem(&format!(r#"{{"sleep": [{{}}, {{"x": {}}}]}}"#, deep(31))), None);
        assert_eq!(
            problem(&format!(r#"{{"sleep": [{{}}, {{"x": {}}}]}}"#, deep(32))),
            Some((Problem::TooDeep, Some("sleep".into()), Some(1)))
        );
        assert_eq!(
            problem(r#"{"a": [], "workout": [{"id": "1"}, {"id": "2"}, {"n": "\u0000"}]}"#),
            Some((Problem::Nul, Some("workout".into()), Some(2)))
        );
        assert_eq!(problem(r#"{"x": [{"n": "\ud83d\ude00 \u00e4 \\u0000 \" \\"}]}"#), None);
        for lone in [r#""\ud800""#, r#""\ud800x""#, r#""\udc00""#, r#""\ud800\u0041""#] {
            let body = format!(r#"{{"session": [{{"n": {lone}}}]}}"#);
            assert_eq!(problem(&body), Some((Problem::LoneSurrogate, Some("session".into()), Some(0))), "{lone}");
        }
        // Brackets and commas inside strings are text.
        assert_eq!(problem(r#"{"sleep": [{"n": "[[[[,,,{{{"}]}"#), None);
        // Malformed input is the parser's to judge.
        assert_eq!(problem(r#"{"sleep": [{"n": "\u00"#), None);
    }

    #[test]
    fn names_the_path_of_the_string() {
        let e = check(br#"{"daily_stress": [{"id": "a", "day_summary": {"why": ["ok", "n\u0000"]}}]}"#).unwrap_err();
        assert_eq!(
            e.to_string(),
            "daily_stress[0].day_summary.why[1]: contains U+0000 (NUL), which PostgreSQL cannot store"
        );
        assert!(matches!(e, AppError::InvalidDocument { collection, .. } if collection == "daily_stress"));
        let e = check(br#"{"collector": {"failures": [{"collection": "\ud800"}]}}"#).unwrap_err();
        assert!(e.to_string().starts_with("collector.failures[0].collection: a lone UTF-16 surrogate"), "{e}");
        assert!(matches!(e, AppError::Invalid(_)), "not a collection: the whole batch is refused");
    }
}
