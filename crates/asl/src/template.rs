//! Payload templates (`Parameters`, `ItemSelector`, `ResultSelector`) and the
//! dynamic expressions they hold: a key ending in `.$` takes a path (`$…`, or
//! `$$…` for the context object) or an intrinsic function call.

use serde_json::{Map, Value};

use crate::error::{names, Failure};
use crate::intrinsic::Intrinsic;
use crate::path::Query;

/// A path or an intrinsic call, as found in a `.$` value, `ErrorPath` or `CausePath`.
#[derive(Debug, Clone)]
pub(crate) enum Expr {
    Path(Query),
    Call(Intrinsic),
}

impl Expr {
    pub fn parse(text: &str) -> Result<Self, String> {
        if text.starts_with('$') {
            Query::parse(text).map(Self::Path)
        } else if text.starts_with("States.") {
            Intrinsic::parse(text).map(Self::Call)
        } else {
            Err(format!(
                "\"{text}\" is neither a path (starting with '$') nor an intrinsic function (States.…)"
            ))
        }
    }

    /// Evaluates; a path selecting nothing is a failure named `missing_error`.
    pub fn eval(
        &self,
        input: &Value,
        context: &Value,
        state: &str,
        field: &str,
        missing_error: &str,
    ) -> Result<Value, Failure> {
        match self {
            Self::Path(q) => q.select(input, context).ok_or_else(|| {
                Failure::new(
                    missing_error,
                    format!(
                        "The JSONPath '{}' specified for the field '{field}' could not be found in the input of state '{state}'",
                        q.text
                    ),
                )
            }),
            Self::Call(c) => c.eval(input, context).map_err(|m| {
                Failure::new(
                    names::INTRINSIC_FAILURE,
                    format!("State '{state}', field '{field}': {m}"),
                )
            }),
        }
    }

    fn mentions(&self, path: &str) -> bool {
        match self {
            Self::Path(q) => q.text == path,
            Self::Call(c) => c.mentions(path),
        }
    }
}

/// A parsed payload template.
#[derive(Debug, Clone)]
pub(crate) enum Template {
    Static(Value),
    Object(Vec<(String, Template)>),
    Array(Vec<Template>),
    Dynamic { key: String, expr: Expr },
}

impl Template {
    /// Parses a template; errors name the offending key.
    pub fn parse(value: &Value) -> Result<Self, String> {
        Ok(match value {
            Value::Object(map) => {
                let mut entries = Vec::with_capacity(map.len());
                for (key, v) in map {
                    if let Some(name) = key.strip_suffix(".$") {
                        let text = v.as_str().ok_or_else(|| {
                            format!("the value of \"{key}\" must be a string path or intrinsic function")
                        })?;
                        let expr = Expr::parse(text).map_err(|e| format!("\"{key}\": {e}"))?;
                        entries.push((
                            name.to_string(),
                            Self::Dynamic {
                                key: key.clone(),
                                expr,
                            },
                        ));
                    } else {
                        entries.push((key.clone(), Self::parse(v)?));
                    }
                }
                Self::Object(entries)
            }
            Value::Array(items) => {
                Self::Array(items.iter().map(Self::parse).collect::<Result<_, _>>()?)
            }
            other => Self::Static(other.clone()),
        })
    }

    /// Builds the payload from the input and the context object.
    pub fn eval(&self, input: &Value, context: &Value, state: &str) -> Result<Value, Failure> {
        Ok(match self {
            Self::Static(v) => v.clone(),
            Self::Object(entries) => {
                let mut out = Map::new();
                for (k, t) in entries {
                    out.insert(k.clone(), t.eval(input, context, state)?);
                }
                Value::Object(out)
            }
            Self::Array(items) => Value::Array(
                items
                    .iter()
                    .map(|t| t.eval(input, context, state))
                    .collect::<Result<_, _>>()?,
            ),
            Self::Dynamic { key, expr } => {
                expr.eval(input, context, state, key, names::PARAMETER_PATH_FAILURE)?
            }
        })
    }

    /// Whether some `.$` value refers to exactly `path` (used to require `$$.Task.Token`).
    pub fn mentions(&self, path: &str) -> bool {
        match self {
            Self::Static(_) => false,
            Self::Object(entries) => entries.iter().any(|(_, t)| t.mentions(path)),
            Self::Array(items) => items.iter().any(|t| t.mentions(path)),
            Self::Dynamic { expr, .. } => expr.mentions(path),
        }
    }

    /// The template under a top-level key (e.g. `FunctionName` of `lambda:invoke`).
    pub fn top_level_keys(&self) -> Vec<&str> {
        match self {
            Self::Object(entries) => entries.iter().map(|(k, _)| k.as_str()).collect(),
            _ => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn templates_resolve_paths_context_and_intrinsics() {
        let t = Template::parse(&json!({
            "static": {"n": 1},
            "id.$": "$.id",
            "exec.$": "$$.Execution.Name",
            "nested": {"msg.$": "States.Format('hi {}', $.id)"},
            "list": [{"x.$": "$.id"}]
        }))
        .unwrap();
        let out = t
            .eval(
                &json!({"id": "a"}),
                &json!({"Execution": {"Name": "e"}}),
                "S",
            )
            .unwrap();
        assert_eq!(
            out,
            json!({"static": {"n": 1}, "id": "a", "exec": "e", "nested": {"msg": "hi a"}, "list": [{"x": "a"}]})
        );
        let err = t
            .eval(&json!({}), &json!({"Execution": {"Name": "e"}}), "S")
            .unwrap_err();
        assert_eq!(err.error, names::PARAMETER_PATH_FAILURE);
        assert!(err.cause.contains("'$.id'") && err.cause.contains("'S'"));
    }

    #[test]
    fn bad_dynamic_values_are_refused() {
        assert!(Template::parse(&json!({"a.$": 3})).is_err());
        assert!(Template::parse(&json!({"a.$": "nope"})).is_err());
        assert!(Template::parse(&json!({"a.$": "States.Hash($.x, 'SHA-1')"})).is_err());
    }
}
