//! `packer fmt`: canonical formatting of HCL2 files, as HashiCorp's
//! `hclwrite.Format` does it.
//!
//! `hclwrite.Format` works on the token stream, not on a syntax tree, and only
//! ever changes the spaces *between* tokens. This module does the same:
//!
//! 1. the source is lexed the way `hclsyntax` lexes it (quoted templates,
//!    heredocs, `${`/`%{` sequences, comments that swallow their newline);
//! 2. the tokens are split into lines, and each line into up to three cells:
//!    the *lead*, the *assign* cell (from a top-level `=` whose right-hand side
//!    is bracket-balanced on that line) and a trailing line *comment*;
//! 3. each line is indented by two spaces per open bracket level (counted
//!    line by line with hclwrite's indent stack);
//! 4. the spaces between tokens of a cell are set by hclwrite's
//!    `spaceAfterToken` rules (`a = 1 + 2`, `[1, 2]`, `f(a, b)`, `{ a = 1 }`,
//!    `foo {}`, no spaces inside template literals, `${var.x}`);
//! 5. the `=` of consecutive lines that have an assign cell are aligned, then
//!    the trailing comments of consecutive commented lines.
//!
//! What is kept as it is: blank lines (runs of them are *not* collapsed), the
//! text of comments, string literals and heredoc bodies, and the end of the
//! file (no newline is added or removed: `hclwrite.Format` does not touch it,
//! and neither does `packer fmt`). Trailing spaces before a newline are
//! removed. As with hclwrite, the rules are applied from the tokens only, so
//! formatting is idempotent.
//!
//! The input is parsed first (with `hcl-edit`, like the loader): invalid HCL is
//! rejected with the loader's `Invalid HCL syntax` diagnostic.

use std::path::Path;

use crate::diagnostics::{Diagnostic, Diagnostics, Pos, SourceMap};

/// Formats HCL2 source text. `filename` is only used in diagnostics.
pub fn format_source(src: &str, filename: &str) -> Result<String, Diagnostics> {
    if let Err(e) = hcl::edit::parser::parse_body(src) {
        let mut map = SourceMap::default();
        let file = map.add(filename.to_string(), src.to_string());
        let loc = e.location();
        let offset = crate::load::offset_of(src, loc.line(), loc.column());
        return Err(map
            .error(
                Pos { file, offset },
                "Invalid HCL syntax",
                format!("{}.", e.message()),
            )
            .into());
    }
    Ok(format_tokens(src))
}

/// Formats the file at `path` (read as UTF-8). Returns the new text when it
/// differs from the file's, `None` when the file is already formatted.
pub fn format_file(path: &Path) -> Result<Option<String>, Diagnostics> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| {
        Diagnostic::error(
            "Failed to read file",
            format!("open {shown}: {}", crate::load::os_error(&e)),
        )
    })?;
    let formatted = format_source(&text, &shown)?;
    Ok((formatted != text).then_some(formatted))
}

/// Formats without checking the syntax first (what `hclwrite.Format` does).
pub(crate) fn format_tokens(src: &str) -> String {
    let src = src.strip_prefix('\u{feff}').unwrap_or(src);
    let mut toks = lex(src);
    let lines = lines_for_format(&toks, src);
    format_indent(&lines, &mut toks);
    format_spaces(&lines, &mut toks, src);
    format_cells(&lines, &mut toks, src);
    let mut out = String::with_capacity(src.len() + 64);
    for t in &toks {
        for _ in 0..t.spaces {
            out.push(' ');
        }
        out.push_str(&src[t.start..t.end]);
    }
    out
}

/// Token types of `hclsyntax` that matter to the formatter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum T {
    OBrace,
    CBrace,
    OBrack,
    CBrack,
    OParen,
    CParen,
    OQuote,
    CQuote,
    OHeredoc,
    CHeredoc,
    Star,
    Slash,
    Plus,
    Minus,
    Percent,
    Equal,
    EqualOp,
    NotEqual,
    Lt,
    Le,
    Gt,
    Ge,
    And,
    Or,
    Bang,
    Dot,
    Comma,
    DoubleColon,
    Ellipsis,
    FatArrow,
    Question,
    Colon,
    Interp,
    Control,
    SeqEnd,
    QuotedLit,
    StringLit,
    Number,
    Ident,
    Comment,
    Newline,
    Eof,
    Other,
}

#[derive(Debug, Clone)]
struct Tok {
    t: T,
    start: usize,
    end: usize,
    /// Spaces written before the token.
    spaces: usize,
}

enum Mode {
    Main,
    Quoted,
    Heredoc { marker: String, start_of_line: bool },
}

