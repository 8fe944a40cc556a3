//! The expression language of queues and workflows: TaskRouter's subset.
//!
//! `(skills HAS 'clinical') AND task.language IN worker.languages` —
//! comparisons `== = != < > <= >=`, `IN`, `NOT IN`, `HAS`, `NOT HAS`,
//! `CONTAINS`, joined by `AND` (`&&`), `OR` (`||`) and `NOT`, with
//! parentheses. Constants are strings in single or double quotes, numbers,
//! `true`, `false`, `null` and lists `['es', 'en']`. Keys are dotted paths
//! with optional `[n]` indexes; `task.` and `worker.` say which document,
//! a bare key means the expression's own (the worker in a queue, the task in
//! a workflow filter). A key the document lacks is null, and every
//! comparison with null is false except `== null` and `!= …`.
//! Keywords are case-insensitive. A parse error names the character
//! position (1-based) where it went wrong.

use crate::attrs::{Attrs, Keys, Val};
use std::fmt;

/// Which document a key is read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    /// The expression's own document.
    Own,
    Task,
    Worker,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Seg {
    Key(u32),
    Index(usize),
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Path {
    pub scope: Scope,
    pub segs: Box<[Seg]>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Lt,
    Gt,
    Le,
    Ge,
    In,
    NotIn,
    Has,
    NotHas,
    Contains,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Const(Val),
    Path(Path),
    Not(Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Cmp(Op, Box<Expr>, Box<Expr>),
}

/// Why an expression did not parse, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// 1-based character position.
    pub position: usize,
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at position {}: {}", self.position, self.message)
    }
}

impl std::error::Error for ParseError {}

/// The documents an expression is evaluated against.
#[derive(Clone, Copy)]
pub struct Docs<'a> {
    pub own: Scope,
    pub task: Option<&'a Attrs>,
    pub worker: Option<&'a Attrs>,
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Str(String),
    Num(f64),
    Word(String),
    Op(&'static str),
    LParen,
    RParen,
    LBracket,
    RBracket,
    Comma,
    End,
}

fn lex(src: &str) -> Result<Vec<(Tok, usize)>, ParseError> {
    let chars: Vec<char> = src.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    let err = |pos: usize, m: &str| ParseError {
        position: pos + 1,
        message: m.to_string(),
    };
    while i < chars.len() {
        let c = chars[i];
        let start = i;
        match c {
            c if c.is_whitespace() => {
                i += 1;
                continue;
            }
            '(' => out.push((Tok::LParen, start)),
            ')' => out.push((Tok::RParen, start)),
            '[' => out.push((Tok::LBracket, start)),
            ']' => out.push((Tok::RBracket, start)),
            ',' => out.push((Tok::Comma, start)),
            '\'' | '"' => {
                let mut s = String::new();
                i += 1;
                loop {
                    match chars.get(i) {
                        None => return Err(err(start, "string not closed")),
                        Some(&q) if q == c => break,
                        Some('\\') if chars.get(i + 1) == Some(&c) => {
                            s.push(c);
                            i += 1;
                        }
                        Some(&ch) => s.push(ch),
                    }
                    i += 1;
                }
                out.push((Tok::Str(s), start));
            }
            '=' | '!' | '<' | '>' | '&' | '|' => {
                let two: String = chars[i..(i + 2).min(chars.len())].iter().collect();
                let op = match two.as_str() {
                    "==" => Some("=="),
                    "!=" => Some("!="),
                    "<=" => Some("<="),
                    ">=" => Some(">="),
                    "&&" => Some("&&"),
                    "||" => Some("||"),
                    _ => None,
                };
                match (op, c) {
                    (Some(op), _) => {
                        out.push((Tok::Op(op), start));
                        i += 1;
                    }
                    (None, '=') => out.push((Tok::Op("=="), start)),
                    (None, '<') => out.push((Tok::Op("<"), start)),
                    (None, '>') => out.push((Tok::Op(">"), start)),
                    _ => return Err(err(start, &format!("unexpected `{c}`"))),
                }
            }
            c if c.is_ascii_digit()
                || (c == '-' && chars.get(i + 1).is_some_and(|d| d.is_ascii_digit())) =>
            {
                i += 1;
                while chars
                    .get(i)
                    .is_some_and(|d| d.is_ascii_digit() || *d == '.')
                {
                    i += 1;
                }
                let text: String = chars[start..i].iter().collect();
                let n = text
                    .parse::<f64>()
                    .map_err(|_| err(start, &format!("`{text}` is not a number")))?;
                out.push((Tok::Num(n), start));
                continue;
            }
            c if c.is_alphabetic() || c == '_' => {
                while chars
                    .get(i)
                    .is_some_and(|d| d.is_alphanumeric() || *d == '_' || *d == '.')
                {
                    i += 1;
                }
                out.push((Tok::Word(chars[start..i].iter().collect()), start));
                continue;
            }
            _ => return Err(err(start, &format!("unexpected `{c}`"))),
        }
        i += 1;
    }
    out.push((Tok::End, chars.len()));
    Ok(out)
}

