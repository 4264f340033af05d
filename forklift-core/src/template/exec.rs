//! The evaluator: walks the tree like Go's `text/template` `state`, with Go's argument
//! conversion rules, variable scoping and truth rules.

use std::borrow::Cow;

use super::ast::{Arg, Branch, Node, Number, Pipe};
use super::funcs::{self, Budget, Func, Param};
use super::gofmt;
use super::parse::TreeSet;
use super::value::Value;
use super::{Error, Limits};

pub(crate) struct Exec<'t, 'a> {
    pub trees: &'t TreeSet,
    pub name: &'t str,
    pub src: &'t str,
    pub limits: Limits,
    pub vars: Vec<(&'t str, Value<'a>)>,
    pub out: Vec<u8>,
    steps: u64,
    depth: usize,
    at: (usize, usize),
}

enum Flow {
    Normal,
    Break,
    Continue,
}

type R<T> = Result<T, Error>;

impl<'t: 'a, 'a> Exec<'t, 'a> {
    pub(crate) fn new(trees: &'t TreeSet, name: &'t str, src: &'t str, limits: Limits) -> Self {
        Exec {
            trees,
            name,
            src,
            limits,
            vars: Vec::new(),
            out: Vec::new(),
            steps: 0,
            depth: 0,
            at: (0, 0),
        }
    }

    /// Runs the named tree with `dot` as data.
    pub(crate) fn run(&mut self, root: &'t [Node], dot: Value<'a>) -> R<()> {
        self.vars.push(("$", dot.clone()));
        self.walk(&dot, root).map(|_| ())
    }

    fn errorf(&self, msg: impl std::fmt::Display) -> Error {
        let (s, e) = self.at;
        let before = &self.src[..s.min(self.src.len())];
        let line = 1 + before.matches('\n').count();
        let col = s - before.rfind('\n').map(|i| i + 1).unwrap_or(0);
        let ctx = self.src.get(s..e).unwrap_or("").trim();
        Error::Exec {
            message: format!(
                "template: {}:{}:{}: executing \"{}\" at <{}>: {}",
                self.name, line, col, self.name, ctx, msg
            ),
        }
    }

    fn tick(&mut self) -> R<()> {
        self.steps += 1;
        if self.steps > self.limits.max_steps {
            return Err(Error::Limit {
                message: format!(
                    "template exceeded {} evaluation steps",
                    self.limits.max_steps
                ),
            });
        }
        Ok(())
    }

    fn enter(&mut self) -> R<()> {
        self.depth += 1;
        if self.depth > self.limits.max_depth {
            return Err(self.errorf(format!(
                "exceeded maximum template depth ({})",
                self.limits.max_depth
            )));
        }
        Ok(())
    }

    fn write(&mut self, b: &[u8]) -> R<()> {
        if self.out.len() + b.len() > self.limits.max_output {
            return Err(Error::Limit {
                message: format!("template output exceeds {} bytes", self.limits.max_output),
            });
        }
        self.out.extend_from_slice(b);
        Ok(())
    }

    fn walk(&mut self, dot: &Value<'a>, nodes: &'t [Node]) -> R<Flow> {
        self.enter()?;
        for node in nodes {
            self.tick()?;
            let flow = match node {
                Node::Text(t) => {
                    self.write(t)?;
                    Flow::Normal
                }
                Node::Action(pipe) => {
                    let val = self.eval_pipeline(dot, pipe)?;
                    if pipe.decl.is_empty() {
                        self.print_value(&val)?;
                    }
                    Flow::Normal
                }
                Node::If(b) => self.walk_if_with(false, dot, b)?,
                Node::With(b) => self.walk_if_with(true, dot, b)?,
                Node::Range(b) => self.walk_range(dot, b)?,
                Node::Template { name, pipe, pos } => {
                    self.at = (*pos, *pos);
                    self.walk_template(dot, name, pipe.as_ref())?;
                    Flow::Normal
                }
                Node::Break => Flow::Break,
                Node::Continue => Flow::Continue,
            };
            if !matches!(flow, Flow::Normal) {
                self.depth -= 1;
                return Ok(flow);
            }
        }
        self.depth -= 1;
        Ok(Flow::Normal)
    }

    fn print_value(&mut self, v: &Value<'a>) -> R<()> {
        match v {
            Value::Invalid => self.write(b"<no value>"),
            Value::Str(s) => self.write(s),
            _ => {
                let mut buf = Vec::new();
                gofmt::sprint(&mut buf, std::slice::from_ref(v));
                self.write(&buf)
            }
        }
    }

    fn walk_if_with(&mut self, is_with: bool, dot: &Value<'a>, b: &'t Branch) -> R<Flow> {
        let mark = self.vars.len();
        let val = self.eval_pipeline(dot, &b.pipe)?;
        let truth = val.truth().unwrap_or(false);
        let flow = if truth {
            if is_with {
                self.walk(&val, &b.list)?
            } else {
                self.walk(dot, &b.list)?
            }
        } else if let Some(el) = &b.else_list {
            self.walk(dot, el)?
        } else {
            Flow::Normal
        };
        self.vars.truncate(mark);
        Ok(flow)
    }

    fn walk_range(&mut self, dot: &Value<'a>, b: &'t Branch) -> R<Flow> {
        let mark0 = self.vars.len();
        let val = self.eval_pipeline(dot, &b.pipe)?;
        let mark = self.vars.len();
        let count = match &val {
            Value::Int(n) | Value::Int64(n) => *n,
            Value::Uint8(n) => i64::from(*n),
            Value::Invalid => 0,
            other => {
                let mut shown = Vec::new();
                gofmt::sprint(&mut shown, std::slice::from_ref(other));
                return Err(self.errorf(format!(
                    "range can't iterate over {}",
                    String::from_utf8_lossy(&shown)
                )));
            }
        };
        if !matches!(val, Value::Invalid) && b.pipe.decl.len() > 1 {
            let mut shown = Vec::new();
            gofmt::sprint(&mut shown, std::slice::from_ref(&val));
            return Err(self.errorf(format!(
                "can't use {} to iterate over more than one variable",
                String::from_utf8_lossy(&shown)
            )));
        }
        let mut ran = false;
        for i in 0..count.max(0) {
            self.tick()?;
            ran = true;
            let elem = match &val {
                Value::Int64(_) => Value::Int64(i),
                Value::Uint8(_) => Value::Uint8(i as u8),
                _ => Value::Int(i),
            };
            if !b.pipe.decl.is_empty() {
                let n = self.vars.len();
                self.vars[n - 1].1 = elem.clone();
            }
            let flow = self.walk(&elem, &b.list)?;
            self.vars.truncate(mark);
            if let Flow::Break = flow {
                break;
            }
        }
        if !ran {
            if let Some(el) = &b.else_list {
                let flow = self.walk(dot, el)?;
                self.vars.truncate(mark0);
                return Ok(flow);
            }
        }
        self.vars.truncate(mark0);
        Ok(Flow::Normal)
    }

    fn walk_template(&mut self, dot: &Value<'a>, name: &'t str, pipe: Option<&'t Pipe>) -> R<()> {
        let Some(tree) = self.trees.get(name) else {
            return Err(self.errorf(format!(
                "template {} not defined",
                super::parse::go_quote(name)
            )));
        };
        let new_dot = match pipe {
            Some(p) => self.eval_pipeline(dot, p)?,
            None => Value::Invalid,
        };
        let saved = std::mem::replace(&mut self.vars, vec![("$", new_dot.clone())]);
        let saved_name = std::mem::replace(&mut self.name, name);
        let result = self.walk(&new_dot, tree);
        self.vars = saved;
        self.name = saved_name;
        result.map(|_| ())
    }

    fn eval_pipeline(&mut self, dot: &Value<'a>, pipe: &'t Pipe) -> R<Value<'a>> {
        self.enter()?;
        let mut value: Option<Value<'a>> = None;
        for cmd in &pipe.cmds {
            self.tick()?;
            self.at = cmd.span;
            value = Some(self.eval_command(dot, &cmd.args, value)?);
        }
        let value = value.unwrap_or(Value::Invalid);
        for var in &pipe.decl {
            if pipe.is_assign {
                match self.vars.iter_mut().rev().find(|(n, _)| *n == var.as_str()) {
                    Some(slot) => slot.1 = value.clone(),
                    None => return Err(self.errorf(format!("undefined variable: {var}"))),
                }
            } else {
                self.vars.push((var.as_str(), value.clone()));
            }
        }
        self.depth -= 1;
        Ok(value)
    }

    fn not_a_function(&self, args: &'t [Arg], has_final: bool) -> R<()> {
        if args.len() > 1 || has_final {
            return Err(self.errorf(format!(
                "can't give argument to non-function {}",
                describe(&args[0])
            )));
        }
        Ok(())
    }

    fn eval_command(
        &mut self,
        dot: &Value<'a>,
        args: &'t [Arg],
        fin: Option<Value<'a>>,
    ) -> R<Value<'a>> {
        match &args[0] {
            Arg::Field(idents) => {
                return self.eval_field_chain(dot, dot.clone(), idents, args, fin);
            }
            Arg::Chain(node, fields) => return self.eval_chain(dot, node, fields, args, fin),
            Arg::Identifier(f) => return self.eval_call(dot, *f, &args[1..], fin),
            Arg::Pipe(p) => {
                self.not_a_function(args, fin.is_some())?;
                return self.eval_pipeline(dot, p);
            }
            Arg::Variable(name, fields) => return self.eval_variable(dot, name, fields, args, fin),
            _ => {}
        }
        self.not_a_function(args, fin.is_some())?;
        Ok(match &args[0] {
            Arg::Bool(b) => Value::Bool(*b),
            Arg::Dot => dot.clone(),
            Arg::Nil => return Err(self.errorf("nil is not a command")),
            Arg::Number(n) => self.ideal_constant(n)?,
            Arg::Str(s) => Value::Str(Cow::Borrowed(s)),
            _ => Value::Invalid,
        })
    }

    fn ideal_constant(&self, n: &Number) -> R<Value<'a>> {
        let t = n.text.as_bytes();
        let is_hex_int = t.len() > 2
            && t[0] == b'0'
            && (t[1] == b'x' || t[1] == b'X')
            && !n.text.contains(['p', 'P']);
        let is_rune = t.first() == Some(&b'\'');
        Ok(if n.is_complex {
            Value::Complex(n.complex.0, n.complex.1)
        } else if n.is_float
            && !is_hex_int
            && !is_rune
            && n.text.contains(['.', 'e', 'E', 'p', 'P'])
        {
            Value::Float(n.float)
        } else if n.is_int {
            Value::Int(n.int)
        } else if n.is_uint {
            return Err(self.errorf(format!("{} overflows int", n.text)));
        } else {
            Value::Invalid
        })
    }

    fn var_value(&self, name: &str) -> R<Value<'a>> {
        match self.vars.iter().rev().find(|(n, _)| *n == name) {
            Some((_, v)) => Ok(v.clone()),
            None => Err(self.errorf(format!("undefined variable: {name}"))),
        }
    }

    fn eval_variable(
        &mut self,
        dot: &Value<'a>,
        name: &str,
        fields: &'t [String],
        args: &'t [Arg],
        fin: Option<Value<'a>>,
    ) -> R<Value<'a>> {
        let value = self.var_value(name)?;
        if fields.is_empty() {
            if !args.is_empty() {
                self.not_a_function(args, fin.is_some())?;
            }
            return Ok(value);
        }
        self.eval_field_chain(dot, value, fields, args, fin)
    }

    fn eval_chain(
        &mut self,
        dot: &Value<'a>,
        node: &'t Arg,
        fields: &'t [String],
        args: &'t [Arg],
        fin: Option<Value<'a>>,
    ) -> R<Value<'a>> {
        if let Arg::Nil = node {
            return Err(self.errorf("indirection through explicit nil"));
        }
        let receiver = self.eval_arg(dot, Param::Any, node)?;
        self.eval_field_chain(dot, receiver, fields, args, fin)
    }

    fn eval_field_chain(
        &mut self,
        _dot: &Value<'a>,
        mut receiver: Value<'a>,
        idents: &'t [String],
        args: &'t [Arg],
        fin: Option<Value<'a>>,
    ) -> R<Value<'a>> {
        let n = idents.len();
        for ident in &idents[..n - 1] {
            receiver = self.eval_field(ident, false, receiver)?;
        }
        let has_args = args.len() > 1 || fin.is_some();
        self.eval_field(&idents[n - 1], has_args, receiver)
    }

    fn eval_field(&self, name: &str, has_args: bool, receiver: Value<'a>) -> R<Value<'a>> {
        match receiver {
            Value::Invalid => Ok(Value::Invalid),
            Value::Data(d) => match d.field(name) {
                Some(v) => {
                    if has_args {
                        return Err(self.errorf(format!(
                            "{name} has arguments but cannot be invoked as function"
                        )));
                    }
                    Ok(Value::from_field(v))
                }
                None => Err(self.errorf(format!(
                    "can't evaluate field {name} in type {}",
                    d.type_name()
                ))),
            },
            other => Err(self.errorf(format!(
                "can't evaluate field {name} in type {}",
                other.type_name()
            ))),
        }
    }

    fn validate_type(&self, v: Value<'a>, typ: Param) -> R<Value<'a>> {
        let ok = match (&v, typ) {
            (_, Param::Any) => true,
            (Value::Invalid, _) => {
                return Err(self.errorf(format!("invalid value; expected {}", typ.go_name())));
            }
            (Value::Int(_), Param::Int)
            | (Value::Str(_), Param::Str)
            | (Value::Float(_), Param::Float) => true,
            _ => false,
        };
        if !ok {
            return Err(self.errorf(format!(
                "wrong type for value; expected {}; got {}",
                typ.go_name(),
                v.type_name()
            )));
        }
        Ok(v)
    }

    fn eval_arg(&mut self, dot: &Value<'a>, typ: Param, arg: &'t Arg) -> R<Value<'a>> {
        let v = match arg {
            Arg::Dot => dot.clone(),
            Arg::Nil => {
                if typ == Param::Any {
                    return Ok(Value::Invalid);
                }
                return Err(self.errorf(format!("cannot assign nil to {}", typ.go_name())));
            }
            Arg::Field(idents) => {
                self.eval_field_chain(dot, dot.clone(), idents, std::slice::from_ref(arg), None)?
            }
            Arg::Variable(name, fields) => self.eval_variable(dot, name, fields, &[], None)?,
            Arg::Pipe(p) => self.eval_pipeline(dot, p)?,
            Arg::Identifier(f) => self.eval_call(dot, *f, &[], None)?,
            Arg::Chain(node, fields) => self.eval_chain(dot, node, fields, &[], None)?,
            Arg::Bool(b) => {
                return match typ {
                    Param::Any => Ok(Value::Bool(*b)),
                    _ => Err(self.errorf(format!("expected {}; found {b}", expected(typ)))),
                };
            }
            Arg::Number(n) => {
                return match typ {
                    Param::Any => self.ideal_constant(n),
                    Param::Int if n.is_int => Ok(Value::Int(n.int)),
                    Param::Float if n.is_float => Ok(Value::Float(n.float)),
                    _ => Err(self.errorf(format!("expected {}; found {}", expected(typ), n.text))),
                };
            }
            Arg::Str(s) => {
                return match typ {
                    Param::Any | Param::Str => Ok(Value::Str(Cow::Borrowed(s))),
                    _ => Err(self.errorf(format!(
                        "expected {}; found {}",
                        expected(typ),
                        super::parse::go_quote(&String::from_utf8_lossy(s))
                    ))),
                };
            }
        };
        self.validate_type(v, typ)
    }

    fn eval_call(
        &mut self,
        dot: &Value<'a>,
        f: Func,
        args: &'t [Arg],
        fin: Option<Value<'a>>,
    ) -> R<Value<'a>> {
        let sig = f.signature();
        let num_in = args.len() + usize::from(fin.is_some());
        let num_fixed = if sig.variadic.is_some() {
            sig.fixed.len()
        } else {
            args.len()
        };
        if sig.variadic.is_some() {
            if num_in < num_fixed {
                return Err(self.errorf(format!(
                    "wrong number of args for {}: want at least {} got {}",
                    f.name(),
                    sig.fixed.len(),
                    args.len()
                )));
            }
        } else if num_in != sig.fixed.len() {
            return Err(self.errorf(format!(
                "wrong number of args for {}: want {} got {}",
                f.name(),
                sig.fixed.len(),
                num_in
            )));
        }
        if f == Func::And || f == Func::Or {
            let mut v = Value::Invalid;
            for arg in args {
                v = self.eval_arg(dot, Param::Any, arg)?;
                if v.truth().unwrap_or(false) == (f == Func::Or) {
                    return Ok(v);
                }
            }
            if let Some(fv) = fin {
                v = fv;
            }
            return Ok(v);
        }
        let mut argv: Vec<Value<'a>> = Vec::with_capacity(num_in);
        let mut i = 0;
        while i < num_fixed && i < args.len() {
            let v = self.eval_arg(dot, sig.fixed[i], &args[i])?;
            argv.push(v);
            i += 1;
        }
        if let Some(vt) = sig.variadic {
            while i < args.len() {
                let v = self.eval_arg(dot, vt, &args[i])?;
                argv.push(v);
                i += 1;
            }
        }
        if let Some(fv) = fin {
            let t = match sig.variadic {
                Some(vt) => {
                    if num_in - 1 < num_fixed {
                        sig.fixed[num_in - 1]
                    } else {
                        vt
                    }
                }
                None => sig.fixed[sig.fixed.len() - 1],
            };
            argv.push(self.validate_type(fv, t)?);
        }
        let budget = Budget {
            max_output: self.limits.max_output,
        };
        funcs::call(f, argv, &budget).map_err(|e| {
            if e.contains("size limit") {
                Error::Limit {
                    message: format!("template output exceeds {} bytes", self.limits.max_output),
                }
            } else {
                self.errorf(format!("error calling {}: {e}", f.name()))
            }
        })
    }
}

fn expected(typ: Param) -> &'static str {
    match typ {
        Param::Int => "integer",
        Param::Str => "string",
        Param::Float => "float",
        Param::Any => "value",
    }
}

fn describe(arg: &Arg) -> String {
    match arg {
        Arg::Bool(b) => b.to_string(),
        Arg::Dot => ".".into(),
        Arg::Nil => "nil".into(),
        Arg::Number(n) => n.text.clone(),
        Arg::Str(s) => super::parse::go_quote(&String::from_utf8_lossy(s)),
        Arg::Field(f) => format!(".{}", f.join(".")),
        Arg::Variable(v, f) => std::iter::once(v.clone())
            .chain(f.iter().cloned())
            .collect::<Vec<_>>()
            .join("."),
        Arg::Identifier(f) => f.name().into(),
        Arg::Chain(..) | Arg::Pipe(_) => "(pipeline)".into(),
    }
}
