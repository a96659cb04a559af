//! Literal credentials in text: the detectors (AWS keys, private keys of
//! every kind, JWTs, GitHub, Slack, Stripe and Google tokens, bearer
//! tokens, passwords in URLs), finding them and masking them. A leaf: the
//! config scan refuses what these find, and every message, snippet, diff and
//! `--json` output is masked with them.

use std::sync::OnceLock;

use regex::Regex;

struct Detector {
    what: &'static str,
    re: Regex,
    /// A further test of the match (entropy, character classes), if any.
    check: Option<fn(&str) -> bool>,
}

/// Forty characters of base64 with upper and lower case letters and digits:
/// the shape of an AWS secret access key (not a git SHA: those are lowercase hex).
fn aws_secret_shape(m: &str) -> bool {
    // A run of base64 characters, once the slashes of a URL around it are gone.
    let m = m.trim_matches('/');
    if m.len() != 40 {
        return false;
    }
    let has = |f: fn(&u8) -> bool| m.as_bytes().iter().any(f);
    has(u8::is_ascii_uppercase) && has(u8::is_ascii_lowercase) && has(u8::is_ascii_digit) && shannon(m) >= 4.0
}

fn shannon(s: &str) -> f64 {
    let mut counts = [0u32; 256];
    for b in s.bytes() {
        counts[b as usize] += 1;
    }
    let n = s.len() as f64;
    counts.iter().filter(|c| **c > 0).map(|c| f64::from(*c) / n).map(|p| -p * p.log2()).sum()
}

fn detectors() -> &'static [Detector] {
    static D: OnceLock<Vec<Detector>> = OnceLock::new();
    D.get_or_init(|| {
        let d = |what, re: &str| Detector { what, re: Regex::new(re).expect("valid detector regex"), check: None };
        vec![
            d("an AWS access key id", r"\b(AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|ABIA|ACCA)[A-Z0-9]{16}\b"),
            Detector {
                what: "an AWS secret access key",
                re: Regex::new(r"(?:^|[^A-Za-z0-9/+=])([A-Za-z0-9/+]{40,})(?:$|[^A-Za-z0-9/+=])").expect("valid"),
                check: Some(aws_secret_shape),
            },
            // The whole key, to its END line (or, without one, the rest of its string or line).
            d(
                "a private key",
                r#"(?s)-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----(?:.*?-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----|[^"\n]*)"#,
            ),
            d("a JSON Web Token", r"\beyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"),
            d("a GitHub token", r"\b(gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{22,})\b"),
            d("a Slack token", r"\bxox[abposr]-[A-Za-z0-9-]{10,}"),
            d("a Stripe key", r"\b(sk|rk)_(live|test)_[A-Za-z0-9]{16,}"),
            d("a Google API key", r"\bAIza[0-9A-Za-z_-]{35}"),
            d("a bearer token", r"(?i)\bbearer\s+[A-Za-z0-9._~+/-]{16,}=*"),
            d("a password in a URL", r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s/:@'\x22]+:[^\s/@'\x22]+@"),
        ]
    })
}

/// Every credential-shaped stretch of `text`: (what, byte span).
pub fn find_credentials(text: &str) -> Vec<(&'static str, std::ops::Range<usize>)> {
    let mut out = Vec::new();
    for d in detectors() {
        for c in d.re.captures_iter(text) {
            let m = c.get(1).filter(|_| d.check.is_some()).or_else(|| c.get(0)).expect("a match");
            if d.check.is_none_or(|f| f(m.as_str())) {
                out.push((d.what, m.range()));
            }
        }
    }
    out.sort_by_key(|(_, r)| r.start);
    out
}

/// What kind of credential `value` looks like, if any.
pub fn credential_kind(value: &str) -> Option<&'static str> {
    find_credentials(value).first().map(|(what, _)| *what)
}

/// Replace every credential-shaped stretch of `text` with `*` (same length,
/// so positions in diagnostics still point at the right column).
pub fn mask_credentials(text: &str) -> String {
    let mut bytes = text.as_bytes().to_vec();
    for (_, r) in find_credentials(text) {
        for b in &mut bytes[r] {
            if !b.is_ascii_whitespace() && *b != b'"' {
                *b = b'*';
            }
        }
    }
    // Only ASCII bytes of matches were replaced by ASCII: still UTF-8.
    String::from_utf8(bytes).unwrap_or_else(|_| text.to_string())
}