struct Parser<'k> {
    toks: Vec<(Tok, usize)>,
    at: usize,
    keys: &'k mut Keys,
}

fn keyword(t: &Tok, kw: &str) -> bool {
    matches!(t, Tok::Word(w) if w.eq_ignore_ascii_case(kw))
}

fn describe(t: &Tok) -> String {
    match t {
        Tok::Str(s) => format!("'{s}'"),
        Tok::Num(n) => n.to_string(),
        Tok::Word(w) => format!("`{w}`"),
        Tok::Op(o) => format!("`{o}`"),
        Tok::LParen => "`(`".into(),
        Tok::RParen => "`)`".into(),
        Tok::LBracket => "`[`".into(),
        Tok::RBracket => "`]`".into(),
        Tok::Comma => "`,`".into(),
        Tok::End => "the end".into(),
    }
}

impl Parser<'_> {
    fn peek(&self) -> &Tok {
        &self.toks[self.at.min(self.toks.len() - 1)].0
    }

    fn peek_at(&self, ahead: usize) -> &Tok {
        &self.toks[(self.at + ahead).min(self.toks.len() - 1)].0
    }

    fn pos(&self) -> usize {
        self.toks[self.at.min(self.toks.len() - 1)].1 + 1
    }

    fn fail<T>(&self, what: &str) -> Result<T, ParseError> {
        Err(ParseError {
            position: self.pos(),
            message: format!("expected {what}, found {}", describe(self.peek())),
        })
    }

    fn next(&mut self) -> Tok {
        let t = self.peek().clone();
        self.at += 1;
        t
    }

    fn or(&mut self) -> Result<Expr, ParseError> {
        let mut left = self.and()?;
        while keyword(self.peek(), "or") || *self.peek() == Tok::Op("||") {
            self.next();
            left = Expr::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, ParseError> {
        let mut left = self.unary()?;
        while keyword(self.peek(), "and") || *self.peek() == Tok::Op("&&") {
            self.next();
            left = Expr::And(Box::new(left), Box::new(self.unary()?));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Expr, ParseError> {
        if keyword(self.peek(), "not") {
            self.next();
            return Ok(Expr::Not(Box::new(self.unary()?)));
        }
        if *self.peek() == Tok::LParen {
            self.next();
            let inner = self.or()?;
            if *self.peek() != Tok::RParen {
                return self.fail("`)`");
            }
            self.next();
            return Ok(inner);
        }
        let left = self.operand()?;
        let op = match self.peek() {
            Tok::Op("==") => Some(Op::Eq),
            Tok::Op("!=") => Some(Op::Ne),
            Tok::Op("<") => Some(Op::Lt),
            Tok::Op(">") => Some(Op::Gt),
            Tok::Op("<=") => Some(Op::Le),
            Tok::Op(">=") => Some(Op::Ge),
            t if keyword(t, "in") => Some(Op::In),
            t if keyword(t, "has") => Some(Op::Has),
            t if keyword(t, "contains") => Some(Op::Contains),
            t if keyword(t, "not") && keyword(self.peek_at(1), "in") => Some(Op::NotIn),
            t if keyword(t, "not") && keyword(self.peek_at(1), "has") => Some(Op::NotHas),
            _ => None,
        };
        let Some(op) = op else {
            // A lone value is a test of truth: `vip` means `vip == true`.
            return Ok(left);
        };
        if matches!(op, Op::NotIn | Op::NotHas) {
            self.next();
        }
        self.next();
        let right = self.operand()?;
        Ok(Expr::Cmp(op, Box::new(left), Box::new(right)))
    }

    fn operand(&mut self) -> Result<Expr, ParseError> {
        match self.peek().clone() {
            Tok::Str(s) => {
                self.next();
                Ok(Expr::Const(Val::Str(s.into())))
            }
            Tok::Num(n) => {
                self.next();
                Ok(Expr::Const(Val::Num(n)))
            }
            Tok::LBracket => {
                self.next();
                let mut items = Vec::new();
                while *self.peek() != Tok::RBracket {
                    let (at, found) = (self.pos(), describe(self.peek()));
                    match self.operand()? {
                        Expr::Const(v) => items.push(v),
                        _ => {
                            return Err(ParseError {
                                position: at,
                                message: format!("expected a constant in a list, found {found}"),
                            });
                        }
                    }
                    match self.peek() {
                        Tok::Comma => {
                            self.next();
                        }
                        Tok::RBracket => {}
                        _ => return self.fail("`,` or `]`"),
                    }
                }
                self.next();
                Ok(Expr::Const(Val::List(items.into_boxed_slice())))
            }
            Tok::Word(w) if w.eq_ignore_ascii_case("true") => {
                self.next();
                Ok(Expr::Const(Val::Bool(true)))
            }
            Tok::Word(w) if w.eq_ignore_ascii_case("false") => {
                self.next();
                Ok(Expr::Const(Val::Bool(false)))
            }
            Tok::Word(w) if w.eq_ignore_ascii_case("null") => {
                self.next();
                Ok(Expr::Const(Val::Null))
            }
            Tok::Word(w)
                if ["and", "or", "not", "in", "has", "contains"]
                    .iter()
                    .any(|k| w.eq_ignore_ascii_case(k)) =>
            {
                self.fail("a value or a key")
            }
            Tok::Word(w) => {
                let pos = self.pos();
                self.next();
                self.path(&w, pos)
            }
            _ => self.fail("a value or a key"),
        }
    }

    /// `a.b.c` then any `[n]` indexes.
    fn path(&mut self, dotted: &str, pos: usize) -> Result<Expr, ParseError> {
        let bad = |m: String| ParseError {
            position: pos,
            message: m,
        };
        let mut parts: Vec<&str> = dotted.split('.').collect();
        if parts.iter().any(|p| p.is_empty()) {
            return Err(bad(format!("`{dotted}` is not a key")));
        }
        let scope = match parts[0] {
            "task" if parts.len() > 1 => Scope::Task,
            "worker" if parts.len() > 1 => Scope::Worker,
            _ => Scope::Own,
        };
        if scope != Scope::Own {
            parts.remove(0);
        }
        let mut segs = Vec::new();
        for p in parts {
            segs.push(Seg::Key(self.keys.intern(p).map_err(bad)?));
        }
        while *self.peek() == Tok::LBracket {
            self.next();
            let Tok::Num(n) = self.peek().clone() else {
                return self.fail("an index");
            };
            if n < 0.0 || n.fract() != 0.0 {
                return self.fail("a whole index");
            }
            self.next();
            if *self.peek() != Tok::RBracket {
                return self.fail("`]`");
            }
            self.next();
            segs.push(Seg::Index(n as usize));
        }
        Ok(Expr::Path(Path {
            scope,
            segs: segs.into_boxed_slice(),
        }))
    }
}

impl Expr {
    /// Parses `src`, interning the keys it names.
    pub fn parse(src: &str, keys: &mut Keys) -> Result<Expr, ParseError> {
        let toks = lex(src)?;
        let mut p = Parser { toks, at: 0, keys };
        if *p.peek() == Tok::End {
            return p.fail("an expression");
        }
        let e = p.or()?;
        if *p.peek() != Tok::End {
            return p.fail("`AND`, `OR` or the end");
        }
        Ok(e)
    }

    /// The always-true expression (`1 == 1`).
    pub fn always() -> Expr {
        Expr::Const(Val::Bool(true))
    }

    pub fn matches(&self, docs: Docs<'_>) -> bool {
        truthy(&self.value(docs))
    }

    fn value<'a>(&'a self, docs: Docs<'a>) -> std::borrow::Cow<'a, Val> {
        use std::borrow::Cow;
        match self {
            Expr::Const(v) => Cow::Borrowed(v),
            Expr::Path(p) => Cow::Borrowed(resolve(p, docs)),
            Expr::Not(e) => Cow::Owned(Val::Bool(!e.matches(docs))),
            Expr::And(a, b) => Cow::Owned(Val::Bool(a.matches(docs) && b.matches(docs))),
            Expr::Or(a, b) => Cow::Owned(Val::Bool(a.matches(docs) || b.matches(docs))),
            Expr::Cmp(op, l, r) => {
                Cow::Owned(Val::Bool(compare(*op, &l.value(docs), &r.value(docs))))
            }
        }
    }

    /// Every key path read from `scope` (bare keys count for `own`).
    pub fn paths(&self, scope: Scope, own: Scope, out: &mut Vec<Path>) {
        match self {
            Expr::Const(_) => {}
            Expr::Path(p) => {
                let s = if p.scope == Scope::Own { own } else { p.scope };
                if s == scope && !out.contains(p) {
                    out.push(p.clone());
                }
            }
            Expr::Not(e) => e.paths(scope, own, out),
            Expr::And(a, b) | Expr::Or(a, b) | Expr::Cmp(_, a, b) => {
                a.paths(scope, own, out);
                b.paths(scope, own, out);
            }
        }
    }
}

static NULL: Val = Val::Null;

/// The value at `path`, or null.
pub fn resolve<'a>(path: &Path, docs: Docs<'a>) -> &'a Val {
    let scope = if path.scope == Scope::Own {
        docs.own
    } else {
        path.scope
    };
    let doc = match scope {
        Scope::Task => docs.task,
        Scope::Worker => docs.worker,
        Scope::Own => None,
    };
    let Some(doc) = doc else { return &NULL };
    let mut segs = path.segs.iter();
    let Some(Seg::Key(first)) = segs.next() else {
        return &NULL;
    };
    let Some(mut v) = doc.get(*first) else {
        return &NULL;
    };
    for s in segs {
        v = match (s, v) {
            (Seg::Key(k), Val::Obj(o)) => match o.get(*k) {
                Some(x) => x,
                None => return &NULL,
            },
            (Seg::Index(i), Val::List(items)) => match items.get(*i) {
                Some(x) => x,
                None => return &NULL,
            },
            _ => return &NULL,
        };
    }
    v
}

fn truthy(v: &Val) -> bool {
    matches!(v, Val::Bool(true))
}

fn equal(a: &Val, b: &Val) -> bool {
    match (a, b) {
        (Val::Num(x), Val::Num(y)) => x == y,
        _ => a == b,
    }
}

fn order(a: &Val, b: &Val) -> Option<std::cmp::Ordering> {
    match (a, b) {
        (Val::Num(x), Val::Num(y)) => x.partial_cmp(y),
        (Val::Str(x), Val::Str(y)) => Some(x.cmp(y)),
        _ => None,
    }
}

fn member(item: &Val, list: &Val) -> bool {
    match list {
        Val::List(items) => match item {
            // A list on the left: do the two share any value?
            Val::List(left) => left.iter().any(|x| items.iter().any(|y| equal(x, y))),
            Val::Null => false,
            _ => items.iter().any(|y| equal(item, y)),
        },
        _ => false,
    }
}

fn compare(op: Op, l: &Val, r: &Val) -> bool {
    use std::cmp::Ordering::*;
    match op {
        Op::Eq => equal(l, r),
        Op::Ne => !equal(l, r),
        Op::Lt => order(l, r) == Some(Less),
        Op::Gt => order(l, r) == Some(Greater),
        Op::Le => matches!(order(l, r), Some(Less | Equal)),
        Op::Ge => matches!(order(l, r), Some(Greater | Equal)),
        Op::In => member(l, r),
        Op::NotIn => !member(l, r),
        Op::Has => match l {
            Val::List(_) => member(r, l),
            Val::Null => false,
            _ => equal(l, r),
        },
        Op::NotHas => !compare(Op::Has, l, r),
        Op::Contains => match (l, r) {
            (Val::Str(s), Val::Str(sub)) => s.contains(sub.as_ref()),
            (Val::List(_), _) => member(r, l),
            _ => false,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(src: &str, task: serde_json::Value, worker: serde_json::Value) -> bool {
        let mut keys = Keys::default();
        let e = Expr::parse(src, &mut keys).unwrap_or_else(|e| panic!("{src}: {e}"));
        let t = Attrs::from_json(&task, &mut keys).unwrap();
        let w = Attrs::from_json(&worker, &mut keys).unwrap();
        e.matches(Docs {
            own: Scope::Worker,
            task: Some(&t),
            worker: Some(&w),
        })
    }

    #[test]
    fn taskrouter_examples() {
        let w = json!({"skills": ["support", "clinical"], "languages": ["english", "es"],
                       "skill_rating": 6, "team": "north", "name": "Ana Bell"});
        let t = json!({"language": "es", "type": "case_interview", "vip": true,
                       "object": {"array": ["a", "b", "c"], "attr": "bar"}});
        let yes = [
            "1 == 1",
            "0 != 1",
            "\"apple\" != \"orange\"",
            "(skills HAS 'support') AND (languages HAS 'english')",
            "task.language IN worker.languages",
            "task.language IN ['en', 'es']",
            "task.language NOT IN ['fr']",
            "skills NOT HAS 'sales'",
            "skill_rating >= 5.1 and skill_rating < 7",
            "task.object.array[2] == 'c'",
            "task.object.attr = \"bar\"",
            "task.vip",
            "NOT task.missing == 'x'",
            "task.missing == null",
            "name CONTAINS 'Bell'",
            "skills contains 'clinical'",
            "team == 'south' || team == 'north'",
            "NOT (team == 'south') && worker.team == 'north'",
            "'b' < 'c'",
        ];
        for src in yes {
            assert!(check(src, t.clone(), w.clone()), "{src} should hold");
        }
        let no = [
            "task.missing > 1",
            "task.missing IN ['x']",
            "task.missing HAS 'x'",
            "task.language == 1",
            "skill_rating > 'a'",
            "task.object.array[9] == 'c'",
            "languages HAS 'fr'",
            "task.type",
        ];
        for src in no {
            assert!(!check(src, t.clone(), w.clone()), "{src} should not hold");
        }
    }

    #[test]
    fn parse_errors_name_the_position() {
        let mut keys = Keys::default();
        let cases = [
            ("skills HAS", 11, "expected a value or a key, found the end"),
            ("(a == 1", 8, "expected `)`"),
            ("a == 'open", 6, "string not closed"),
            ("a == 1 b == 2", 8, "expected `AND`, `OR` or the end"),
            ("a ~ 1", 3, "unexpected `~`"),
            ("", 1, "expected an expression"),
            ("a IN [1, b]", 10, "expected a constant in a list"),
            ("x[-1] == 1", 3, "expected a whole index"),
            ("a == AND", 6, "expected a value or a key"),
        ];
        for (src, pos, msg) in cases {
            let e = Expr::parse(src, &mut keys).unwrap_err();
            assert_eq!(e.position, pos, "{src}: {e}");
            assert!(e.message.starts_with(msg), "{src}: {e}");
        }
    }

    #[test]
    fn paths_by_scope() {
        let mut keys = Keys::default();
        let e = Expr::parse("task.language IN languages AND task.type == 'x'", &mut keys).unwrap();
        let mut task = Vec::new();
        e.paths(Scope::Task, Scope::Worker, &mut task);
        assert_eq!(task.len(), 2);
        let mut worker = Vec::new();
        e.paths(Scope::Worker, Scope::Worker, &mut worker);
        assert_eq!(worker.len(), 1);
    }
}
