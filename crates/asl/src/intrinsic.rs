//! Intrinsic functions (`States.Format(...)`, `States.Array(...)`, …).
//!
//! Calls are parsed at load time, so an unknown function or a wrong number of
//! arguments is a load error; type errors on run-time values fail the state with
//! `States.IntrinsicFailure`, as in Step Functions.

use serde_json::Value;

use crate::path::Query;

/// A supported intrinsic function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Func {
    Format,
    StringToJson,
    JsonToString,
    Array,
    ArrayGetItem,
    ArrayLength,
    ArrayContains,
    ArrayRange,
    ArrayPartition,
    ArrayUnique,
    MathAdd,
    Uuid,
}

impl Func {
    fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "States.Format" => Self::Format,
            "States.StringToJson" => Self::StringToJson,
            "States.JsonToString" => Self::JsonToString,
            "States.Array" => Self::Array,
            "States.ArrayGetItem" => Self::ArrayGetItem,
            "States.ArrayLength" => Self::ArrayLength,
            "States.ArrayContains" => Self::ArrayContains,
            "States.ArrayRange" => Self::ArrayRange,
            "States.ArrayPartition" => Self::ArrayPartition,
            "States.ArrayUnique" => Self::ArrayUnique,
            "States.MathAdd" => Self::MathAdd,
            "States.UUID" => Self::Uuid,
            _ => return None,
        })
    }

    /// Allowed argument counts (min, max).
    fn arity(self) -> (usize, usize) {
        match self {
            Self::Format => (1, usize::MAX),
            Self::Array => (0, usize::MAX),
            Self::StringToJson | Self::JsonToString | Self::ArrayLength | Self::ArrayUnique => {
                (1, 1)
            }
            Self::ArrayGetItem | Self::ArrayContains | Self::ArrayPartition | Self::MathAdd => {
                (2, 2)
            }
            Self::ArrayRange => (3, 3),
            Self::Uuid => (0, 0),
        }
    }
}

/// One argument of an intrinsic call.
#[derive(Debug, Clone)]
enum Arg {
    /// A string literal, kept with its `\{`, `\}` and `\\` escapes for States.Format.
    Str(String),
    /// A number, boolean or null literal.
    Literal(Value),
    Path(Query),
    Call(Intrinsic),
}

/// A parsed intrinsic function call.
#[derive(Debug, Clone)]
pub(crate) struct Intrinsic {
    name: String,
    func: Func,
    args: Vec<Arg>,
}