/// Lexes like `hclsyntax.LexConfig`; the result ends with an `Eof` token.
fn lex(src: &str) -> Vec<Tok> {
    let b = src.as_bytes();
    let n = b.len();
    let mut toks: Vec<Tok> = Vec::new();
    let mut modes = vec![Mode::Main];
    let mut braces: i64 = 0;
    let mut ret_braces: Vec<i64> = Vec::new();
    let mut p = 0;
    let mut last_end = 0;
    let mut emit = |toks: &mut Vec<Tok>, t: T, start: usize, end: usize| {
        toks.push(Tok {
            t,
            start,
            end,
            spaces: start - last_end,
        });
        last_end = end;
    };
    let is_ident_start = |c: char| c.is_alphabetic() || c == '_';
    let is_ident_cont = |c: char| c.is_alphanumeric() || c == '_' || c == '-';
    let char_at = |i: usize| src[i..].chars().next().unwrap_or('\0');
    // `${`, `${~`, `%{`, `%{~` at `i`: (type, length).
    let template_open = |i: usize| -> Option<(T, usize)> {
        let t = match (b.get(i), b.get(i + 1)) {
            (Some(b'$'), Some(b'{')) => T::Interp,
            (Some(b'%'), Some(b'{')) => T::Control,
            _ => return None,
        };
        Some((t, if b.get(i + 2) == Some(&b'~') { 3 } else { 2 }))
    };

    while p < n {
        let mode = modes.last_mut().expect("mode stack never empty");
        match mode {
            Mode::Quoted => {
                if let Some((t, len)) = template_open(p) {
                    emit(&mut toks, t, p, p + len);
                    p += len;
                    braces += 1;
                    ret_braces.push(braces);
                    modes.push(Mode::Main);
                    continue;
                }
                match b[p] {
                    b'"' => {
                        emit(&mut toks, T::CQuote, p, p + 1);
                        p += 1;
                        modes.pop();
                    }
                    b'\n' | b'\r' => {
                        let mut q = p;
                        while q < n && (b[q] == b'\n' || b[q] == b'\r') {
                            q += 1;
                        }
                        emit(&mut toks, T::Newline, p, q);
                        p = q;
                    }
                    _ => {
                        let mut q = p;
                        while q < n {
                            match b[q] {
                                b'"' | b'\n' | b'\r' => break,
                                b'\\' => q = (q + 1 + char_at(q + 1).len_utf8()).min(n),
                                b'$' | b'%'
                                    if b.get(q + 1) == Some(&b[q])
                                        && b.get(q + 2) == Some(&b'{') =>
                                {
                                    q += 3
                                }
                                b'$' | b'%' if b.get(q + 1) == Some(&b'{') => break,
                                _ => q += char_at(q).len_utf8(),
                            }
                        }
                        emit(&mut toks, T::QuotedLit, p, q);
                        p = q;
                    }
                }
            }
            Mode::Heredoc {
                marker,
                start_of_line,
            } => {
                if let Some((t, len)) = template_open(p) {
                    *start_of_line = false;
                    emit(&mut toks, t, p, p + len);
                    p += len;
                    braces += 1;
                    ret_braces.push(braces);
                    modes.push(Mode::Main);
                    continue;
                }
                let mut q = p;
                let mut eol = None;
                while q < n {
                    match b[q] {
                        b'\n' => {
                            eol = Some(q);
                            break;
                        }
                        b'$' | b'%'
                            if b.get(q + 1) == Some(&b[q]) && b.get(q + 2) == Some(&b'{') =>
                        {
                            q += 3
                        }
                        b'$' | b'%' if b.get(q + 1) == Some(&b'{') => break,
                        _ => q += char_at(q).len_utf8(),
                    }
                }
                match eol {
                    Some(nl) => {
                        let line = src[p..nl].trim_end_matches('\r');
                        if *start_of_line && line.trim() == marker.as_str() {
                            let nl_start = p + line.len();
                            emit(&mut toks, T::CHeredoc, p, nl_start);
                            emit(&mut toks, T::Newline, nl_start, nl + 1);
                            modes.pop();
                        } else {
                            *start_of_line = true;
                            emit(&mut toks, T::StringLit, p, nl + 1);
                        }
                        p = nl + 1;
                    }
                    None => {
                        if q == n && *start_of_line && src[p..].trim() == marker.as_str() {
                            emit(&mut toks, T::CHeredoc, p, n);
                            modes.pop();
                        } else {
                            *start_of_line = false;
                            emit(&mut toks, T::StringLit, p, q);
                        }
                        p = q;
                    }
                }
            }
            Mode::Main => {
                let c = b[p];
                if c == b' ' || c == b'\t' {
                    p += 1;
                    continue;
                }
                let rest = &src[p..];
                let two = rest.get(..2).unwrap_or("");
                let single = |t: T| (t, 1usize);
                let (t, len) = if c.is_ascii_digit() {
                    let mut q = p;
                    loop {
                        match b.get(q) {
                            Some(d) if d.is_ascii_digit() || *d == b'.' => q += 1,
                            Some(b'e' | b'E') => {
                                let mut r = q + 1;
                                if matches!(b.get(r), Some(b'+' | b'-')) {
                                    r += 1;
                                }
                                if b.get(r).is_some_and(u8::is_ascii_digit) {
                                    q = r;
                                } else {
                                    break;
                                }
                            }
                            _ => break,
                        }
                    }
                    while b[q - 1] == b'.' {
                        q -= 1;
                    }
                    (T::Number, q - p)
                } else if is_ident_start(char_at(p)) {
                    let len: usize = rest
                        .char_indices()
                        .find(|(i, ch)| *i > 0 && !is_ident_cont(*ch))
                        .map(|(i, _)| i)
                        .unwrap_or(rest.len());
                    (T::Ident, len)
                } else if c == b'#' || two == "//" {
                    let len = match rest.find('\n') {
                        Some(i) => i + 1,
                        None => rest.len(),
                    };
                    (T::Comment, len)
                } else if two == "/*" {
                    let len = match rest[2..].find("*/") {
                        Some(i) => i + 4,
                        None => rest.len(),
                    };
                    (T::Comment, len)
                } else if c == b'\n' {
                    (T::Newline, 1)
                } else if two == "\r\n" {
                    (T::Newline, 2)
                } else if rest.starts_with("...") {
                    (T::Ellipsis, 3)
                } else if let Some(t) = match two {
                    "==" => Some(T::EqualOp),
                    "!=" => Some(T::NotEqual),
                    ">=" => Some(T::Ge),
                    "<=" => Some(T::Le),
                    "&&" => Some(T::And),
                    "||" => Some(T::Or),
                    "::" => Some(T::DoubleColon),
                    "=>" => Some(T::FatArrow),
                    _ => None,
                } {
                    (t, 2)
                } else if two == "<<" && heredoc_intro(rest).is_some() {
                    let (marker, len) = heredoc_intro(rest).expect("checked");
                    emit(&mut toks, T::OHeredoc, p, p + len);
                    p += len;
                    modes.push(Mode::Heredoc {
                        marker,
                        start_of_line: true,
                    });
                    continue;
                } else if two == "~}" {
                    emit(&mut toks, T::SeqEnd, p, p + 2);
                    p += 2;
                    if ret_braces.last() == Some(&braces) {
                        ret_braces.pop();
                        modes.pop();
                    }
                    braces -= 1;
                    continue;
                } else {
                    match c {
                        b'{' => {
                            braces += 1;
                            single(T::OBrace)
                        }
                        b'}' => {
                            if ret_braces.last() == Some(&braces) {
                                emit(&mut toks, T::SeqEnd, p, p + 1);
                                p += 1;
                                braces -= 1;
                                ret_braces.pop();
                                modes.pop();
                                continue;
                            }
                            braces -= 1;
                            single(T::CBrace)
                        }
                        b'"' => {
                            emit(&mut toks, T::OQuote, p, p + 1);
                            p += 1;
                            modes.push(Mode::Quoted);
                            continue;
                        }
                        b'[' => single(T::OBrack),
                        b']' => single(T::CBrack),
                        b'(' => single(T::OParen),
                        b')' => single(T::CParen),
                        b'.' => single(T::Dot),
                        b',' => single(T::Comma),
                        b'*' => single(T::Star),
                        b'/' => single(T::Slash),
                        b'%' => single(T::Percent),
                        b'+' => single(T::Plus),
                        b'-' => single(T::Minus),
                        b'=' => single(T::Equal),
                        b'<' => single(T::Lt),
                        b'>' => single(T::Gt),
                        b'!' => single(T::Bang),
                        b'?' => single(T::Question),
                        b':' => single(T::Colon),
                        _ => (T::Other, char_at(p).len_utf8()),
                    }
                };
                emit(&mut toks, t, p, p + len);
                p += len;
            }
        }
    }
    emit(&mut toks, T::Eof, n, n);
    toks
}

