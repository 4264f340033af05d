//! The parser: Go's `text/template/parse` recursive descent over the token list, with the
//! same checks (defined functions and variables, pipeline stages, `break` outside `range`).

use std::collections::HashMap;

use super::ast::{Arg, Branch, Command, Node, Number, Pipe};
use super::funcs::Func;
use super::lex::{Item, ItemType, lex};
use super::strconv::{parse_float, parse_int_base0, parse_uint_base0};

/// Deepest nesting of control structures and parentheses accepted.
pub(crate) const MAX_PARSE_DEPTH: usize = 100;

/// The parsed templates by name (the main one and any `define`/`block`).
pub(crate) type TreeSet = HashMap<String, Vec<Node>>;

pub(crate) struct ParseError(pub String);

type PResult<T> = Result<T, ParseError>;

struct Parser<'a> {
    name: &'a str,
    items: Vec<Item>,
    i: usize,
    vars: Vec<String>,
    range_depth: usize,
    depth: usize,
    tree_set: TreeSet,
}

/// Parses `text` as the template `name`, returning every tree it defines.
pub(crate) fn parse(name: &str, text: &str) -> Result<TreeSet, ParseError> {
    let mut p = Parser {
        name,
        items: lex(text),
        i: 0,
        vars: vec!["$".into()],
        range_depth: 0,
        depth: 0,
        tree_set: HashMap::new(),
    };
    let root = p.parse_top()?;
    p.add(name.to_owned(), root)?;
    Ok(p.tree_set)
}

enum ListEnd {
    End,
    Else,
}

