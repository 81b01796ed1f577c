//! `POST /v1/payments/{payment_id}/refunds`, `GET /v1/payments/{payment_id}/refunds`
//! and `GET /v1/payments/{payment_id}/refunds/{refund_id}`.
//!
//! Body: `amount` (integer paise > 0; omitted = everything left), `currency`
//! (default the payment's), `reason` (≤ 200 characters), `metadata` (any JSON
//! object, ≤ 4 KiB). `Idempotency-Key` is required: the same key and body answer
//! the same refund (`Idempotent-Replayed: true`), the same key with another body is
//! 409 `idempotency_conflict`. A refund the gateway refused is still a refund
//! object (`status: failed`, `failure_code`), answered 201 like any other.

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::api::read_body;
use super::error::ApiError;
use super::extract::Path;
use crate::model::{Currency, Paise, valid_idempotency_key};
use crate::refunds::RefundAsk;
use crate::state::AppState;

const FIELDS: &[&str] = &["amount", "currency", "reason", "metadata"];
const REASON_MAX: usize = 200;
const METADATA_MAX: usize = 4096;

/// Validates a refund body. Every message names its field.
pub fn parse_refund(body: &Value) -> Result<RefundAsk, ApiError> {
    let obj = super::request::object_of(body, FIELDS)?;
    let amount = match obj.get("amount") {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) => match n.as_i64() {
            Some(v) if v > 0 => Some(Paise(v)),
            _ => {
                return Err(ApiError::invalid(
                    "amount must be a positive integer number of paise",
                    "amount",
                ));
            }
        },
        Some(_) => {
            return Err(ApiError::invalid(
                "amount must be a positive integer number of paise",
                "amount",
            ));
        }
    };
    let currency = match obj.get("currency") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(
            Currency::parse(s)
                .ok_or_else(|| ApiError::invalid("currency is not supported", "currency"))?,
        ),
        Some(_) => return Err(ApiError::invalid("currency must be a string", "currency")),
    };
    let reason = match obj.get("reason") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.chars().count() <= REASON_MAX => Some(s.clone()),
        Some(_) => {
            return Err(ApiError::invalid(
                format!("reason must be a string of at most {REASON_MAX} characters"),
                "reason",
            ));
        }
    };
    let metadata = match obj.get("metadata") {
        None | Some(Value::Null) => None,
        Some(m @ Value::Object(_)) if m.to_string().len() <= METADATA_MAX => Some(m.clone()),
        Some(_) => {
            return Err(ApiError::invalid(
                format!("metadata must be a JSON object of at most {METADATA_MAX} bytes"),
                "metadata",
            ));
        }
    };
    Ok(RefundAsk {
        amount,
        currency,
        reason,
        metadata,
    })
}

fn json_response(status: StatusCode, body: &impl serde::Serialize, replayed: bool) -> Response {
    let mut resp = (status, axum::Json(body)).into_response();
    if replayed {
        resp.headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    resp
}

/// `POST /v1/payments/{payment_id}/refunds`.
pub async fn create_refund(
    State(state): State<AppState>,
    Path(payment_id): Path<String>,
    req: Request,
) -> Result<Response, ApiError> {
    let limit = state.config.load().server.max_body_bytes;
    let (parts, body) = req.into_parts();
    let key = parts
        .headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .filter(|k| valid_idempotency_key(k))
        .map(str::to_string);
    let json_ct = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
    if !json_ct {
        return Err(ApiError::UnsupportedMediaType);
    }
    let bytes = read_body(body, limit).await?;
    let Some(key) = key else {
        return Err(ApiError::IdempotencyKeyMissing);
    };
    if payment_id.len() > 64 {
        return Err(ApiError::NotFound("payment".into()));
    }
    let json: Value = serde_json::from_slice(&bytes).map_err(|e| ApiError::InvalidRequest {
        message: format!("body is not valid JSON: {e}"),
        field: None,
    })?;
    let ask = parse_refund(&json)?;
    let created = state.refunds.create(&payment_id, &key, ask).await?;
    Ok(json_response(
        StatusCode::CREATED,
        &created.refund,
        created.replayed,
    ))
}

/// `GET /v1/payments/{payment_id}/refunds`.
pub async fn list_refunds(
    State(state): State<AppState>,
    Path(payment_id): Path<String>,
) -> Result<Response, ApiError> {
    if payment_id.len() > 64 {
        return Err(ApiError::NotFound("payment".into()));
    }
    let list = state.refunds.list(&payment_id).await?;
    Ok(json_response(
        StatusCode::OK,
        &serde_json::json!({ "payment_id": payment_id, "refunds": list }),
        false,
    ))
}

/// `GET /v1/payments/{payment_id}/refunds/{refund_id}`.
pub async fn get_refund(
    State(state): State<AppState>,
    Path((payment_id, refund_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    if payment_id.len() > 64 || refund_id.len() > 64 {
        return Err(ApiError::NotFound("refund".into()));
    }
    match state.refunds.get(&payment_id, &refund_id).await? {
        Some(r) => Ok(json_response(StatusCode::OK, &r, false)),
        None => Err(ApiError::NotFound("refund".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn refund_bodies_are_validated_field_by_field() {
        let ok = parse_refund(&json!({"amount": 100, "reason": "customer", "metadata": {"a": 1}}))
            .unwrap();
        assert_eq!(ok.amount, Some(Paise(100)));
        assert_eq!(parse_refund(&json!({})).unwrap().amount, None);
        for (body, field) in [
            (json!({"amount": 0}), "amount"),
            (json!({"amount": -5}), "amount"),
            (json!({"amount": 1.5}), "amount"),
            (json!({"amount": "100"}), "amount"),
            (json!({"currency": "XYZ"}), "currency"),
            (json!({"metadata": [1]}), "metadata"),
            (json!({"speed": "instant"}), "speed"),
        ] {
            match parse_refund(&body) {
                Err(ApiError::InvalidRequest { field: Some(f), .. }) => assert_eq!(f, field),
                other => panic!("{body}: {other:?}"),
            }
        }
    }
}