/// `<<EOT\n` / `<<-EOT\r\n` at the start of `s`: (marker, length).
fn heredoc_intro(s: &str) -> Option<(String, usize)> {
    let mut i = 2;
    if s[i..].starts_with('-') {
        i += 1;
    }
    let ident_start = i;
    for (j, c) in s[i..].char_indices() {
        let ok = if j == 0 {
            c.is_alphabetic() || c == '_'
        } else {
            c.is_alphanumeric() || c == '_' || c == '-'
        };
        if !ok {
            break;
        }
        i = ident_start + j + c.len_utf8();
    }
    if i == ident_start {
        return None;
    }
    let marker = s[ident_start..i].to_string();
    if s[i..].starts_with('\n') {
        Some((marker, i + 1))
    } else if s[i..].starts_with("\r\n") {
        Some((marker, i + 2))
    } else {
        None
    }
}

/// One line's cells, as token index ranges.
#[derive(Debug, Clone)]
struct Line {
    lead: std::ops::Range<usize>,
    assign: Option<std::ops::Range<usize>>,
    comment: Option<std::ops::Range<usize>>,
}

fn is_newline(t: &Tok, src: &str) -> bool {
    t.t == T::Newline || (t.t == T::Comment && src[t.start..t.end].ends_with('\n'))
}

