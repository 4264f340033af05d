//! A linear pre-scan of YAML text that refuses deep flow nesting before the parser sees it.
//!
//! The YAML parser (libyaml, through `serde_yaml_ng`) keeps one pending "simple key" per open
//! flow collection and re-checks all of them at every token, so text such as `a: [[[[...`
//! costs time quadratic in its nesting: 400 KB took over five minutes to refuse. Kubernetes
//! objects nest well under [`MAX_FLOW_NESTING`] levels, so deeper flow nesting is refused here,
//! in one pass over the bytes, before parsing.
//!
//! The scan follows libyaml's tokenizer far enough to know which brackets open and close flow
//! collections: comments, quoted scalars and block scalars (`|`, `>`) hold literal text. Where
//! the scan cannot be sure whether text is literal (a quote that may start a scalar or may sit
//! inside a plain one), it errs towards counting more nesting, never less: inside what it takes
//! for literal text, brackets still count, but closing brackets never take the depth below the
//! depth at which the literal text began. So balanced brackets in strings and comments cost
//! nothing, and no arrangement of literal text can hide real nesting from the scan.
//!
//! Block nesting (indentation) is not quadratic for the parser; the parser's own recursion
//! limit ([`MAX_PARSER_DEPTH`]) refuses it beyond that depth.

/// Flow collections (`[...]`, `{...}`) nested deeper than this are refused before parsing.
pub const MAX_FLOW_NESTING: usize = 64;

/// Nesting of any kind (block or flow) beyond this is refused by the YAML and JSON parsers
/// themselves (`serde_yaml_ng`'s and `serde_json`'s recursion limit, which is not
/// configurable); listed here so the limit has one documented home.
pub const MAX_PARSER_DEPTH: usize = 128;

/// Where the flow nesting first went beyond [`MAX_FLOW_NESTING`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct TooDeep {
    /// 1-based line.
    pub line: usize,
    /// 1-based column (in bytes).
    pub column: usize,
}

/// Literal text the scan is inside, with the depth when it began (the floor for `]`, `}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Literal {
    Single(usize),
    Double(usize),
}

/// Checks the flow nesting of `text`; `Err` names where it first exceeds the limit.
pub(super) fn check_flow_nesting(text: &str) -> Result<(), TooDeep> {
    let mut scan = Scan::default();
    for (index, line) in text.split('\n').enumerate() {
        scan.line(line.as_bytes(), index + 1)?;
    }
    Ok(())
}

#[derive(Debug, Default)]
struct Scan {
    depth: usize,
    quote: Option<Literal>,
    /// A block scalar's header was seen: its content starts on the next line.
    pending_block: Option<PendingBlock>,
    /// Inside a block scalar: content lines are indented at least this much (`None` until
    /// the first non-empty line sets it), with the least indentation it may have, and the
    /// depth when it began.
    block: Option<Block>,
    /// Column of the most recent block mapping key or sequence entry: the indentation the
    /// parser holds, from which a block scalar's content indentation is derived.
    last_parent: Option<usize>,
}

#[derive(Debug, Clone, Copy)]
struct PendingBlock {
    min_indent: usize,
    explicit: Option<usize>,
}

#[derive(Debug, Clone, Copy)]
struct Block {
    indent: Option<usize>,
    min_indent: usize,
    floor: usize,
}

impl Scan {
    fn open(&mut self, line: usize, column: usize) -> Result<(), TooDeep> {
        self.depth += 1;
        if self.depth > MAX_FLOW_NESTING {
            return Err(TooDeep {
                line,
                column: column + 1,
            });
        }
        Ok(())
    }

    fn close(&mut self, floor: usize) {
        if self.depth > floor {
            self.depth -= 1;
        }
    }

    /// Counts the brackets of literal text: openings always, closings down to `floor`.
    fn literal(
        &mut self,
        bytes: &[u8],
        floor: usize,
        line: usize,
        start: usize,
    ) -> Result<(), TooDeep> {
        for (offset, &c) in bytes.iter().enumerate() {
            match c {
                b'[' | b'{' => self.open(line, start + offset)?,
                b']' | b'}' => self.close(floor),
                _ => {}
            }
        }
        Ok(())
    }

