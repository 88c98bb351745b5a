//! How big an import file may be, and how much of a cell a message may
//! repeat. An import file is untrusted input (DESIGN.md, threat model):
//! its size is checked while it is read, before it can cost much memory,
//! and what it says is never echoed back at length.

/// Columns an import file may have (up to its last non-empty cell). The
/// widest kind has 13; the rest leaves room for columns to skip.
pub const MAX_COLUMNS: usize = 100;

/// Data rows under the header row. A file of 1,000,000 contacts still fits.
pub const MAX_ROWS: usize = 1_100_000;

/// Cells in the whole file (rows × columns as read, trailing empty cells
/// not counted): 20 columns for 1,000,000 rows. Bounds the memory a file
/// can take to a few hundred megabytes.
pub const MAX_CELLS: usize = 20_000_000;

/// Characters in one cell: Excel's own limit.
pub const MAX_CELL_CHARS: usize = 32_767;

/// Characters of a cell or header that a message repeats; longer text is
/// cut, ending in "…".
pub const ECHO_CHARS: usize = 40;

/// Characters of a problem's reason (a safety net: every reason is short
/// by construction).
pub const MAX_REASON_CHARS: usize = 400;

/// Problems listed to people (command line, import screen); the rest are
/// counted in one line.
pub const SHOWN_PROBLEMS: usize = 200;

/// Problems an import keeps (in file order); past this they are only counted.
pub const KEPT_PROBLEMS: usize = 10_000;

/// `text` as a message may repeat it: at most [`ECHO_CHARS`] characters,
/// the last one "…" when it was cut. Line breaks and other control
/// characters are shown as spaces, so a problem stays one line.
pub fn echo(text: &str) -> String {
    cut(text, ECHO_CHARS)
}

/// `text` cut to at most `max` characters (the last one "…" when cut),
/// control characters as spaces.
pub(crate) fn cut(text: &str, max: usize) -> String {
    let clean = |c: char| if c.is_control() { ' ' } else { c };
    let mut chars = text.chars();
    let head: String = chars.by_ref().take(max).map(clean).collect();
    if chars.next().is_none() {
        return head;
    }
    let mut out: String = head.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// A column's letters as Excel shows them: 0 is `A`, 26 is `AA`, 16383 is `XFD`.
pub fn column_letters(index: u32) -> String {
    let mut n = u64::from(index) + 1;
    let mut letters = Vec::new();
    while n > 0 {
        let rem = ((n - 1) % 26) as u8;
        letters.push(char::from(b'A' + rem));
        n = (n - 1) / 26;
    }
    letters.iter().rev().collect()
}

/// A cell's name as Excel shows it: (0, 0) is `A1`.
pub fn cell_name(row: u32, column: u32) -> String {
    format!("{}{}", column_letters(column), u64::from(row) + 1)
}

/// A count with thousands separators: `1,100,000`.
pub fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}