impl Parser<'_> {
    fn tok(&self, i: usize) -> &Item {
        &self.items[i.min(self.items.len() - 1)]
    }

    fn next(&mut self) -> Item {
        let t = self.tok(self.i).clone();
        if self.i < self.items.len() {
            self.i += 1;
        }
        t
    }

    fn backup(&mut self) {
        self.i -= 1;
    }

    fn peek(&self) -> &Item {
        self.tok(self.i)
    }

    fn next_non_space(&mut self) -> Item {
        loop {
            let t = self.next();
            if t.typ != ItemType::Space {
                return t;
            }
        }
    }

    fn peek_non_space(&mut self) -> Item {
        let t = self.next_non_space();
        self.backup();
        t
    }

    fn errorf(&self, msg: impl Into<String>) -> ParseError {
        let line = self.tok(self.i.saturating_sub(1)).line;
        ParseError(format!("template: {}:{}: {}", self.name, line, msg.into()))
    }

    fn unexpected(&self, token: &Item, context: &str) -> ParseError {
        if token.typ == ItemType::Error {
            return self.errorf(token.val.clone());
        }
        self.errorf(format!("unexpected {} in {}", token.describe(), context))
    }

    fn expect(&mut self, typ: ItemType, context: &str) -> PResult<Item> {
        let t = self.next_non_space();
        if t.typ != typ {
            return Err(self.unexpected(&t, context));
        }
        Ok(t)
    }

    fn enter(&mut self) -> PResult<()> {
        self.depth += 1;
        if self.depth > MAX_PARSE_DEPTH {
            return Err(self.errorf(format!("template nesting exceeds {MAX_PARSE_DEPTH} levels")));
        }
        Ok(())
    }

    fn add(&mut self, name: String, root: Vec<Node>) -> PResult<()> {
        match self.tree_set.get(&name) {
            Some(existing) if !existing.iter().all(Node::is_empty) => {
                if !root.iter().all(Node::is_empty) {
                    return Err(self.errorf(format!(
                        "template: multiple definition of template {}",
                        go_quote(&name)
                    )));
                }
            }
            _ => {
                self.tree_set.insert(name, root);
            }
        }
        Ok(())
    }

    fn parse_top(&mut self) -> PResult<Vec<Node>> {
        let mut root = Vec::new();
        while self.peek().typ != ItemType::Eof {
            if self.peek().typ == ItemType::LeftDelim {
                let save = self.i;
                self.next();
                if self.next_non_space().typ == ItemType::Define {
                    self.parse_definition()?;
                    continue;
                }
                self.i = save;
            }
            match self.text_or_action()? {
                Parsed::Node(n) => root.push(n),
                Parsed::End => return Err(self.errorf("unexpected {{end}}")),
                Parsed::Else => return Err(self.errorf("unexpected {{else}}")),
            }
        }
        Ok(root)
    }

    fn parse_definition(&mut self) -> PResult<()> {
        let context = "define clause";
        let t = self.next_non_space();
        if t.typ != ItemType::String && t.typ != ItemType::RawString {
            return Err(self.unexpected(&t, context));
        }
        let name = unquote(&t.val).map_err(|e| self.errorf(e))?;
        let name = String::from_utf8_lossy(&name).into_owned();
        self.expect(ItemType::RightDelim, context)?;
        let saved_vars = std::mem::replace(&mut self.vars, vec!["$".into()]);
        let saved_range = std::mem::replace(&mut self.range_depth, 0);
        let (list, end) = self.item_list()?;
        self.vars = saved_vars;
        self.range_depth = saved_range;
        if let ListEnd::Else = end {
            return Err(self.errorf(format!("unexpected {{{{else}}}} in {context}")));
        }
        self.add(name, list)
    }

    fn item_list(&mut self) -> PResult<(Vec<Node>, ListEnd)> {
        self.enter()?;
        let mut list = Vec::new();
        while self.peek_non_space().typ != ItemType::Eof {
            match self.text_or_action()? {
                Parsed::Node(n) => list.push(n),
                Parsed::End => {
                    self.depth -= 1;
                    return Ok((list, ListEnd::End));
                }
                Parsed::Else => {
                    self.depth -= 1;
                    return Ok((list, ListEnd::Else));
                }
            }
        }
        Err(self.errorf("unexpected EOF"))
    }

    fn text_or_action(&mut self) -> PResult<Parsed> {
        let t = self.next_non_space();
        match t.typ {
            ItemType::Text => Ok(Parsed::Node(Node::Text(t.val.into_bytes()))),
            ItemType::LeftDelim => self.action(),
            _ => Err(self.unexpected(&t, "input")),
        }
    }

    fn action(&mut self) -> PResult<Parsed> {
        let t = self.next_non_space();
        match t.typ {
            ItemType::Block => return self.block_control().map(Parsed::Node),
            ItemType::Break => return self.break_control(true).map(Parsed::Node),
            ItemType::Continue => return self.break_control(false).map(Parsed::Node),
            ItemType::Else => return self.else_control(),
            ItemType::End => {
                self.expect(ItemType::RightDelim, "end")?;
                return Ok(Parsed::End);
            }
            ItemType::If => return self.control("if").map(|b| Parsed::Node(Node::If(b))),
            ItemType::Range => return self.control("range").map(|b| Parsed::Node(Node::Range(b))),
            ItemType::Template => return self.template_control().map(Parsed::Node),
            ItemType::With => return self.control("with").map(|b| Parsed::Node(Node::With(b))),
            _ => {}
        }
        self.backup();
        let pipe = self.pipeline("command", ItemType::RightDelim)?;
        Ok(Parsed::Node(Node::Action(pipe)))
    }

    fn break_control(&mut self, is_break: bool) -> PResult<Node> {
        let word = if is_break { "break" } else { "continue" };
        let t = self.next_non_space();
        if t.typ != ItemType::RightDelim {
            return Err(self.unexpected(&t, &format!("{{{{{word}}}}}")));
        }
        if self.range_depth == 0 {
            return Err(self.errorf(format!("{{{{{word}}}}} outside {{{{range}}}}")));
        }
        Ok(if is_break {
            Node::Break
        } else {
            Node::Continue
        })
    }

    fn else_control(&mut self) -> PResult<Parsed> {
        let peek = self.peek_non_space();
        if peek.typ == ItemType::If || peek.typ == ItemType::With {
            // "{{else if ...}}" / "{{else with ...}}": handled by the enclosing control.
            return Ok(Parsed::Else);
        }
        self.expect(ItemType::RightDelim, "else")?;
        Ok(Parsed::Else)
    }

    fn control(&mut self, context: &str) -> PResult<Branch> {
        self.enter()?;
        let mark = self.vars.len();
        let pipe = self.pipeline(context, ItemType::RightDelim)?;
        if context == "range" {
            self.range_depth += 1;
        }
        let (list, end) = self.item_list()?;
        if context == "range" {
            self.range_depth -= 1;
        }
        let mut else_list = None;
        if let ListEnd::Else = end {
            let chained = match self.peek_non_space().typ {
                ItemType::If if context == "if" => Some("if"),
                ItemType::With if context == "with" => Some("with"),
                _ => None,
            };
            if let Some(kind) = chained {
                self.next_non_space();
                let inner = self.control(kind)?;
                let node = if kind == "if" {
                    Node::If(inner)
                } else {
                    Node::With(inner)
                };
                else_list = Some(vec![node]);
            } else {
                if matches!(self.peek_non_space().typ, ItemType::If | ItemType::With) {
                    let t = self.next_non_space();
                    return Err(self.unexpected(&t, "else"));
                }
                let (el, end2) = self.item_list()?;
                if let ListEnd::Else = end2 {
                    return Err(self.errorf("expected end; found {{else}}"));
                }
                else_list = Some(el);
            }
        }
        self.vars.truncate(mark);
        self.depth -= 1;
        Ok(Branch {
            pipe,
            list,
            else_list,
        })
    }

    fn block_control(&mut self) -> PResult<Node> {
        let context = "block clause";
        let t = self.next_non_space();
        let name = self.template_name(&t, context)?;
        let pipe = self.pipeline(context, ItemType::RightDelim)?;
        let saved_vars = std::mem::replace(&mut self.vars, vec!["$".into()]);
        let saved_range = std::mem::replace(&mut self.range_depth, 0);
        let (list, end) = self.item_list()?;
        self.vars = saved_vars;
        self.range_depth = saved_range;
        if let ListEnd::Else = end {
            return Err(self.errorf(format!("unexpected {{{{else}}}} in {context}")));
        }
        self.add(name.clone(), list)?;
        Ok(Node::Template {
            name,
            pipe: Some(pipe),
            pos: t.pos,
        })
    }

    fn template_control(&mut self) -> PResult<Node> {
        let context = "template clause";
        let t = self.next_non_space();
        let name = self.template_name(&t, context)?;
        let mut pipe = None;
        if self.next_non_space().typ != ItemType::RightDelim {
            self.backup();
            pipe = Some(self.pipeline(context, ItemType::RightDelim)?);
        }
        Ok(Node::Template {
            name,
            pipe,
            pos: t.pos,
        })
    }

    fn template_name(&self, t: &Item, context: &str) -> PResult<String> {
        match t.typ {
            ItemType::String | ItemType::RawString => {
                let s = unquote(&t.val).map_err(|e| self.errorf(e))?;
                Ok(String::from_utf8_lossy(&s).into_owned())
            }
            _ => Err(self.unexpected(t, context)),
        }
    }

    fn pipeline(&mut self, context: &str, end: ItemType) -> PResult<Pipe> {
        self.enter()?;
        self.peek_non_space();
        let mut pipe = Pipe {
            is_assign: false,
            decl: Vec::new(),
            cmds: Vec::new(),
        };
        loop {
            let v = self.peek_non_space();
            if v.typ != ItemType::Variable {
                break;
            }
            let v_index = self.i;
            self.next();
            let next = self.peek_non_space();
            match next.typ {
                ItemType::Assign | ItemType::Declare => {
                    pipe.is_assign = next.typ == ItemType::Assign;
                    self.next_non_space();
                    pipe.decl.push(v.val.clone());
                    self.vars.push(v.val.clone());
                    break;
                }
                ItemType::Char if next.val == "," => {
                    self.next_non_space();
                    pipe.decl.push(v.val.clone());
                    self.vars.push(v.val.clone());
                    if context == "range" && pipe.decl.len() < 2 {
                        match self.peek_non_space().typ {
                            ItemType::Variable | ItemType::RightDelim | ItemType::RightParen => {
                                continue;
                            }
                            _ => return Err(self.errorf("range can only initialize variables")),
                        }
                    }
                    return Err(self.errorf(format!("too many declarations in {context}")));
                }
                _ => {
                    self.i = v_index;
                    break;
                }
            }
        }
        loop {
            let t = self.next_non_space();
            if t.typ == end {
                self.check_pipeline(&pipe, context)?;
                self.depth -= 1;
                return Ok(pipe);
            }
            match t.typ {
                ItemType::Bool
                | ItemType::CharConstant
                | ItemType::Complex
                | ItemType::Dot
                | ItemType::Field
                | ItemType::Identifier
                | ItemType::Number
                | ItemType::Nil
                | ItemType::RawString
                | ItemType::String
                | ItemType::Variable
                | ItemType::LeftParen => {
                    self.backup();
                    let cmd = self.command()?;
                    pipe.cmds.push(cmd);
                }
                _ => return Err(self.unexpected(&t, context)),
            }
        }
    }

    fn check_pipeline(&self, pipe: &Pipe, context: &str) -> PResult<()> {
        if pipe.cmds.is_empty() {
            return Err(self.errorf(format!("missing value for {context}")));
        }
        for (i, c) in pipe.cmds.iter().enumerate().skip(1) {
            if matches!(
                c.args[0],
                Arg::Bool(_) | Arg::Dot | Arg::Nil | Arg::Number(_) | Arg::Str(_)
            ) {
                return Err(self.errorf(format!(
                    "non executable command in pipeline stage {}",
                    i + 1
                )));
            }
        }
        Ok(())
    }

    fn command(&mut self) -> PResult<Command> {
        let start = self.peek_non_space().pos;
        let mut args = Vec::new();
        let mut end_pos = start;
        loop {
            self.peek_non_space();
            if let Some(op) = self.operand()? {
                args.push(op);
            }
            end_pos = self.peek().pos.max(end_pos);
            let t = self.next();
            match t.typ {
                ItemType::Space => continue,
                ItemType::RightDelim | ItemType::RightParen => self.backup(),
                ItemType::Pipe => {}
                _ => return Err(self.unexpected(&t, "operand")),
            }
            break;
        }
        if args.is_empty() {
            return Err(self.errorf("empty command"));
        }
        Ok(Command {
            args,
            span: (start, end_pos),
        })
    }

    fn operand(&mut self) -> PResult<Option<Arg>> {
        let Some(node) = self.term()? else {
            return Ok(None);
        };
        if self.peek().typ != ItemType::Field {
            return Ok(Some(node));
        }
        let mut fields = Vec::new();
        while self.peek().typ == ItemType::Field {
            let f = self.next().val;
            fields.push(f[1..].to_owned());
        }
        Ok(Some(match node {
            Arg::Field(mut base) => {
                base.extend(fields);
                Arg::Field(base)
            }
            Arg::Variable(name, mut base) => {
                base.extend(fields);
                Arg::Variable(name, base)
            }
            Arg::Bool(_) | Arg::Str(_) | Arg::Number(_) | Arg::Nil | Arg::Dot => {
                let shown = match &node {
                    Arg::Bool(b) => b.to_string(),
                    Arg::Nil => "nil".into(),
                    Arg::Dot => ".".into(),
                    Arg::Number(n) => n.text.clone(),
                    _ => "string".into(),
                };
                return Err(self.errorf(format!("unexpected . after term {}", go_quote(&shown))));
            }
            other => Arg::Chain(Box::new(other), fields),
        }))
    }

    fn term(&mut self) -> PResult<Option<Arg>> {
        let t = self.next_non_space();
        Ok(Some(match t.typ {
            ItemType::Identifier => match Func::lookup(&t.val) {
                Some(f) => Arg::Identifier(f),
                None => {
                    return Err(self.errorf(format!("function {} not defined", go_quote(&t.val))));
                }
            },
            ItemType::Dot => Arg::Dot,
            ItemType::Nil => Arg::Nil,
            ItemType::Variable => {
                let mut parts = t.val.split('.');
                let name = parts.next().unwrap_or("$").to_owned();
                let fields: Vec<String> = parts.map(str::to_owned).collect();
                if !self.vars.contains(&name) {
                    return Err(self.errorf(format!("undefined variable {}", go_quote(&name))));
                }
                Arg::Variable(name, fields)
            }
            ItemType::Field => Arg::Field(t.val[1..].split('.').map(str::to_owned).collect()),
            ItemType::Bool => Arg::Bool(t.val == "true"),
            ItemType::CharConstant | ItemType::Complex | ItemType::Number => {
                let n = new_number(&t.val, t.typ).map_err(|e| self.errorf(e))?;
                Arg::Number(Box::new(n))
            }
            ItemType::LeftParen => Arg::Pipe(Box::new(
                self.pipeline("parenthesized pipeline", ItemType::RightParen)?,
            )),
            ItemType::String | ItemType::RawString => {
                Arg::Str(unquote(&t.val).map_err(|e| self.errorf(e))?)
            }
            _ => {
                self.backup();
                return Ok(None);
            }
        }))
    }
}