impl Intrinsic {
    /// Parses a whole `States.X(...)` expression.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut parser = Parser {
            chars: text.chars().collect(),
            pos: 0,
        };
        let call = parser.call()?;
        parser.skip_ws();
        if parser.pos != parser.chars.len() {
            return Err(format!(
                "unexpected text after the intrinsic function call in \"{text}\""
            ));
        }
        Ok(call)
    }

    /// Whether any path argument (recursively) is exactly `path`.
    pub fn mentions(&self, path: &str) -> bool {
        self.args.iter().any(|arg| match arg {
            Arg::Path(q) => q.text == path,
            Arg::Call(c) => c.mentions(path),
            _ => false,
        })
    }

    /// Evaluates the call; `Err` is the message of a `States.IntrinsicFailure`
    /// (or of a path failure: the caller decides the error name).
    pub fn eval(&self, input: &Value, context: &Value) -> Result<Value, String> {
        let mut values = Vec::with_capacity(self.args.len());
        for arg in &self.args {
            values.push(match arg {
                Arg::Str(raw) => Value::String(unescape(raw)),
                Arg::Literal(v) => v.clone(),
                Arg::Path(q) => q.select(input, context).ok_or_else(|| {
                    format!(
                        "the path '{}' in {} could not be found in the input",
                        q.text, self.name
                    )
                })?,
                Arg::Call(c) => c.eval(input, context)?,
            });
        }
        let fail = |msg: &str| Err(format!("{}: {msg}", self.name));
        match self.func {
            Func::Format => {
                let Some(Arg::Str(template)) = self.args.first() else {
                    return fail("the first argument must be a string literal");
                };
                format(template, &values[1..]).or_else(|m| fail(&m))
            }
            Func::StringToJson => match &values[0] {
                Value::String(s) => serde_json::from_str(s).or_else(|e| fail(&e.to_string())),
                _ => fail("the argument must be a string"),
            },
            Func::JsonToString => Ok(Value::String(values[0].to_string())),
            Func::Array => Ok(Value::Array(values)),
            Func::ArrayGetItem => match (&values[0], values[1].as_u64()) {
                (Value::Array(a), Some(i)) => match a.get(i as usize) {
                    Some(v) => Ok(v.clone()),
                    None => fail(&format!("index {i} is out of bounds")),
                },
                _ => fail("expects an array and a non-negative integer index"),
            },
            Func::ArrayLength => match &values[0] {
                Value::Array(a) => Ok(Value::from(a.len())),
                _ => fail("the argument must be an array"),
            },
            Func::ArrayContains => match &values[0] {
                Value::Array(a) => Ok(Value::Bool(a.contains(&values[1]))),
                _ => fail("the first argument must be an array"),
            },
            Func::ArrayUnique => match &values[0] {
                Value::Array(a) => {
                    let mut out: Vec<Value> = Vec::new();
                    for v in a {
                        if !out.contains(v) {
                            out.push(v.clone());
                        }
                    }
                    Ok(Value::Array(out))
                }
                _ => fail("the argument must be an array"),
            },
            Func::ArrayPartition => match (&values[0], values[1].as_u64()) {
                (Value::Array(a), Some(n)) if n > 0 => Ok(Value::Array(
                    a.chunks(n as usize)
                        .map(|c| Value::Array(c.to_vec()))
                        .collect(),
                )),
                _ => fail("expects an array and a positive integer chunk size"),
            },
            Func::ArrayRange => {
                match (values[0].as_i64(), values[1].as_i64(), values[2].as_i64()) {
                    (Some(start), Some(end), Some(step)) if step != 0 => {
                        let mut out = Vec::new();
                        let mut v = start;
                        while (step > 0 && v <= end) || (step < 0 && v >= end) {
                            out.push(Value::from(v));
                            if out.len() > 1000 {
                                return fail("the range has more than 1000 items");
                            }
                            v += step;
                        }
                        Ok(Value::Array(out))
                    }
                    _ => fail("expects three integers and a non-zero step"),
                }
            }
            Func::MathAdd => match (values[0].as_i64(), values[1].as_i64()) {
                (Some(a), Some(b)) => a
                    .checked_add(b)
                    .map(Value::from)
                    .ok_or(())
                    .or_else(|_| fail("integer overflow")),
                _ => fail("expects two integers"),
            },
            Func::Uuid => Ok(Value::String(uuid::Uuid::new_v4().to_string())),
        }
    }
}

/// Resolves `\'`-free string literal escapes for use as a plain value.
fn unescape(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(next) = chars.next() {
                out.push(next);
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// States.Format: `{}` placeholders, `\{` `\}` `\\` escapes; string arguments are
/// inserted raw, other scalars as JSON, objects and arrays are refused.
fn format(template: &str, args: &[Value]) -> Result<Value, String> {
    let mut out = String::new();
    let mut next = 0;
    let mut chars = template.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(escaped) = chars.next() {
                    out.push(escaped);
                }
            }
            '{' if chars.peek() == Some(&'}') => {
                chars.next();
                let arg = args
                    .get(next)
                    .ok_or("there are more {} placeholders than arguments")?;
                next += 1;
                match arg {
                    Value::String(s) => out.push_str(s),
                    Value::Array(_) | Value::Object(_) => {
                        return Err("arguments must be strings, numbers, booleans or null".into())
                    }
                    other => out.push_str(&other.to_string()),
                }
            }
            other => out.push(other),
        }
    }
    if next != args.len() {
        return Err(format!("{} arguments for {next} placeholders", args.len()));
    }
    Ok(Value::String(out))
}

