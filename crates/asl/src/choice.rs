//! Choice rules: parsing every JSONPath comparison operator and evaluating it the
//! way Step Functions does (a type mismatch is simply "no match"; a missing
//! `Variable` is a `States.Runtime` error except for `IsPresent`).

use chrono::{DateTime, FixedOffset};
use serde_json::{Map, Value};
use std::cmp::Ordering;

use crate::error::Failure;
use crate::path::Query;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    String,
    Numeric,
    Boolean,
    Timestamp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Rel {
    Equals,
    LessThan,
    GreaterThan,
    LessThanEquals,
    GreaterThanEquals,
}

impl Rel {
    fn holds(self, ord: Ordering) -> bool {
        match self {
            Self::Equals => ord == Ordering::Equal,
            Self::LessThan => ord == Ordering::Less,
            Self::GreaterThan => ord == Ordering::Greater,
            Self::LessThanEquals => ord != Ordering::Greater,
            Self::GreaterThanEquals => ord != Ordering::Less,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TypeTest {
    Null,
    Present,
    Numeric,
    String,
    Boolean,
    Timestamp,
}

#[derive(Debug, Clone)]
pub(crate) enum Operand {
    Literal(Value),
    Path(Query),
}

#[derive(Debug, Clone)]
pub(crate) enum Test {
    Compare(Kind, Rel, Operand),
    Matches(String),
    Is(TypeTest, bool),
}

/// A (possibly nested) Choice rule.
#[derive(Debug, Clone)]
pub(crate) enum Rule {
    And(Vec<Rule>),
    Or(Vec<Rule>),
    Not(Box<Rule>),
    Leaf { variable: Query, test: Test },
}

const OPERATORS: &[&str] = &[
    "StringEquals",
    "StringLessThan",
    "StringGreaterThan",
    "StringLessThanEquals",
    "StringGreaterThanEquals",
    "StringMatches",
    "NumericEquals",
    "NumericLessThan",
    "NumericGreaterThan",
    "NumericLessThanEquals",
    "NumericGreaterThanEquals",
    "BooleanEquals",
    "TimestampEquals",
    "TimestampLessThan",
    "TimestampGreaterThan",
    "TimestampLessThanEquals",
    "TimestampGreaterThanEquals",
    "IsNull",
    "IsPresent",
    "IsNumeric",
    "IsString",
    "IsBoolean",
    "IsTimestamp",
];

fn is_operator(key: &str) -> bool {
    OPERATORS.contains(&key)
        || key.strip_suffix("Path").is_some_and(|base| {
            OPERATORS.contains(&base) && base != "StringMatches" && !base.starts_with("Is")
        })
}

fn parse_test(op: &str, value: &Value) -> Result<Test, String> {
    if let Some(rest) = op.strip_prefix("Is") {
        let test = match rest {
            "Null" => TypeTest::Null,
            "Present" => TypeTest::Present,
            "Numeric" => TypeTest::Numeric,
            "String" => TypeTest::String,
            "Boolean" => TypeTest::Boolean,
            "Timestamp" => TypeTest::Timestamp,
            _ => unreachable!("checked by is_operator"),
        };
        let b = value
            .as_bool()
            .ok_or_else(|| format!("\"{op}\" must be true or false"))?;
        return Ok(Test::Is(test, b));
    }
    if op == "StringMatches" {
        let pattern = value.as_str().ok_or("\"StringMatches\" must be a string")?;
        return Ok(Test::Matches(pattern.to_string()));
    }
    let (base, is_path) = match op.strip_suffix("Path") {
        Some(base) => (base, true),
        None => (op, false),
    };
    let (kind, rel_name) = [
        ("String", Kind::String),
        ("Numeric", Kind::Numeric),
        ("Boolean", Kind::Boolean),
        ("Timestamp", Kind::Timestamp),
    ]
    .iter()
    .find_map(|(prefix, kind)| base.strip_prefix(prefix).map(|r| (*kind, r)))
    .ok_or_else(|| format!("{op} is not a comparison operator"))?;
    let rel = match rel_name {
        "Equals" => Rel::Equals,
        "LessThan" => Rel::LessThan,
        "GreaterThan" => Rel::GreaterThan,
        "LessThanEquals" => Rel::LessThanEquals,
        "GreaterThanEquals" => Rel::GreaterThanEquals,
        _ => unreachable!("checked by is_operator"),
    };
    let operand = if is_path {
        let text = value
            .as_str()
            .ok_or_else(|| format!("\"{op}\" must be a path string"))?;
        Operand::Path(Query::parse(text)?)
    } else {
        let ok = match kind {
            Kind::String => value.is_string(),
            Kind::Numeric => value.is_number(),
            Kind::Boolean => value.is_boolean(),
            Kind::Timestamp => value.as_str().and_then(parse_timestamp).is_some(),
        };
        if !ok {
            return Err(format!("\"{op}\" has a value of the wrong type: {value}"));
        }
        Operand::Literal(value.clone())
    };
    Ok(Test::Compare(kind, rel, operand))
}

impl Rule {
    /// Parses a rule. `top_level` rules carry `Next` (checked by the caller); nested ones must not.
    pub fn parse(value: &Value, top_level: bool) -> Result<Self, String> {
        let map = value.as_object().ok_or("a choice rule must be an object")?;
        for key in ["Condition", "Assign", "Output"] {
            if map.contains_key(key) {
                return Err(format!(
                    "\"{key}\" is not supported by the local interpreter (JSONata / variables)"
                ));
            }
        }
        if !top_level && map.contains_key("Next") {
            return Err("a nested choice rule must not have \"Next\"".into());
        }
        let combinators: Vec<&str> = ["And", "Or", "Not"]
            .into_iter()
            .filter(|k| map.contains_key(*k))
            .collect();
        let operators: Vec<&String> = map.keys().filter(|k| is_operator(k)).collect();
        for key in map.keys() {
            let known = is_operator(key)
                || matches!(key.as_str(), "And" | "Or" | "Not" | "Variable" | "Comment")
                || (top_level && key == "Next");
            if !known {
                return Err(format!("unknown field \"{key}\" in a choice rule"));
            }
        }
        match (combinators.as_slice(), operators.as_slice()) {
            ([combinator], []) => {
                if map.contains_key("Variable") {
                    return Err(format!("\"Variable\" cannot be used with \"{combinator}\""));
                }
                let inner = &map[*combinator];
                if *combinator == "Not" {
                    return Ok(Self::Not(Box::new(Self::parse(inner, false)?)));
                }
                let list = inner.as_array().filter(|l| !l.is_empty()).ok_or_else(|| {
                    format!("\"{combinator}\" must be a non-empty array of rules")
                })?;
                let rules = list
                    .iter()
                    .map(|r| Self::parse(r, false))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(if *combinator == "And" {
                    Self::And(rules)
                } else {
                    Self::Or(rules)
                })
            }
            ([], [op]) => {
                let variable = map
                    .get("Variable")
                    .and_then(Value::as_str)
                    .ok_or_else(|| format!("\"{op}\" needs a string \"Variable\""))?;
                Ok(Self::Leaf {
                    variable: Query::parse(variable)?,
                    test: parse_test(op, &map[op.as_str()])?,
                })
            }
            _ => Err(
                "a choice rule must have exactly one comparison operator, or one of And/Or/Not"
                    .into(),
            ),
        }
    }

    /// Evaluates the rule against the effective input and the context object.
    pub fn eval(&self, input: &Value, context: &Value, state: &str) -> Result<bool, Failure> {
        match self {
            Self::And(rules) => {
                for r in rules {
                    if !r.eval(input, context, state)? {
                        return Ok(false);
                    }
                }
                Ok(true)
            }
            Self::Or(rules) => {
                for r in rules {
                    if r.eval(input, context, state)? {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
            Self::Not(rule) => Ok(!rule.eval(input, context, state)?),
            Self::Leaf { variable, test } => {
                let value = variable.select(input, context);
                if let Test::Is(TypeTest::Present, expected) = test {
                    return Ok(value.is_some() == *expected);
                }
                let value = value.ok_or_else(|| {
                    Failure::runtime(
                        state,
                        format!(
                            "Invalid path '{}': The choice state's condition path references an invalid value.",
                            variable.text
                        ),
                    )
                })?;
                Ok(match test {
                    Test::Is(t, expected) => type_test(*t, &value) == *expected,
                    Test::Matches(pattern) => {
                        value.as_str().is_some_and(|s| string_matches(pattern, s))
                    }
                    Test::Compare(kind, rel, operand) => {
                        let other = match operand {
                            Operand::Literal(v) => v.clone(),
                            Operand::Path(q) => q.select(input, context).ok_or_else(|| {
                                Failure::runtime(
                                    state,
                                    format!(
                                        "Invalid path '{}': The choice state's comparison path references an invalid value.",
                                        q.text
                                    ),
                                )
                            })?,
                        };
                        compare(*kind, &value, &other).is_some_and(|ord| rel.holds(ord))
                    }
                })
            }
        }
    }
}

fn type_test(test: TypeTest, value: &Value) -> bool {
    match test {
        TypeTest::Null => value.is_null(),
        TypeTest::Present => true,
        TypeTest::Numeric => value.is_number(),
        TypeTest::String => value.is_string(),
        TypeTest::Boolean => value.is_boolean(),
        TypeTest::Timestamp => value.as_str().and_then(parse_timestamp).is_some(),
    }
}

/// Orders two values as `kind`; `None` when either is not of that kind (no match).
fn compare(kind: Kind, a: &Value, b: &Value) -> Option<Ordering> {
    match kind {
        Kind::String => Some(a.as_str()?.cmp(b.as_str()?)),
        Kind::Numeric => a.as_f64()?.partial_cmp(&b.as_f64()?),
        Kind::Boolean => Some(a.as_bool()?.cmp(&b.as_bool()?)),
        Kind::Timestamp => Some(parse_timestamp(a.as_str()?)?.cmp(&parse_timestamp(b.as_str()?)?)),
    }
}

/// Parses an RFC 3339 timestamp as Step Functions accepts it: an uppercase `T`
/// between date and time, and an uppercase `Z` or a numeric offset.
pub(crate) fn parse_timestamp(s: &str) -> Option<DateTime<FixedOffset>> {
    if s.as_bytes().get(10) != Some(&b'T') || s.ends_with('z') {
        return None;
    }
    DateTime::parse_from_rfc3339(s).ok()
}

/// `StringMatches`: `*` matches any run of characters; `\*` is a literal star and
/// `\\` a literal backslash.
fn string_matches(pattern: &str, s: &str) -> bool {
    #[derive(PartialEq)]
    enum Tok {
        Star,
        Char(char),
    }
    let mut toks = Vec::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => toks.push(Tok::Char(chars.next().unwrap_or('\\'))),
            '*' => toks.push(Tok::Star),
            c => toks.push(Tok::Char(c)),
        }
    }
    let text: Vec<char> = s.chars().collect();
    // Classic wildcard matching with backtracking to the last star.
    let (mut t, mut p) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match toks.get(p) {
            Some(Tok::Char(c)) if *c == text[t] => {
                t += 1;
                p += 1;
            }
            Some(Tok::Star) => {
                star = Some((p, t));
                p += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    toks[p..].iter().all(|tok| *tok == Tok::Star)
}

/// Keys of a top-level rule other than the rule itself.
pub(crate) fn rule_next(map: &Map<String, Value>) -> Option<&str> {
    map.get("Next").and_then(Value::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_matches_handles_stars_and_escapes() {
        assert!(string_matches("log-*.txt", "log-2024.txt"));
        assert!(string_matches("*", ""));
        assert!(string_matches("a*b*c", "aXbYbZc"));
        assert!(!string_matches("a*b", "acd"));
        assert!(string_matches("a\\*", "a*"));
        assert!(!string_matches("a\\*", "ab"));
    }

    #[test]
    fn timestamps_need_uppercase_t_and_z() {
        assert!(parse_timestamp("2024-01-02T03:04:05Z").is_some());
        assert!(parse_timestamp("2024-01-02T03:04:05.123+02:00").is_some());
        assert!(parse_timestamp("2024-01-02t03:04:05Z").is_none());
        assert!(parse_timestamp("2024-01-02T03:04:05z").is_none());
        assert!(parse_timestamp("yesterday").is_none());
    }
}