fn bracket_change(t: T) -> i64 {
    match t {
        T::OBrace | T::OBrack | T::OParen | T::Control | T::Interp => 1,
        T::CBrace | T::CBrack | T::CParen | T::SeqEnd => -1,
        _ => 0,
    }
}

fn lines_for_format(toks: &[Tok], src: &str) -> Vec<Line> {
    let mut lines = Vec::new();
    let mut start = 0;
    for (i, t) in toks.iter().enumerate() {
        if t.t == T::Eof {
            lines.push(start..i);
            break;
        }
        if is_newline(t, src) {
            lines.push(start..i + 1);
            start = i + 1;
        }
    }
    lines
        .into_iter()
        .map(|mut lead| {
            let mut line = Line {
                lead: lead.clone(),
                assign: None,
                comment: None,
            };
            if lead.is_empty() {
                return line;
            }
            if lead.len() > 1 && toks[lead.end - 1].t == T::Comment {
                line.comment = Some(lead.end - 1..lead.end);
                lead.end -= 1;
            }
            for i in lead.clone() {
                if i > lead.start && toks[i].t == T::Equal {
                    let net: i64 = toks[i..lead.end].iter().map(|t| bracket_change(t.t)).sum();
                    if net == 0 {
                        line.assign = Some(i..lead.end);
                        lead.end = i;
                    }
                    break;
                }
            }
            line.lead = lead;
            line
        })
        .collect()
}

fn format_indent(lines: &[Line], toks: &mut [Tok]) {
    let mut indents: Vec<i64> = Vec::new();
    for line in lines {
        if line.lead.is_empty() {
            continue;
        }
        let first = line.lead.start;
        if toks[first].t == T::Newline {
            toks[first].spaces = 0;
            continue;
        }
        let mut net = 0;
        for t in &toks[line.lead.clone()] {
            net += bracket_change(t.t);
            if t.t == T::OHeredoc {
                break;
            }
        }
        if let Some(a) = &line.assign {
            net += toks[a.clone()]
                .iter()
                .map(|t| bracket_change(t.t))
                .sum::<i64>();
        }
        if net > 0 {
            toks[first].spaces = 2 * indents.len();
            indents.push(net);
        } else {
            if net < 0 {
                let mut closed = -net;
                while closed > 0 {
                    let Some(top) = indents.last_mut() else { break };
                    if closed > *top {
                        closed -= *top;
                        indents.pop();
                    } else if closed < *top {
                        *top -= closed;
                        closed = 0;
                    } else {
                        indents.pop();
                        closed = 0;
                    }
                }
            }
            toks[first].spaces = 2 * indents.len();
        }
    }
}

fn format_spaces(lines: &[Line], toks: &mut [Tok], src: &str) {
    for line in lines {
        space_cell(toks, line.lead.clone(), src);
        if let Some(a) = &line.assign {
            toks[a.start].spaces = 1;
            space_cell(toks, a.clone(), src);
        }
    }
}

fn space_cell(toks: &mut [Tok], cell: std::ops::Range<usize>, src: &str) {
    for i in cell.clone() {
        if i + 1 >= cell.end {
            continue;
        }
        let before = if i > cell.start {
            Some(&toks[i - 1])
        } else {
            None
        };
        let space = space_after(&toks[i], before, &toks[i + 1], src);
        toks[i + 1].spaces = usize::from(space);
    }
}

