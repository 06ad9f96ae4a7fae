//! Jolokia's JSON protocol: bulk requests (a JSON array POSTed to the agent) and their
//! per-request replies. Pure.

use serde_json::{Value, json};

/// One Jolokia request.
#[derive(Clone, Debug, PartialEq)]
pub enum Request {
    /// Read one attribute of an MBean.
    Read {
        /// MBean object name.
        mbean: String,
        /// Attribute name (`OperationMode` for `getOperationMode()`).
        attribute: String,
    },
    /// Set one attribute of an MBean.
    Write {
        /// MBean object name.
        mbean: String,
        /// Attribute name.
        attribute: String,
        /// The new value.
        value: Value,
    },
    /// Call an operation of an MBean.
    Exec {
        /// MBean object name.
        mbean: String,
        /// Operation name, with a signature when overloaded (`decommission(boolean)`).
        operation: String,
        /// Arguments.
        arguments: Vec<Value>,
    },
}

impl Request {
    /// A read of `attribute` of `mbean`.
    pub fn read(mbean: &str, attribute: &str) -> Self {
        Self::Read {
            mbean: mbean.to_owned(),
            attribute: attribute.to_owned(),
        }
    }

    /// A call of `operation` of `mbean`.
    pub fn exec(mbean: &str, operation: &str, arguments: Vec<Value>) -> Self {
        Self::Exec {
            mbean: mbean.to_owned(),
            operation: operation.to_owned(),
            arguments,
        }
    }

    /// The request's JSON form.
    pub fn to_json(&self) -> Value {
        match self {
            Self::Read { mbean, attribute } => {
                json!({"type": "read", "mbean": mbean, "attribute": attribute})
            }
            Self::Write {
                mbean,
                attribute,
                value,
            } => json!({"type": "write", "mbean": mbean, "attribute": attribute, "value": value}),
            Self::Exec {
                mbean,
                operation,
                arguments,
            } => json!({
                "type": "exec", "mbean": mbean, "operation": operation, "arguments": arguments
            }),
        }
    }
}

/// The body of a bulk request.
pub fn bulk_body(requests: &[Request]) -> Value {
    Value::Array(requests.iter().map(Request::to_json).collect())
}

/// The reply to one request of a bulk request.
#[derive(Clone, Debug, PartialEq)]
pub enum Reply {
    /// Status 200: the value.
    Value(Value),
    /// Any other status: Jolokia's error type and message.
    Error {
        /// HTTP-like status inside the reply (404: no such MBean, 500: the call threw).
        status: u16,
        /// The Java exception class, when given.
        error_type: String,
        /// The message.
        error: String,
    },
}

impl Reply {
    /// The value, or None for an error.
    pub fn value(&self) -> Option<&Value> {
        match self {
            Self::Value(v) => Some(v),
            Self::Error { .. } => None,
        }
    }

    /// A one-line description of an error reply (the value for a success).
    pub fn describe(&self) -> String {
        match self {
            Self::Value(v) => v.to_string(),
            Self::Error {
                status,
                error_type,
                error,
            } => format!("{status} {error_type}: {error}"),
        }
    }
}

/// Why a bulk reply could not be understood.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Error {
    /// Not JSON.
    #[error("Jolokia's reply is not JSON: {0}")]
    NotJson(String),
    /// Not an array with one reply per request.
    #[error("Jolokia answered {got} replies to {sent} requests")]
    Count {
        /// Requests sent.
        sent: usize,
        /// Replies received.
        got: usize,
    },
    /// An element without a status.
    #[error("Jolokia reply without a status: {0}")]
    NoStatus(String),
}

/// Splits a bulk reply into one [`Reply`] per request, in request order.
pub fn parse_bulk(body: &[u8], sent: usize) -> Result<Vec<Reply>, Error> {
    let v: Value = serde_json::from_slice(body).map_err(|e| Error::NotJson(e.to_string()))?;
    let items = match v {
        Value::Array(items) => items,
        // A bulk request the agent refused as a whole comes back as one object.
        single @ Value::Object(_) => vec![single],
        other => return Err(Error::NotJson(other.to_string())),
    };
    if items.len() != sent {
        return Err(Error::Count {
            sent,
            got: items.len(),
        });
    }
    items.into_iter().map(parse_one).collect()
}

fn parse_one(item: Value) -> Result<Reply, Error> {
    let status = item
        .get("status")
        .and_then(Value::as_u64)
        .ok_or_else(|| Error::NoStatus(item.to_string()))?;
    if status == 200 {
        return Ok(Reply::Value(
            item.get("value").cloned().unwrap_or(Value::Null),
        ));
    }
    let text = |k: &str| {
        item.get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    Ok(Reply::Error {
        status: u16::try_from(status).unwrap_or(u16::MAX),
        error_type: text("error_type"),
        error: text("error"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_have_jolokias_json_form() {
        assert_eq!(
            Request::read("a:type=B", "C").to_json(),
            json!({"type": "read", "mbean": "a:type=B", "attribute": "C"})
        );
        assert_eq!(
            Request::exec("a:type=B", "op", vec![json!("x")]).to_json(),
            json!({"type": "exec", "mbean": "a:type=B", "operation": "op", "arguments": ["x"]})
        );
    }

    #[test]
    fn bulk_replies_split_into_values_and_errors() {
        let body = br#"[
            {"request":{},"value":"NORMAL","status":200,"timestamp":1},
            {"request":{},"error_type":"javax.management.InstanceNotFoundException",
             "error":"javax.management.InstanceNotFoundException : x","status":404}
        ]"#;
        let replies = parse_bulk(body, 2).unwrap();
        assert_eq!(replies[0], Reply::Value(json!("NORMAL")));
        assert_eq!(
            replies[1].describe(),
            "404 javax.management.InstanceNotFoundException: javax.management.InstanceNotFoundException : x"
        );
        assert_eq!(parse_bulk(body, 3), Err(Error::Count { sent: 3, got: 2 }));
        assert!(matches!(parse_bulk(b"<html>", 1), Err(Error::NotJson(_))));
        assert!(matches!(parse_bulk(b"[{}]", 1), Err(Error::NoStatus(_))));
    }
}
