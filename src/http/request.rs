//! Strict, self-explaining validation of a `POST /v1/payments` body.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::error::ApiError;
use crate::model::{Currency, Customer, Method, Paise, PaymentRequest, Vpa, valid_order_id};

const FIELDS: &[&str] = &[
    "order_id",
    "amount",
    "currency",
    "method",
    "vpa",
    "customer",
    "description",
    "tags",
    "metadata",
];
const MAX_TAGS: usize = 32;

/// The body as a JSON object whose keys are all in `fields` (shared by every
/// request parser of the edge).
pub(crate) fn object_of<'a>(
    body: &'a Value,
    fields: &[&str],
) -> Result<&'a serde_json::Map<String, Value>, ApiError> {
    let obj = body.as_object().ok_or_else(|| ApiError::InvalidRequest {
        message: "body must be a JSON object".into(),
        field: None,
    })?;
    if let Some(k) = obj.keys().find(|k| !fields.contains(&k.as_str())) {
        return Err(ApiError::invalid(
            format!(
                "unknown field `{k}`; expected one of: {}",
                fields.join(", ")
            ),
            k.clone(),
        ));
    }
    Ok(obj)
}

/// Validates the parsed JSON body. Every message names the field it is about.
pub fn parse_payment(body: &Value) -> Result<PaymentRequest, ApiError> {
    let obj = object_of(body, FIELDS)?;

    let order_id = match obj.get("order_id") {
        Some(Value::String(s)) if valid_order_id(s) => s.clone(),
        Some(Value::String(_)) => {
            return Err(ApiError::invalid(
                "order_id must be 1-40 characters of A-Z a-z 0-9 _ -",
                "order_id",
            ));
        }
        Some(_) => return Err(ApiError::invalid("order_id must be a string", "order_id")),
        None => return Err(ApiError::invalid("order_id is required", "order_id")),
    };

    let amount = match obj.get("amount") {
        Some(Value::Number(n)) => match n.as_i64() {
            Some(v) if v > 0 => Paise(v),
            _ => return Err(amount_error()),
        },
        Some(_) => return Err(amount_error()),
        None => {
            return Err(ApiError::invalid(
                "amount is required (integer paise)",
                "amount",
            ));
        }
    };

    let currency = match obj.get("currency") {
        None | Some(Value::Null) => Currency::Inr,
        Some(Value::String(s)) => Currency::parse(s).ok_or_else(|| {
            ApiError::invalid(
                format!("currency {s:?} is not supported; use INR, USD or EUR"),
                "currency",
            )
        })?,
        Some(_) => {
            return Err(ApiError::invalid(
                "currency must be a string such as \"INR\"",
                "currency",
            ));
        }
    };

    let method = match obj.get("method") {
        Some(Value::String(s)) => Method::parse(s).ok_or_else(|| {
            ApiError::invalid(
                format!(
                    "method {s:?} is not one of upi_collect, upi_intent, upi_qr, card, netbanking"
                ),
                "method",
            )
        })?,
        Some(_) => return Err(ApiError::invalid("method must be a string", "method")),
        None => return Err(ApiError::invalid("method is required", "method")),
    };

    let vpa = match obj.get("vpa") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => {
            Some(Vpa::parse(s).map_err(|e| ApiError::invalid(e.to_string(), "vpa"))?)
        }
        Some(_) => {
            return Err(ApiError::invalid(
                "vpa must be a string like name@bank",
                "vpa",
            ));
        }
    };
    if method == Method::UpiCollect && vpa.is_none() {
        return Err(ApiError::invalid("vpa is required for upi_collect", "vpa"));
    }

    let customer = match obj.get("customer") {
        None | Some(Value::Null) => Customer::default(),
        Some(v @ Value::Object(_)) => serde_json::from_value::<Customer>(v.clone())
            .map_err(|e| ApiError::invalid(format!("customer: {e}"), "customer"))?,
        Some(_) => {
            return Err(ApiError::invalid(
                "customer must be an object {id, email, phone}",
                "customer",
            ));
        }
    };

    let description = match obj.get("description") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.chars().count() <= 255 => Some(s.clone()),
        Some(_) => {
            return Err(ApiError::invalid(
                "description must be a string of at most 255 characters",
                "description",
            ));
        }
    };

    let tags = match obj.get("tags") {
        None | Some(Value::Null) => BTreeMap::new(),
        Some(Value::Object(m)) => parse_tags(m)?,
        Some(_) => {
            return Err(ApiError::invalid(
                "tags must be an object of string values",
                "tags",
            ));
        }
    };

    let metadata = match obj.get("metadata") {
        None | Some(Value::Null) => None,
        Some(v @ Value::Object(_)) => Some(v.clone()),
        Some(_) => return Err(ApiError::invalid("metadata must be an object", "metadata")),
    };

    Ok(PaymentRequest {
        order_id,
        amount,
        currency,
        method,
        vpa,
        customer,
        description,
        tags,
        metadata,
    })
}

