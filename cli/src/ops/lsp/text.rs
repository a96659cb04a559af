//! Positions: the protocol's (line, UTF-16 code unit) against the byte
//! offsets every span of ours is. Any position maps to an offset — one past
//! a line's end is its end, one past the last line the end of the text —
//! so no request can point outside the document.

use lsp_types::{Position, Range};

/// The byte offset of `p` in `text`, clamped into the text.
pub fn offset(text: &str, p: Position) -> usize {
    let mut start = 0;
    for _ in 0..p.line {
        match text[start..].find('\n') {
            Some(i) => start += i + 1,
            None => return text.len(),
        }
    }
    let line_end = text[start..].find('\n').map_or(text.len(), |i| start + i);
    let mut units = 0u32;
    for (i, c) in text[start..line_end].char_indices() {
        if units >= p.character {
            return start + i;
        }
        units += c.len_utf16() as u32;
    }
    line_end
}

/// The position of byte `offset` (clamped, and moved back onto a character boundary).
pub fn position(text: &str, offset: usize) -> Position {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() as u32;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let character = before[line_start..].chars().map(|c| c.len_utf16() as u32).sum();
    Position { line, character }
}

pub fn range(text: &str, span: &std::ops::Range<usize>) -> Range {
    Range { start: position(text, span.start), end: position(text, span.end) }
}

/// The line holding `offset`: its start and its text (without the newline).
pub fn line_at(text: &str, offset: usize) -> (usize, &str) {
    let offset = offset.min(text.len());
    let start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let end = text[start..].find('\n').map_or(text.len(), |i| start + i);
    (start, &text[start..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_count_utf16_units_and_clamp() {
        let t = "a = \"→𝄞x\"\nb = 1\n";
        // `𝄞` is two UTF-16 units and four bytes.
        assert_eq!(offset(t, Position { line: 0, character: 6 }), 8);
        assert_eq!(offset(t, Position { line: 0, character: 8 }), 12);
        assert_eq!(position(t, 12), Position { line: 0, character: 8 });
        assert_eq!(offset(t, Position { line: 0, character: 99 }), 14, "past the line: its end");
        assert_eq!(offset(t, Position { line: 9, character: 0 }), t.len(), "past the text: its end");
        assert_eq!(position(t, 9), Position { line: 0, character: 6 }, "inside a character: its start");
        assert_eq!(position(t, 999), Position { line: 2, character: 0 });
        assert_eq!(line_at(t, 16), (15, "b = 1"));
    }
}
