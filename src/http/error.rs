//! The one place where errors become HTTP answers: `{"error": {code, message, field}}`
//! with a stable code (linkerd's one `rescue` map). Every layer below returns its own
//! typed error — [`PaymentError`], [`CallbackError`], [`ReloadError`],
//! [`CommandError`](crate::health::CommandError) — and the `From` impls here say what
//! each one is on the wire. Every error response carries its code as an
//! [`ErrorCode`] extension, and [`count_errors`] counts `http_errors_total{code}`
//! from it, validation 4xx included. Gateway error text never reaches a caller; it is
//! logged where the error is made.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::callbacks::CallbackError;
use crate::health::CommandError;
use crate::metrics::Metrics;
use crate::payments::PaymentError;
use crate::refunds::RefundError;
use crate::reload::ReloadError;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    #[error("{message}")]
    InvalidRequest {
        message: String,
        field: Option<String>,
    },
    #[error("content type must be application/json")]
    UnsupportedMediaType,
    #[error("Content-Encoding is not supported; send the body uncompressed (identity)")]
    UnsupportedEncoding,
    /// Shed before anything was written: nothing happened; retry after `Retry-After`.
    #[error("switchyard is at capacity; nothing was done, retry after {retry_after_secs} s")]
    Overloaded { retry_after_secs: u64 },
    /// A gateway's callbacks above its rate: it redelivers.
    #[error("too many callbacks for this gateway; redeliver after {retry_after_secs} s")]
    RateLimited { retry_after_secs: u64 },
    #[error("method not allowed on this path")]
    MethodNotAllowed,
    #[error("request URI is longer than {limit} bytes")]
    UriTooLong { limit: usize },
    #[error("request headers are larger than {limit} bytes")]
    HeadersTooLarge { limit: usize },
    #[error("request body is larger than {limit} bytes")]
    PayloadTooLarge { limit: usize },
    #[error("Idempotency-Key header is required (1-64 characters of A-Z a-z 0-9 _ -)")]
    IdempotencyKeyMissing,
    #[error("this Idempotency-Key was used with a different request body")]
    IdempotencyConflict,
    #[error("a request with this Idempotency-Key is still being processed")]
    RequestInProgress,
    #[error("{0} not found")]
    NotFound(String),
    #[error("no route matches this payment")]
    NoRoute,
    #[error("no gateway is available for route {route}")]
    NoGatewayAvailable { route: String },
    #[error(
        "the amount is above the UPI per-transaction limit of {limit} paise for this merchant category"
    )]
    UpiLimitExceeded { limit: i64 },
    #[error("the gateway declined the payment")]
    GatewayDeclined,
    #[error("the gateway failed to process the payment")]
    GatewayError,
    #[error(
        "the gateway did not answer in time; the payment outcome is unknown and will be resolved"
    )]
    GatewayTimeout,
    #[error("callback signature is invalid")]
    InvalidSignature,
    /// A verified callback whose body could not be understood.
    #[error("callback body is malformed: {0}")]
    Malformed(String),
    #[error("this gateway's secret may not move a payment made at another gateway")]
    GatewayMismatch,
    #[error("order {order_id} already has a succeeded payment ({payment_id})")]
    OrderAlreadyPaid {
        order_id: String,
        payment_id: String,
    },
    #[error("order {order_id} has a payment in progress ({payment_id})")]
    OrderInProgress {
        order_id: String,
        payment_id: String,
    },
    #[error(
        "order {order_id} has a payment whose outcome is not known yet ({payment_id}); \
         poll GET /v1/payments/{payment_id} or retry with its Idempotency-Key"
    )]
    OrderPaymentInDoubt {
        order_id: String,
        payment_id: String,
    },
    #[error("missing or wrong bearer token")]
    Unauthorized,
    #[error("the service is not ready: {0}")]
    Unavailable(String),
    #[error("internal error")]
    Internal,
    #[error("the config file is invalid; nothing was changed ({} error(s))", .0.len())]
    ConfigInvalid(Vec<String>),
    #[error("these keys need a restart, so the reload was refused: {}", .0.join(", "))]
    RestartRequired(Vec<String>),
    #[error("the running config did not come from a file, so it cannot be reloaded")]
    ReloadUnavailable,
    #[error("{0}")]
    PaymentNotRefundable(String),
    #[error("amount is above what is left to refund ({available} paise)")]
    RefundExceedsAvailable { available: i64 },
    #[error("{0}")]
    CurrencyMismatch(String),
    #[error("{0}")]
    RefundNotSupported(String),
}

impl ApiError {
    pub fn invalid(message: impl Into<String>, field: impl Into<String>) -> Self {
        ApiError::InvalidRequest {
            message: message.into(),
            field: Some(field.into()),
        }
    }