fn amount_error() -> ApiError {
    ApiError::invalid(
        "amount must be a positive integer number of paise",
        "amount",
    )
}

fn parse_tags(m: &Map<String, Value>) -> Result<BTreeMap<String, String>, ApiError> {
    if m.len() > MAX_TAGS {
        return Err(ApiError::invalid(
            format!("at most {MAX_TAGS} tags"),
            "tags",
        ));
    }
    m.iter()
        .map(|(k, v)| match v {
            Value::String(s) if k.len() <= 64 && s.len() <= 256 => Ok((k.clone(), s.clone())),
            _ => Err(ApiError::invalid(
                format!("tags.{k} must be a string (keys up to 64, values up to 256 characters)"),
                format!("tags.{k}"),
            )),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn err(v: Value) -> (String, Option<String>) {
        match parse_payment(&v) {
            Err(ApiError::InvalidRequest { message, field }) => (message, field),
            other => panic!("expected invalid_request, got {other:?}"),
        }
    }

    #[test]
    fn accepts_a_full_request() {
        let r = parse_payment(&json!({
            "order_id": "ord_1", "amount": 49900, "method": "upi_collect", "vpa": "asha@okaxis",
            "customer": {"id": "c1", "phone": "9876543210"}, "tags": {"tier": "gold"},
            "metadata": {"cart": 3}, "description": "2 books"
        }))
        .unwrap();
        assert_eq!(r.amount, Paise(49900));
        assert_eq!(r.currency, Currency::Inr);
        assert_eq!(r.tags["tier"], "gold");
    }

    #[test]
    fn explains_each_problem() {
        let base = json!({"order_id": "o1", "amount": 100, "method": "card"});
        let with = |k: &str, v: Value| {
            let mut b = base.clone();
            b[k] = v;
            b
        };
        assert_eq!(
            err(with("amount", json!(1.5))).0,
            "amount must be a positive integer number of paise"
        );
        assert_eq!(err(with("amount", json!(0))).1.as_deref(), Some("amount"));
        assert_eq!(
            err(with("amount", json!("100"))).1.as_deref(),
            Some("amount")
        );
        assert_eq!(
            err(with("method", json!("upi_collect"))).0,
            "vpa is required for upi_collect"
        );
        assert!(
            err(with("vpa", json!("not-a-vpa")))
                .0
                .contains("local@handle")
        );
        assert!(
            err(with("colour", json!("red")))
                .0
                .starts_with("unknown field `colour`")
        );
        assert_eq!(
            err(with("order_id", json!("has space"))).1.as_deref(),
            Some("order_id")
        );
        assert_eq!(
            err(with("method", json!("cash"))).1.as_deref(),
            Some("method")
        );
        assert_eq!(
            err(with("currency", json!("JPY"))).1.as_deref(),
            Some("currency")
        );
        assert_eq!(
            err(with("tags", json!({"a": 1}))).1.as_deref(),
            Some("tags.a")
        );
        assert_eq!(err(json!([1])).0, "body must be a JSON object");
    }
}