enum Parsed {
    Node(Node),
    End,
    Else,
}

pub(crate) fn go_quote(s: &str) -> String {
    let mut q = Vec::new();
    super::gostr::quote_with(&mut q, s.as_bytes(), b'"', false);
    String::from_utf8_lossy(&q).into_owned()
}

fn unhex(c: u8) -> Option<u32> {
    (c as char).to_digit(16)
}

/// `strconv.UnquoteChar`: (value, multibyte, rest).
fn unquote_char(s: &[u8], quote: u8) -> Result<(u32, bool, &[u8]), String> {
    let syntax = || "invalid syntax".to_string();
    let Some(&c) = s.first() else {
        return Err(syntax());
    };
    if c == quote && (quote == b'\'' || quote == b'"') {
        return Err(syntax());
    }
    if c >= 0x80 {
        let (r, w) = super::gostr::decode_rune(s);
        return Ok((r as u32, true, &s[w..]));
    }
    if c != b'\\' {
        return Ok((u32::from(c), false, &s[1..]));
    }
    if s.len() <= 1 {
        return Err(syntax());
    }
    let c = s[1];
    let mut s = &s[2..];
    let value = match c {
        b'a' => 7,
        b'b' => 8,
        b'f' => 12,
        b'n' => 10,
        b'r' => 13,
        b't' => 9,
        b'v' => 11,
        b'x' | b'u' | b'U' => {
            let n = match c {
                b'x' => 2,
                b'u' => 4,
                _ => 8,
            };
            if s.len() < n {
                return Err(syntax());
            }
            let mut v: u32 = 0;
            for &d in &s[..n] {
                v = (v << 4) | unhex(d).ok_or_else(syntax)?;
            }
            s = &s[n..];
            if c == b'x' {
                return Ok((v, false, s));
            }
            if char::from_u32(v).is_none() {
                return Err(syntax());
            }
            return Ok((v, true, s));
        }
        b'0'..=b'7' => {
            let mut v = u32::from(c - b'0');
            if s.len() < 2 {
                return Err(syntax());
            }
            for &d in &s[..2] {
                if !(b'0'..=b'7').contains(&d) {
                    return Err(syntax());
                }
                v = (v << 3) | u32::from(d - b'0');
            }
            s = &s[2..];
            if v > 255 {
                return Err(syntax());
            }
            v
        }
        b'\\' => u32::from(b'\\'),
        b'\'' | b'"' => {
            if c != quote {
                return Err(syntax());
            }
            u32::from(c)
        }
        _ => return Err(syntax()),
    };
    Ok((value, false, s))
}