struct Parser {
    chars: Vec<char>,
    pos: usize,
}

impl Parser {
    fn skip_ws(&mut self) {
        while self.pos < self.chars.len() && self.chars[self.pos].is_whitespace() {
            self.pos += 1;
        }
    }

    fn rest(&self) -> String {
        self.chars[self.pos..].iter().collect()
    }

    fn call(&mut self) -> Result<Intrinsic, String> {
        self.skip_ws();
        let start = self.pos;
        while self.pos < self.chars.len()
            && (self.chars[self.pos].is_ascii_alphanumeric() || self.chars[self.pos] == '.')
        {
            self.pos += 1;
        }
        let name: String = self.chars[start..self.pos].iter().collect();
        let func = Func::from_name(&name).ok_or_else(|| {
            if name.starts_with("States.") {
                format!("unknown or unsupported intrinsic function {name}")
            } else {
                format!("\"{name}\" is not an intrinsic function call")
            }
        })?;
        self.skip_ws();
        if self.chars.get(self.pos) != Some(&'(') {
            return Err(format!("expected '(' after {name}"));
        }
        self.pos += 1;
        let mut args = Vec::new();
        self.skip_ws();
        if self.chars.get(self.pos) == Some(&')') {
            self.pos += 1;
        } else {
            loop {
                args.push(self.arg()?);
                self.skip_ws();
                match self.chars.get(self.pos) {
                    Some(',') => self.pos += 1,
                    Some(')') => {
                        self.pos += 1;
                        break;
                    }
                    _ => {
                        return Err(format!(
                            "expected ',' or ')' in {name} at \"{}\"",
                            self.rest()
                        ))
                    }
                }
            }
        }
        let (min, max) = func.arity();
        if args.len() < min || args.len() > max {
            return Err(format!("{name} does not take {} argument(s)", args.len()));
        }
        if func == Func::Format && !matches!(args.first(), Some(Arg::Str(_))) {
            return Err("States.Format needs a string literal as its first argument".into());
        }
        Ok(Intrinsic { name, func, args })
    }