    /// The stable error code.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::InvalidRequest { .. } => "invalid_request",
            ApiError::UnsupportedMediaType | ApiError::UnsupportedEncoding => {
                "unsupported_media_type"
            }
            ApiError::Overloaded { .. } => "overloaded",
            ApiError::RateLimited { .. } => "rate_limited",
            ApiError::MethodNotAllowed => "method_not_allowed",
            ApiError::UriTooLong { .. } => "uri_too_long",
            ApiError::HeadersTooLarge { .. } => "headers_too_large",
            ApiError::PayloadTooLarge { .. } => "payload_too_large",
            ApiError::IdempotencyKeyMissing => "idempotency_key_missing",
            ApiError::IdempotencyConflict => "idempotency_conflict",
            ApiError::RequestInProgress => "request_in_progress",
            ApiError::NotFound(_) => "not_found",
            ApiError::NoRoute => "no_route",
            ApiError::NoGatewayAvailable { .. } => "no_gateway_available",
            ApiError::UpiLimitExceeded { .. } => "upi_limit_exceeded",
            ApiError::GatewayDeclined => "gateway_declined",
            ApiError::GatewayError => "gateway_error",
            ApiError::GatewayTimeout => "gateway_timeout",
            ApiError::InvalidSignature => "invalid_signature",
            ApiError::Malformed(_) => "malformed",
            ApiError::GatewayMismatch => "gateway_mismatch",
            ApiError::OrderAlreadyPaid { .. } => "order_already_paid",
            ApiError::OrderInProgress { .. } => "order_payment_in_progress",
            ApiError::OrderPaymentInDoubt { .. } => "order_payment_in_doubt",
            ApiError::Unauthorized => "unauthorized",
            ApiError::Unavailable(_) => "unavailable",
            ApiError::Internal => "internal",
            ApiError::ConfigInvalid(_) => "config_invalid",
            ApiError::RestartRequired(_) => "restart_required",
            ApiError::ReloadUnavailable => "reload_unavailable",
            ApiError::PaymentNotRefundable(_) => "payment_not_refundable",
            ApiError::RefundExceedsAvailable { .. } => "refund_exceeds_available",
            ApiError::CurrencyMismatch(_) => "currency_mismatch",
            ApiError::RefundNotSupported(_) => "refund_not_supported",
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::InvalidRequest { .. }
            | ApiError::IdempotencyKeyMissing
            | ApiError::Malformed(_) => StatusCode::BAD_REQUEST,
            ApiError::UnsupportedMediaType | ApiError::UnsupportedEncoding => {
                StatusCode::UNSUPPORTED_MEDIA_TYPE
            }
            ApiError::Overloaded { .. } => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::UriTooLong { .. } => StatusCode::URI_TOO_LONG,
            ApiError::HeadersTooLarge { .. } => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::IdempotencyConflict
            | ApiError::RequestInProgress
            | ApiError::GatewayMismatch
            | ApiError::OrderAlreadyPaid { .. }
            | ApiError::OrderInProgress { .. }
            | ApiError::OrderPaymentInDoubt { .. } => StatusCode::CONFLICT,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::NoRoute | ApiError::UpiLimitExceeded { .. } => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            ApiError::NoGatewayAvailable { .. } | ApiError::Unavailable(_) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            ApiError::GatewayDeclined => StatusCode::PAYMENT_REQUIRED,
            ApiError::GatewayError => StatusCode::BAD_GATEWAY,
            ApiError::GatewayTimeout => StatusCode::GATEWAY_TIMEOUT,
            ApiError::InvalidSignature | ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::ConfigInvalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::RestartRequired(_) | ApiError::ReloadUnavailable => StatusCode::CONFLICT,
            ApiError::PaymentNotRefundable(_) => StatusCode::CONFLICT,
            ApiError::RefundExceedsAvailable { .. }
            | ApiError::CurrencyMismatch(_)
            | ApiError::RefundNotSupported(_) => StatusCode::UNPROCESSABLE_ENTITY,
        }
    }

    fn field(&self) -> Option<&str> {
        match self {
            ApiError::InvalidRequest { field, .. } => field.as_deref(),
            ApiError::IdempotencyKeyMissing => Some("Idempotency-Key"),
            ApiError::RefundExceedsAvailable { .. } => Some("amount"),
            ApiError::CurrencyMismatch(_) => Some("currency"),
            _ => None,
        }
    }

    /// The JSON body, also used when a response is stored for idempotent replay.
    pub fn body(&self) -> serde_json::Value {
        let mut body = serde_json::json!({ "error": ErrorBody { code: self.code(), message: self.to_string(), field: self.field() } });
        // Every config error, or every bootstrap key, so one call says all that is wrong.
        if let ApiError::ConfigInvalid(list) | ApiError::RestartRequired(list) = self {
            body["error"]["errors"] = serde_json::json!(list);
        }
        // The order guard names the payment the checkout should poll instead.
        if let ApiError::OrderAlreadyPaid { payment_id, .. }
        | ApiError::OrderInProgress { payment_id, .. }
        | ApiError::OrderPaymentInDoubt { payment_id, .. } = self
        {
            body["error"]["payment_id"] = serde_json::json!(payment_id);
        }
        body
    }
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    code: &'static str,
    message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'a str>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let code = ErrorCode(self.code());
        let retry_after = match self {
            ApiError::Overloaded { retry_after_secs }
            | ApiError::RateLimited { retry_after_secs } => Some(retry_after_secs),
            _ => None,
        };
        let mut resp = (self.status(), Json(self.body())).into_response();
        if let Some(secs) = retry_after {
            resp.headers_mut()
                .insert(axum::http::header::RETRY_AFTER, secs.into());
        }
        resp.extensions_mut().insert(code);
        resp
    }
}

