//! Amazon SNS subscription filter policies, evaluated against one message, so `doctor` can
//! tell whether a subscription receives critical alerts and alarms.
//!
//! A policy is a JSON object: every key must match (AND), and a key's array of conditions
//! matches when one does (OR); `"$or": [policy, ...]` matches when one branch does. A
//! condition is a string or number (exact), `null` (body only), or an object with one
//! operator: `prefix`, `suffix`, `equals-ignore-case`, `anything-but` (a value, a list, or
//! `prefix`/`suffix`), `exists`, `numeric` (comparisons, AND-ed). Attribute policies see
//! message attributes (all of peerwatch's are `String`), body policies the JSON body, where a
//! nested object in the policy is a nested key and an array in the body matches when one
//! element does. Operators doctor does not evaluate (`cidr`, `wildcard`, ...) are an error
//! naming them, never a guess.

use serde_json::Value;

/// A policy doctor cannot evaluate, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct FilterError(pub String);

fn unsupported(what: impl Into<String>) -> FilterError {
    FilterError(what.into())
}

/// Whether `policy` lets `message` through. `attributes`: `message` is the message attributes
/// (flat, by name); else it is the body.
pub fn matches(policy: &Value, message: &Value, attributes: bool) -> Result<bool, FilterError> {
    let Value::Object(keys) = policy else {
        return Err(unsupported("the filter policy is not a JSON object"));
    };
    for (key, conditions) in keys {
        let ok = if key == "$or" {
            let Value::Array(branches) = conditions else {
                return Err(unsupported("$or takes a list of policies"));
            };
            let mut any = false;
            for b in branches {
                any |= matches(b, message, attributes)?;
            }
            any
        } else {
            let value = message.get(key);
            match conditions {
                Value::Object(_) if !attributes => match value {
                    Some(v @ Value::Object(_)) => matches(conditions, v, attributes)?,
                    // A nested key whose parent is missing: only `exists: false` below it passes.
                    _ => matches(conditions, &Value::Object(Default::default()), attributes)?,
                },
                Value::Array(list) => any_condition(list, value)?,
                _ => {
                    return Err(unsupported(format!(
                        "the conditions of {key} are not a list"
                    )));
                }
            }
        };
        if !ok {
            return Ok(false);
        }
    }
    Ok(true)
}

/// One key's conditions (OR) against its value (`None`: absent); an array value matches when
/// one of its elements does.
fn any_condition(conditions: &[Value], value: Option<&Value>) -> Result<bool, FilterError> {
    let mut any = false;
    for c in conditions {
        let ok = match value {
            Some(Value::Array(items)) => {
                let mut one = false;
                for item in items {
                    one |= condition(c, Some(item))?;
                }
                one || (items.is_empty() && condition(c, None)?)
            }
            v => condition(c, v)?,
        };
        any |= ok;
    }
    Ok(any)
}

fn condition(c: &Value, value: Option<&Value>) -> Result<bool, FilterError> {
    match c {
        Value::String(s) => Ok(value.and_then(Value::as_str) == Some(s.as_str())),
        Value::Number(n) => Ok(number_of(value).is_some_and(|v| Some(v) == n.as_f64())),
        Value::Null => Ok(matches!(value, Some(Value::Null))),
        Value::Object(op) if op.len() == 1 => {
            let (name, arg) = op.iter().next().expect("one entry");
            operator(name, arg, value)
        }
        other => Err(unsupported(format!("condition {other} is not understood"))),
    }
}

/// A number from a body value, or from a numeric string (SNS compares `Number` attributes,
/// and peerwatch sends none, so a string never meets a numeric condition).
fn number_of(value: Option<&Value>) -> Option<f64> {
    value.and_then(Value::as_f64)
}

fn text(arg: &Value, op: &str) -> Result<String, FilterError> {
    arg.as_str()
        .map(str::to_string)
        .ok_or_else(|| unsupported(format!("{op} takes a string")))
}

fn operator(name: &str, arg: &Value, value: Option<&Value>) -> Result<bool, FilterError> {
    let s = value.and_then(Value::as_str);
    match name {
        "prefix" => {
            let p = text(arg, name)?;
            Ok(s.is_some_and(|s| s.starts_with(&p)))
        }
        "suffix" => {
            let p = text(arg, name)?;
            Ok(s.is_some_and(|s| s.ends_with(&p)))
        }
        "equals-ignore-case" => {
            let p = text(arg, name)?;
            Ok(s.is_some_and(|s| s.eq_ignore_ascii_case(&p)))
        }
        "exists" => match arg {
            Value::Bool(want) => Ok(value.is_some() == *want),
            _ => Err(unsupported("exists takes true or false")),
        },
        "anything-but" => {
            // An absent key is not "anything but": it has no value to compare.
            let Some(v) = value else { return Ok(false) };
            let excluded = match arg {
                Value::Array(list) => {
                    let mut hit = false;
                    for x in list {
                        hit |= condition(x, Some(v))?;
                    }
                    hit
                }
                Value::Object(op) if op.len() == 1 => {
                    let (inner, a) = op.iter().next().expect("one entry");
                    if !matches!(inner.as_str(), "prefix" | "suffix" | "equals-ignore-case") {
                        return Err(unsupported(format!(
                            "anything-but {inner} is not evaluated"
                        )));
                    }
                    operator(inner, a, Some(v))?
                }
                single => condition(single, Some(v))?,
            };
            Ok(!excluded)
        }
        "numeric" => {
            let Value::Array(parts) = arg else {
                return Err(unsupported("numeric takes a list"));
            };
            let Some(v) = number_of(value) else {
                return Ok(false);
            };
            let mut ok = true;
            for pair in parts.chunks(2) {
                let (Some(op), Some(bound)) =
                    (pair[0].as_str(), pair.get(1).and_then(Value::as_f64))
                else {
                    return Err(unsupported(
                        "numeric takes pairs of an operator and a number",
                    ));
                };
                ok &= match op {
                    "=" => v == bound,
                    "<" => v < bound,
                    "<=" => v <= bound,
                    ">" => v > bound,
                    ">=" => v >= bound,
                    other => return Err(unsupported(format!("numeric {other} is not understood"))),
                };
            }
            Ok(ok)
        }
        other => Err(unsupported(format!(
            "the operator {other} is not evaluated by doctor"
        ))),
    }
}
