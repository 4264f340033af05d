//! The syntax tree of a parsed template.

use super::funcs::Func;

/// A parsed number literal with every interpretation Go derives from its text.
#[derive(Debug, Clone)]
pub(crate) struct Number {
    pub text: String,
    pub is_int: bool,
    pub is_uint: bool,
    pub is_float: bool,
    pub is_complex: bool,
    pub int: i64,
    pub uint: u64,
    pub float: f64,
    pub complex: (f64, f64),
}

/// An operand of a command.
#[derive(Debug, Clone)]
pub(crate) enum Arg {
    /// `.A.B` (empty for `.` alone is `Dot`).
    Field(Vec<String>),
    /// `$x.A.B` (fields may be empty).
    Variable(String, Vec<String>),
    /// `(pipeline).A.B` or `true.X`-like chains on a non-field term.
    Chain(Box<Arg>, Vec<String>),
    /// A function name.
    Identifier(Func),
    Dot,
    Nil,
    Bool(bool),
    Number(Box<Number>),
    Str(Vec<u8>),
    Pipe(Box<Pipe>),
}

/// One stage of a pipeline: an operand followed by arguments.
#[derive(Debug, Clone)]
pub(crate) struct Command {
    pub args: Vec<Arg>,
    /// Source text, for error context.
    pub span: (usize, usize),
}

/// A pipeline with optional variable declarations.
#[derive(Debug, Clone)]
pub(crate) struct Pipe {
    pub is_assign: bool,
    pub decl: Vec<String>,
    pub cmds: Vec<Command>,
}

/// A node of a template body.
#[derive(Debug, Clone)]
pub(crate) enum Node {
    Text(Vec<u8>),
    Action(Pipe),
    If(Branch),
    With(Branch),
    Range(Branch),
    Template {
        name: String,
        pipe: Option<Pipe>,
        pos: usize,
    },
    Break,
    Continue,
}

/// The pipeline, body and else-branch of `if`, `with` and `range`.
#[derive(Debug, Clone)]
pub(crate) struct Branch {
    pub pipe: Pipe,
    pub list: Vec<Node>,
    pub else_list: Option<Vec<Node>>,
}

impl Node {
    /// Go's `IsEmptyTree` for one node.
    pub(crate) fn is_empty(&self) -> bool {
        match self {
            Node::Text(t) => t
                .iter()
                .all(|c| matches!(c, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)),
            _ => false,
        }
    }
}