/// `strconv.Unquote` for `"..."` and `` `...` `` literals.
pub(crate) fn unquote(lit: &str) -> Result<Vec<u8>, String> {
    let b = lit.as_bytes();
    if b.len() < 2 {
        return Err("invalid syntax".into());
    }
    let quote = b[0];
    if quote != b[b.len() - 1] {
        return Err("invalid syntax".into());
    }
    let body = &b[1..b.len() - 1];
    if quote == b'`' {
        if body.contains(&b'`') {
            return Err("invalid syntax".into());
        }
        return Ok(body.iter().copied().filter(|&c| c != b'\r').collect());
    }
    if quote != b'"' {
        return Err("invalid syntax".into());
    }
    let mut out = Vec::with_capacity(body.len());
    let mut s = body;
    while !s.is_empty() {
        let (v, multibyte, rest) = unquote_char(s, quote)?;
        if v < 0x80 || !multibyte {
            out.push(v as u8);
        } else {
            super::gostr::push_rune(
                &mut out,
                char::from_u32(v).unwrap_or(super::gostr::RUNE_ERROR),
            );
        }
        s = rest;
    }
    Ok(out)
}

/// Go's `newNumber`.
fn new_number(text: &str, typ: ItemType) -> Result<Number, String> {
    let mut n = Number {
        text: text.to_owned(),
        is_int: false,
        is_uint: false,
        is_float: false,
        is_complex: false,
        int: 0,
        uint: 0,
        float: 0.0,
        complex: (0.0, 0.0),
    };
    match typ {
        ItemType::CharConstant => {
            let b = text.as_bytes();
            let (r, _, tail) = unquote_char(&b[1..], b[0])?;
            if tail != b"'" {
                return Err(format!("malformed character constant: {text}"));
            }
            n.int = i64::from(r);
            n.is_int = true;
            n.uint = u64::from(r);
            n.is_uint = true;
            n.float = f64::from(r);
            n.is_float = true;
            return Ok(n);
        }
        ItemType::Complex => {
            let c = parse_complex(text).ok_or_else(|| format!("expected integer; found {text}"))?;
            n.is_complex = true;
            n.complex = c;
            simplify_complex(&mut n);
            return Ok(n);
        }
        _ => {}
    }
    if let Some(stripped) = text.strip_suffix('i') {
        if let Some(f) = parse_float(stripped.as_bytes()) {
            n.is_complex = true;
            n.complex = (0.0, f);
            simplify_complex(&mut n);
            return Ok(n);
        }
    }
    let u = parse_uint_base0(text.as_bytes());
    if let Some(u) = u {
        n.is_uint = true;
        n.uint = u;
    }
    if let Some(i) = parse_int_base0(text.as_bytes()) {
        n.is_int = true;
        n.int = i;
        if i == 0 {
            n.is_uint = true;
            n.uint = u.unwrap_or(0);
        }
    }
    if n.is_int {
        n.is_float = true;
        n.float = n.int as f64;
    } else if n.is_uint {
        n.is_float = true;
        n.float = n.uint as f64;
    } else if let Some(f) = parse_float(text.as_bytes()) {
        if !text.contains(['.', 'e', 'E', 'p', 'P']) {
            return Err(format!("integer overflow: {}", go_quote(text)));
        }
        n.is_float = true;
        n.float = f;
        if !n.is_int && exact_i64(f).is_some() {
            n.is_int = true;
            n.int = exact_i64(f).unwrap_or(0);
        }
        if !n.is_uint && exact_u64(f).is_some() {
            n.is_uint = true;
            n.uint = exact_u64(f).unwrap_or(0);
        }
    }
    if !n.is_int && !n.is_uint && !n.is_float {
        return Err(format!("illegal number syntax: {}", go_quote(text)));
    }
    Ok(n)
}