/// hclwrite's `spaceAfterToken`. `before` is `None` at the start of a cell.
fn space_after(subject: &Tok, before: Option<&Tok>, after: &Tok, src: &str) -> bool {
    use T::*;
    let (s, a) = (subject.t, after.t);
    if a == Newline || a == Eof {
        return false;
    }
    if s == Ident && a == OParen {
        return false;
    }
    if (s == Ident && a == DoubleColon) || (s == DoubleColon && a == Ident) {
        return false;
    }
    if s == Dot || a == Dot {
        return false;
    }
    if a == Comma || a == Ellipsis {
        return false;
    }
    if s == Comma {
        return true;
    }
    if matches!(s, QuotedLit | StringLit | OQuote | OHeredoc)
        || matches!(a, QuotedLit | StringLit | CQuote | CHeredoc)
    {
        return false;
    }
    if s == Ident
        && &src[subject.start..subject.end] == "in"
        && before.is_some_and(|b| b.t == Ident)
    {
        return true;
    }
    if a == OBrack && (s == Ident || s == Number || bracket_change(s) < 0) {
        return false;
    }
    if s == Bang {
        return false;
    }
    if s == Minus {
        return match before.map(|b| b.t) {
            None => false,
            Some(
                OParen | OBrace | OBrack | Equal | Colon | Comma | Question | Plus | Star | Slash
                | Percent | Minus | EqualOp | NotEqual | Gt | Ge | Lt | Le | And | Or | Bang,
            ) => false,
            Some(_) => true,
        };
    }
    if s == OBrace || a == CBrace {
        return !(s == OBrace && a == CBrace);
    }
    if (s == Interp || s == Control) && a == OBrace {
        return true;
    }
    if s == CBrace && a == SeqEnd {
        return true;
    }
    if s == SeqEnd && (a == Interp || a == Control) {
        return false;
    }
    if bracket_change(s) > 0 {
        return false;
    }
    if bracket_change(a) < 0 {
        return false;
    }
    true
}

fn columns(toks: &[Tok], cell: &std::ops::Range<usize>, src: &str) -> usize {
    toks[cell.clone()]
        .iter()
        .map(|t| t.spaces + src[t.start..t.end].chars().count())
        .sum()
}

fn format_cells(lines: &[Line], toks: &mut [Tok], src: &str) {
    // `=` signs first: that moves the comments.
    let mut chain: Option<usize> = None;
    let mut max = 0;
    let close_assign = |toks: &mut [Tok], from: usize, to: usize, max: usize| {
        for line in &lines[from..to] {
            let cols = columns(toks, &line.lead, src);
            let a = line.assign.as_ref().expect("assign chain").start;
            toks[a].spaces = max - cols + 1;
        }
    };
    for (i, line) in lines.iter().enumerate() {
        if line.assign.is_none() {
            if let Some(start) = chain.take() {
                close_assign(toks, start, i, max);
                max = 0;
            }
        } else {
            chain.get_or_insert(i);
            max = max.max(columns(toks, &line.lead, src));
        }
    }
    if let Some(start) = chain.take() {
        close_assign(toks, start, lines.len(), max);
    }

    max = 0;
    let width = |toks: &[Tok], line: &Line| {
        columns(toks, &line.lead, src) + line.assign.as_ref().map_or(0, |a| columns(toks, a, src))
    };
    let close_comment = |toks: &mut [Tok], from: usize, to: usize, max: usize| {
        for line in &lines[from..to] {
            let cols = width(toks, line);
            let c = line.comment.as_ref().expect("comment chain").start;
            toks[c].spaces = max - cols + 1;
        }
    };
    for (i, line) in lines.iter().enumerate() {
        if line.comment.is_none() {
            if let Some(start) = chain.take() {
                close_comment(toks, start, i, max);
                max = 0;
            }
        } else {
            chain.get_or_insert(i);
            max = max.max(width(toks, line));
        }
    }
    if let Some(start) = chain.take() {
        close_comment(toks, start, lines.len(), max);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lexes_templates_and_heredocs() {
        let src = "a = \"x${b}\"\nc = <<EOT\n  ${d}\nEOT\n";
        let kinds: Vec<T> = lex(src).iter().map(|t| t.t).collect();
        use T::*;
        assert_eq!(
            kinds,
            [
                Ident, Equal, OQuote, QuotedLit, Interp, Ident, SeqEnd, CQuote, Newline, Ident,
                Equal, OHeredoc, StringLit, Interp, Ident, SeqEnd, StringLit, CHeredoc, Newline,
                Eof
            ]
        );
    }
}