    fn arg(&mut self) -> Result<Arg, String> {
        self.skip_ws();
        match self.chars.get(self.pos) {
            Some('\'') => {
                self.pos += 1;
                let mut raw = String::new();
                loop {
                    match self.chars.get(self.pos) {
                        None => return Err("unterminated string literal".into()),
                        Some('\\') if self.chars.get(self.pos + 1) == Some(&'\'') => {
                            raw.push('\'');
                            self.pos += 2;
                        }
                        Some('\\') => {
                            raw.push('\\');
                            if let Some(&n) = self.chars.get(self.pos + 1) {
                                raw.push(n);
                            }
                            self.pos += 2;
                        }
                        Some('\'') => {
                            self.pos += 1;
                            return Ok(Arg::Str(raw));
                        }
                        Some(&c) => {
                            raw.push(c);
                            self.pos += 1;
                        }
                    }
                }
            }
            Some('$') => {
                // A path ends at the first ',' or ')' outside brackets, parentheses and quotes.
                let start = self.pos;
                let mut depth = 0i32;
                let mut quote: Option<char> = None;
                while let Some(&c) = self.chars.get(self.pos) {
                    match (quote, c) {
                        (Some(q), c) if c == q => quote = None,
                        (Some(_), _) => {}
                        (None, '\'' | '"') => quote = Some(c),
                        (None, '[' | '(') => depth += 1,
                        (None, ']') => depth -= 1,
                        (None, ')') if depth == 0 => break,
                        (None, ')') => depth -= 1,
                        (None, ',') if depth == 0 => break,
                        _ => {}
                    }
                    self.pos += 1;
                }
                let text: String = self.chars[start..self.pos].iter().collect();
                Ok(Arg::Path(Query::parse(text.trim())?))
            }
            Some(c) if c.is_ascii_alphabetic() => {
                let rest = self.rest();
                for (word, value) in [
                    ("true", Value::Bool(true)),
                    ("false", Value::Bool(false)),
                    ("null", Value::Null),
                ] {
                    if rest.starts_with(word)
                        && !rest[word.len()..]
                            .starts_with(|c: char| c.is_ascii_alphanumeric() || c == '.')
                    {
                        self.pos += word.len();
                        return Ok(Arg::Literal(value));
                    }
                }
                Ok(Arg::Call(self.call()?))
            }
            Some(c) if c.is_ascii_digit() || *c == '-' => {
                let start = self.pos;
                while let Some(&c) = self.chars.get(self.pos) {
                    if c.is_ascii_digit() || matches!(c, '-' | '+' | '.' | 'e' | 'E') {
                        self.pos += 1;
                    } else {
                        break;
                    }
                }
                let text: String = self.chars[start..self.pos].iter().collect();
                serde_json::from_str::<Value>(&text)
                    .ok()
                    .filter(Value::is_number)
                    .map(Arg::Literal)
                    .ok_or_else(|| format!("\"{text}\" is not a number"))
            }
            _ => Err(format!("unexpected argument at \"{}\"", self.rest())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn eval(text: &str, input: Value) -> Result<Value, String> {
        Intrinsic::parse(text)?.eval(&input, &json!({"Execution": {"Name": "e1"}}))
    }

    #[test]
    fn format_inserts_strings_raw_and_scalars_as_json() {
        assert_eq!(
            eval(
                "States.Format('step {} of {} at {}% in {} \\{x\\}', $.i, 3, $.w, $$.Execution.Name)",
                json!({"i": 1, "w": 10.5})
            )
            .unwrap(),
            json!("step 1 of 3 at 10.5% in e1 {x}")
        );
        assert!(eval("States.Format('{}')", json!({})).is_err());
    }

    #[test]
    fn json_and_array_functions() {
        assert_eq!(
            eval("States.StringToJson($.s)", json!({"s": "{\"a\":[1,2]}"})).unwrap(),
            json!({"a": [1, 2]})
        );
        assert_eq!(
            eval("States.JsonToString($.o)", json!({"o": {"a": 1}})).unwrap(),
            json!("{\"a\":1}")
        );
        assert_eq!(
            eval("States.Array('a', 1, true, null, $.x)", json!({"x": [2]})).unwrap(),
            json!(["a", 1, true, null, [2]])
        );
        assert_eq!(
            eval("States.ArrayGetItem(States.Array(5, 6, 7), 1)", json!({})).unwrap(),
            json!(6)
        );
        assert_eq!(
            eval("States.ArrayLength($.a)", json!({"a": [1, 2, 3]})).unwrap(),
            json!(3)
        );
        assert_eq!(
            eval("States.MathAdd($.n, -1)", json!({"n": 5})).unwrap(),
            json!(4)
        );
        assert_eq!(
            eval("States.ArrayRange(1, 9, 4)", json!({})).unwrap(),
            json!([1, 5, 9])
        );
        let id = eval("States.UUID()", json!({})).unwrap();
        assert_eq!(id.as_str().unwrap().len(), 36);
    }

    #[test]
    fn bad_calls_are_refused_at_parse_or_fail_at_run() {
        assert!(Intrinsic::parse("States.Nope(1)")
            .unwrap_err()
            .contains("States.Nope"));
        assert!(Intrinsic::parse("States.ArrayLength(1, 2)").is_err());
        assert!(eval("States.MathAdd('a', 1)", json!({})).is_err());
    }
}