/// `float64(int64(f)) == f` on amd64.
fn exact_i64(f: f64) -> Option<i64> {
    let i = super::strconv::f64_to_i64(f);
    (i as f64 == f).then_some(i)
}

/// `float64(uint64(f)) == f` on amd64 (conversion of out-of-range values never round-trips).
fn exact_u64(f: f64) -> Option<u64> {
    if f.is_nan() || !(0.0..18_446_744_073_709_551_616.0).contains(&f) {
        // Go's amd64 conversion of negative values wraps; only -0.0 and values in range
        // convert back exactly.
        if f == 0.0 {
            return Some(0);
        }
        if f < 0.0 && f > -9.223_372_036_854_776e18 && f.fract() == 0.0 {
            // uint64(int64(f)) then back to float64 gives a huge positive value != f.
            return None;
        }
        return None;
    }
    let u = f as u64;
    (u as f64 == f).then_some(u)
}

fn parse_complex(text: &str) -> Option<(f64, f64)> {
    // "re+imi" or "re-imi": split at the last sign that is not part of an exponent.
    let b = text.as_bytes();
    let body = text.strip_suffix('i')?;
    let mut split = None;
    for i in (1..body.len()).rev() {
        if (b[i] == b'+' || b[i] == b'-') && !matches!(b[i - 1], b'e' | b'E' | b'p' | b'P') {
            split = Some(i);
            break;
        }
    }
    let at = split?;
    let re = parse_float(&body.as_bytes()[..at])?;
    let im = parse_float(&body.as_bytes()[at..])?;
    Some((re, im))
}