    fn line(&mut self, bytes: &[u8], number: usize) -> Result<(), TooDeep> {
        let indent = bytes.iter().take_while(|&&c| c == b' ').count();
        let blank = bytes.iter().all(|&c| matches!(c, b' ' | b'\t' | b'\r'));
        if let Some(pending) = self.pending_block.take() {
            self.block = Some(Block {
                indent: pending.explicit,
                min_indent: pending.min_indent,
                floor: self.depth,
            });
        }
        if let Some(mut block) = self.block {
            let marker = bytes.starts_with(b"---") || bytes.starts_with(b"...");
            let inside = !marker
                && (blank
                    || match block.indent {
                        Some(content) => indent >= content,
                        None if indent >= block.min_indent => {
                            block.indent = Some(indent);
                            true
                        }
                        None => false,
                    });
            if inside {
                self.block = Some(block);
                return self.literal(bytes, block.floor, number, 0);
            }
            self.block = None;
        }
        let mut at = 0;
        if self.quote.is_none() {
            at = indent;
        }
        // Whether the previous byte on this line was blank, and the last non-blank one.
        let mut prev_blank = true;
        let mut prev_nonblank: Option<u8> = None;
        // First byte of the current (or last) word: a tag `!x` or anchor `&x` may precede
        // a quoted or block scalar.
        let mut word_first: Option<u8> = None;
        // Column where the current token began (a mapping key's column), and whether the
        // next non-blank byte begins a token.
        let mut token_start = indent;
        let mut expect_token = true;
        let mut line_parent: Option<usize> = None;
        while at < bytes.len() {
            let c = bytes[at];
            if let Some(quote) = self.quote {
                match (quote, c) {
                    (Literal::Single(_), b'\'') if bytes.get(at + 1) == Some(&b'\'') => at += 1,
                    (Literal::Double(_), b'\\') => at += 1,
                    (Literal::Single(_), b'\'') | (Literal::Double(_), b'"') => {
                        self.quote = None;
                        prev_blank = false;
                        prev_nonblank = Some(c);
                    }
                    (Literal::Single(floor) | Literal::Double(floor), _) => {
                        self.literal(&[c], floor, number, at)?;
                    }
                }
                at += 1;
                continue;
            }
            let next_blank = bytes
                .get(at + 1)
                .is_none_or(|&n| matches!(n, b' ' | b'\t' | b'\r'));
            let token_position = matches!(
                prev_nonblank,
                None | Some(b'[' | b'{' | b',' | b':' | b'-' | b'?')
            ) || (prev_blank
                && matches!(word_first, Some(b'!' | b'&' | b'*')));
            // In block context a bracket inside a plain scalar is text; one that may begin
            // a token (also after a quoted scalar, a collection or `...`) opens a collection.
            let bracket_position =
                token_position || matches!(prev_nonblank, Some(b'\'' | b'"' | b']' | b'}' | b'.'));
            if matches!(c, b' ' | b'\t' | b'\r') {
                prev_blank = true;
                at += 1;
                continue;
            }
            if prev_blank {
                word_first = Some(c);
            }
            if expect_token {
                token_start = at;
                expect_token = false;
            }
            match c {
                b'#' if prev_blank => {
                    // A comment runs to the end of the line.
                    let floor = self.depth;
                    return self.literal(&bytes[at..], floor, number, at);
                }
                b'\'' | b'"' if token_position => {
                    let floor = self.depth;
                    self.quote = Some(if c == b'\'' {
                        Literal::Single(floor)
                    } else {
                        Literal::Double(floor)
                    });
                }
                b'[' | b'{' if self.depth > 0 || bracket_position => {
                    self.open(number, at)?;
                    expect_token = true;
                }
                b']' | b'}' => self.close(0),
                b',' => expect_token = true,
                b'-' | b'?' if next_blank && token_position => {
                    line_parent = Some(at);
                    expect_token = true;
                }
                b':' if next_blank || self.depth > 0 => {
                    if self.depth == 0 {
                        line_parent = Some(token_start);
                    }
                    expect_token = true;
                }
                b'|' | b'>' if self.depth == 0 && token_position => {
                    let parent = line_parent.or(self.last_parent);
                    let min_indent = parent.map_or(0, |p| p + 1);
                    // The header: `|` or `>`, then an indentation digit and a chomping sign.
                    let header = bytes[at + 1..]
                        .iter()
                        .take_while(|&&h| !matches!(h, b' ' | b'\t' | b'\r'));
                    let explicit = header
                        .clone()
                        .find(|d| d.is_ascii_digit() && **d != b'0')
                        .map(|d| usize::from(d - b'0'));
                    self.pending_block = Some(PendingBlock {
                        min_indent,
                        explicit: explicit.map(|n| parent.map_or(n, |p| p + n).max(min_indent)),
                    });
                    if line_parent.is_some() {
                        self.last_parent = line_parent;
                    }
                    // Only a comment may follow the header; count it as literal text.
                    let floor = self.depth;
                    return self.literal(&bytes[at + 1..], floor, number, at + 1);
                }
                _ => {}
            }
            prev_blank = false;
            prev_nonblank = Some(c);
            at += 1;
        }
        if line_parent.is_some() {
            self.last_parent = line_parent;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn depth_ok(text: &str) -> bool {
        check_flow_nesting(text).is_ok()
    }

    #[test]
    fn refuses_deep_flow_nesting_at_its_position() {
        let deep = format!("a: {}\n", "[".repeat(MAX_FLOW_NESTING + 1));
        assert_eq!(
            check_flow_nesting(&deep),
            Err(TooDeep {
                line: 1,
                column: 4 + MAX_FLOW_NESTING
            })
        );
        let limit = format!(
            "a: {}1{}\n",
            "[".repeat(MAX_FLOW_NESTING),
            "]".repeat(MAX_FLOW_NESTING)
        );
        assert!(depth_ok(&limit));
        let mixed = format!("a:\n  b: {}\n", "[{".repeat(MAX_FLOW_NESTING / 2 + 1));
        assert!(!depth_ok(&mixed));
    }

    #[test]
    fn balanced_collections_in_sequence_never_add_up() {
        let many = "vms: [{id: vm-1}, {id: vm-2, hooks: [a, b]}]\n".repeat(10_000);
        assert!(depth_ok(&many));
    }

    #[test]
    fn literal_text_neither_counts_nor_hides_nesting() {
        // Brackets in strings, comments and block scalars are text when balanced, and
        // closing ones in them do not undo nesting; brackets inside plain scalars are text.
        let text =
            "a: \"[x]\" # ]]]] [y]\nb: '[[it''s]]'\nc: |\n  [[[[[[\n  }}}}]]]]]]\nd: it's [x\n";
        assert!(
            depth_ok(&text.repeat(100)),
            "{:?}",
            check_flow_nesting(&text.repeat(100))
        );
        // Closing brackets in literal text cannot hide the nesting around them.
        let half = MAX_FLOW_NESTING / 2 + 1;
        for literal in ["\"]]]]]]]]\"", "'}}}}}}}}'", "# ]]]]]]]]\n"] {
            let text = format!("a: {open} {literal} , {open}\n", open = "[".repeat(half));
            assert!(!depth_ok(&text), "{text}");
        }
        // A block scalar whose content is not indented enough ends before `b`.
        let text = format!("- a: |\n  b: {}\n", "[".repeat(MAX_FLOW_NESTING + 1));
        assert!(!depth_ok(&text));
        let text = format!("a:\n  |\nb: {}\n", "[".repeat(MAX_FLOW_NESTING + 1));
        assert!(!depth_ok(&text));
        // A quote inside a plain scalar does not start a string.
        let text = format!("a: [b'c, {}\n", "[".repeat(MAX_FLOW_NESTING));
        assert!(!depth_ok(&text));
    }

    #[test]
    fn the_scan_is_linear() {
        let text = format!("a: {}\n", "[ ".repeat(4 << 20));
        let started = std::time::Instant::now();
        assert!(!depth_ok(&text));
        let balanced = "[".repeat(60) + &"]".repeat(60) + "\n";
        let big = format!("a: {}", balanced.repeat(50_000));
        assert!(depth_ok(&big));
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
    }
}
