//! Paths as Amazon States Language uses them.
//!
//! Queries (`InputPath`, `.$` values, Choice `Variable`, …) go through the
//! `serde_json_path` crate unless they are *reference paths* (`$.a.b[0]`,
//! `$['a b']`): those are resolved here, because ResultPath must be able to
//! create missing fields and because Step Functions returns a single value for a
//! definite path but an array of matches for an indefinite one.

use serde_json::{Map, Value};
use serde_json_path::JsonPath;

/// One step of a reference path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Segment {
    Field(String),
    Index(usize),
}

/// A reference path: `$` followed by `.name`, `['name']` or `[n]` steps only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RefPath {
    pub text: String,
    segments: Vec<Segment>,
}

impl RefPath {
    /// Parses a reference path; anything with wildcards, filters, slices or `..` is refused.
    pub fn parse(text: &str) -> Result<Self, String> {
        let rest = text
            .strip_prefix('$')
            .ok_or_else(|| format!("path \"{text}\" must start with '$'"))?;
        let chars: Vec<char> = rest.chars().collect();
        let mut segments = Vec::new();
        let mut i = 0;
        let not_reference = || format!("\"{text}\" is not a reference path");
        while i < chars.len() {
            match chars[i] {
                '.' => {
                    let start = i + 1;
                    let mut end = start;
                    while end < chars.len() && chars[end] != '.' && chars[end] != '[' {
                        end += 1;
                    }
                    let name: String = chars[start..end].iter().collect();
                    if name.is_empty() || name.contains(['*', '?', '@', '(', ')', ' ', '\'', '"']) {
                        return Err(not_reference());
                    }
                    segments.push(Segment::Field(name));
                    i = end;
                }
                '[' => {
                    let close = chars[i..]
                        .iter()
                        .position(|&c| c == ']')
                        .map(|p| p + i)
                        .ok_or_else(not_reference)?;
                    let inner: String = chars[i + 1..close].iter().collect();
                    if let Ok(index) = inner.parse::<usize>() {
                        segments.push(Segment::Index(index));
                    } else if inner.len() >= 2
                        && ((inner.starts_with('\'') && inner.ends_with('\''))
                            || (inner.starts_with('"') && inner.ends_with('"')))
                    {
                        let name = &inner[1..inner.len() - 1];
                        if name.contains(['\'', '"', '\\']) {
                            return Err(not_reference());
                        }
                        segments.push(Segment::Field(name.to_string()));
                    } else {
                        return Err(not_reference());
                    }
                    i = close + 1;
                }
                _ => return Err(not_reference()),
            }
        }
        Ok(Self {
            text: text.to_string(),
            segments,
        })
    }

    /// The value this path designates, if present.
    pub fn get<'a>(&self, value: &'a Value) -> Option<&'a Value> {
        self.segments
            .iter()
            .try_fold(value, |current, segment| match segment {
                Segment::Field(name) => current.as_object()?.get(name),
                Segment::Index(index) => current.as_array()?.get(*index),
            })
    }

    /// Writes `value` at this path inside `target`, creating missing object fields
    /// (as ResultPath does) but never turning a scalar into an object.
    pub fn set(&self, target: Value, value: Value) -> Result<Value, String> {
        if self.segments.is_empty() {
            return Ok(value);
        }
        let mut target = target;
        let mut current = &mut target;
        for (n, segment) in self.segments.iter().enumerate() {
            let last = n + 1 == self.segments.len();
            current = match segment {
                Segment::Field(name) => {
                    let found = kind(current);
                    let object = current.as_object_mut().ok_or_else(|| {
                        format!(
                            "cannot set field \"{name}\" of {} for path \"{}\"",
                            found, self.text
                        )
                    })?;
                    if last {
                        object.insert(name.clone(), value);
                        return Ok(target);
                    }
                    object
                        .entry(name.clone())
                        .or_insert_with(|| Value::Object(Map::new()))
                }
                Segment::Index(index) => {
                    let found = kind(current);
                    let array = current.as_array_mut().ok_or_else(|| {
                        format!(
                            "cannot index {} with [{index}] for path \"{}\"",
                            found, self.text
                        )
                    })?;
                    let len = array.len();
                    let slot = array.get_mut(*index).ok_or_else(|| {
                        format!(
                            "index {index} is out of bounds (length {len}) for path \"{}\"",
                            self.text
                        )
                    })?;
                    if last {
                        *slot = value;
                        return Ok(target);
                    }
                    slot
                }
            };
        }
        unreachable!("the loop returns at the last segment")
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A JSONPath query over the state input (`$…`) or the context object (`$$…`).
#[derive(Debug, Clone)]
pub(crate) struct Query {
    /// The path exactly as written in the definition, for error messages.
    pub text: String,
    /// `true` for `$$…` paths, which read the context object.
    pub context: bool,
    engine: Engine,
}

#[derive(Debug, Clone)]
enum Engine {
    /// Definite path: yields one value or nothing.
    Reference(RefPath),
    /// Indefinite path: yields the array of all matches.
    Query(JsonPath),
}

impl Query {
    /// Parses a path; `$$…` is a context-object path.
    pub fn parse(text: &str) -> Result<Self, String> {
        let (context, path) = match text.strip_prefix("$$") {
            Some(rest) => (true, format!("${rest}")),
            None if text.starts_with('$') => (false, text.to_string()),
            None => return Err(format!("\"{text}\" is not a path (it must start with '$')")),
        };
        let engine = match RefPath::parse(&path) {
            Ok(reference) => Engine::Reference(reference),
            Err(_) => Engine::Query(
                JsonPath::parse(&path)
                    .map_err(|e| format!("\"{text}\" is not a valid JSONPath: {e}"))?,
            ),
        };
        Ok(Self {
            text: text.to_string(),
            context,
            engine,
        })
    }

    /// Selects from `input` (or from `context` for `$$` paths). `None` when a
    /// definite path designates nothing; indefinite paths always yield an array.
    pub fn select(&self, input: &Value, context: &Value) -> Option<Value> {
        let target = if self.context { context } else { input };
        match &self.engine {
            Engine::Reference(reference) => reference.get(target).cloned(),
            Engine::Query(path) => Some(Value::Array(
                path.query(target).all().into_iter().cloned().collect(),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reference_paths_get_and_create_fields() {
        let p = RefPath::parse("$.a.b['c d'][1]").unwrap();
        let v = json!({"a": {"b": {"c d": [0, 7]}}});
        assert_eq!(p.get(&v), Some(&json!(7)));

        let set = RefPath::parse("$.x.y").unwrap();
        assert_eq!(
            set.set(json!({"k": 1}), json!(2)).unwrap(),
            json!({"k": 1, "x": {"y": 2}})
        );
        assert!(set.set(json!({"x": "scalar"}), json!(2)).is_err());
        assert!(RefPath::parse("$.a[*]").is_err());
        assert!(RefPath::parse("$..a").is_err());
    }

    #[test]
    fn indefinite_queries_return_arrays() {
        let q = Query::parse("$.items[*].id").unwrap();
        let v = json!({"items": [{"id": 1}, {"id": 2}]});
        assert_eq!(q.select(&v, &Value::Null), Some(json!([1, 2])));
        let c = Query::parse("$$.Map.Item.Value.watch").unwrap();
        let ctx = json!({"Map": {"Item": {"Value": {"watch": 3}}}});
        assert_eq!(c.select(&Value::Null, &ctx), Some(json!(3)));
        assert_eq!(Query::parse("$.missing").unwrap().select(&v, &ctx), None);
    }
}