fn simplify_complex(n: &mut Number) {
    n.is_float = n.complex.1 == 0.0;
    if n.is_float {
        n.float = n.complex.0;
        if let Some(i) = exact_i64(n.float) {
            n.is_int = true;
            n.int = i;
        }
        if let Some(u) = exact_u64(n.float) {
            n.is_uint = true;
            n.uint = u;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unquote_handles_go_escapes() {
        assert_eq!(
            unquote(r#""a\x41\101\u00e9\n""#).unwrap(),
            "aAAé\n".as_bytes()
        );
        assert_eq!(unquote(r#""\xff""#).unwrap(), b"\xff");
        assert!(unquote(r#""\'""#).is_err());
        assert!(unquote(r#""\400""#).is_err());
        assert_eq!(unquote("`a\\n`").unwrap(), b"a\\n");
    }

    #[test]
    fn numbers_get_all_interpretations() {
        let n = new_number("1.0", ItemType::Number).ok().unwrap();
        assert!(n.is_int && n.is_float && n.int == 1);
        assert!(new_number("08", ItemType::Number).is_err());
        let n = new_number("0x10", ItemType::Number).ok().unwrap();
        assert_eq!(n.int, 16);
        assert!(new_number("1e400", ItemType::Number).is_err());
        let n = new_number("'a'", ItemType::CharConstant).ok().unwrap();
        assert_eq!(n.int, 97);
        let n = new_number("2i", ItemType::Number).ok().unwrap();
        assert!(n.is_complex && !n.is_float);
    }

    #[test]
    fn parse_errors_are_detected() {
        assert!(parse("t", "{{foo}}").is_err());
        assert!(parse("t", "{{$x}}").is_err());
        assert!(parse("t", "{{if 1}}").is_err());
        assert!(parse("t", "{{break}}").is_err());
        assert!(parse("t", "{{. | 1}}").is_err());
        assert!(parse("t", "{{end}}").is_err());
        assert!(parse("t", "{{range $i, $e := .}}{{break}}{{end}}").is_ok());
        assert!(parse("t", "{{if 1}}a{{else if 2}}b{{else}}c{{end}}").is_ok());
        assert!(parse("t", &"(".repeat(10_000)).is_ok());
        assert!(parse("t", &format!("{{{{{}", "(".repeat(10_000))).is_err());
    }
}