/// The stable code of an error response, for [`count_errors`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrorCode(pub &'static str);

/// Middleware (`map_response_with_state`): counts every error response once.
pub async fn count_errors(
    axum::extract::State(metrics): axum::extract::State<Metrics>,
    resp: Response,
) -> Response {
    if let Some(ErrorCode(code)) = resp.extensions().get::<ErrorCode>() {
        metrics.http_errors.with_label_values(&[code]).inc();
    }
    resp
}

impl From<axum::extract::rejection::QueryRejection> for ApiError {
    fn from(e: axum::extract::rejection::QueryRejection) -> Self {
        let message = e.body_text();
        ApiError::InvalidRequest {
            field: super::extract::field_of(&message),
            message,
        }
    }
}

impl From<axum::extract::rejection::PathRejection> for ApiError {
    fn from(e: axum::extract::rejection::PathRejection) -> Self {
        ApiError::InvalidRequest {
            message: e.body_text(),
            field: None,
        }
    }
}

impl From<PaymentError> for ApiError {
    fn from(e: PaymentError) -> Self {
        match e {
            PaymentError::NoRoute => ApiError::NoRoute,
            PaymentError::NoGatewayAvailable { route } => ApiError::NoGatewayAvailable { route },
            PaymentError::UpiLimitExceeded { limit } => ApiError::UpiLimitExceeded { limit },
            PaymentError::IdempotencyConflict => ApiError::IdempotencyConflict,
            PaymentError::RequestInProgress => ApiError::RequestInProgress,
            PaymentError::LedgerUnavailable => {
                ApiError::Unavailable("ledger is not writable".into())
            }
            PaymentError::GatewayDeclined => ApiError::GatewayDeclined,
            PaymentError::GatewayError => ApiError::GatewayError,
            PaymentError::GatewayTimeout => ApiError::GatewayTimeout,
            PaymentError::OrderAlreadyPaid {
                order_id,
                payment_id,
            } => ApiError::OrderAlreadyPaid {
                order_id,
                payment_id,
            },
            PaymentError::OrderInProgress {
                order_id,
                payment_id,
            } => ApiError::OrderInProgress {
                order_id,
                payment_id,
            },
            PaymentError::OrderPaymentInDoubt {
                order_id,
                payment_id,
            } => ApiError::OrderPaymentInDoubt {
                order_id,
                payment_id,
            },
        }
    }
}

impl From<CallbackError> for ApiError {
    fn from(e: CallbackError) -> Self {
        match e {
            CallbackError::UnknownGateway(g) => ApiError::NotFound(format!("gateway {g:?}")),
            CallbackError::InvalidSignature => ApiError::InvalidSignature,
            CallbackError::Malformed(m) => ApiError::Malformed(m),
            CallbackError::Unavailable => {
                ApiError::Unavailable("the ledger cannot commit; redeliver later".into())
            }
            CallbackError::Unresolved(_) => {
                ApiError::Unavailable("the gateway's status query failed; redeliver later".into())
            }
            CallbackError::GatewayMismatch => ApiError::GatewayMismatch,
        }
    }
}

impl From<ReloadError> for ApiError {
    fn from(e: ReloadError) -> Self {
        match e {
            ReloadError::Unavailable => ApiError::ReloadUnavailable,
            ReloadError::RestartRequired(keys) => ApiError::RestartRequired(keys),
            ReloadError::Invalid(errs) => {
                ApiError::ConfigInvalid(errs.0.iter().map(ToString::to_string).collect())
            }
        }
    }
}

impl From<CommandError> for ApiError {
    fn from(e: CommandError) -> Self {
        match e {
            CommandError::UnknownGateway(n) => ApiError::NotFound(format!("gateway \"{n}\"")),
        }
    }
}

impl From<RefundError> for ApiError {
    fn from(e: RefundError) -> Self {
        match e {
            RefundError::PaymentNotFound => ApiError::NotFound("payment".into()),
            RefundError::RefundNotFound => ApiError::NotFound("refund".into()),
            RefundError::NotInMoney(_) => ApiError::PaymentNotRefundable(e.to_string()),
            RefundError::ExceedsAvailable { available } => {
                ApiError::RefundExceedsAvailable { available }
            }
            RefundError::CurrencyMismatch { .. } => ApiError::CurrencyMismatch(e.to_string()),
            RefundError::NotSupported { .. } => ApiError::RefundNotSupported(e.to_string()),
            RefundError::IdempotencyConflict => ApiError::IdempotencyConflict,
            RefundError::LedgerUnavailable => {
                ApiError::Unavailable("the ledger cannot commit; retry later".into())
            }
        }
    }
}

#[cfg(test)]
mod tests;
