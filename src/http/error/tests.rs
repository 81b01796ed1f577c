use super::*;

#[test]
fn every_code_maps_to_its_documented_status() {
    let cases = [
        (ApiError::invalid("x", "amount"), 400, "invalid_request"),
        (
            ApiError::UnsupportedMediaType,
            415,
            "unsupported_media_type",
        ),
        (ApiError::UnsupportedEncoding, 415, "unsupported_media_type"),
        (
            ApiError::Overloaded {
                retry_after_secs: 1,
            },
            503,
            "overloaded",
        ),
        (
            ApiError::RateLimited {
                retry_after_secs: 1,
            },
            429,
            "rate_limited",
        ),
        (ApiError::MethodNotAllowed, 405, "method_not_allowed"),
        (ApiError::UriTooLong { limit: 1 }, 414, "uri_too_long"),
        (
            ApiError::HeadersTooLarge { limit: 1 },
            431,
            "headers_too_large",
        ),
        (
            ApiError::PayloadTooLarge { limit: 1 },
            413,
            "payload_too_large",
        ),
        (
            ApiError::IdempotencyKeyMissing,
            400,
            "idempotency_key_missing",
        ),
        (ApiError::IdempotencyConflict, 409, "idempotency_conflict"),
        (ApiError::RequestInProgress, 409, "request_in_progress"),
        (ApiError::NotFound("payment".into()), 404, "not_found"),
        (ApiError::NoRoute, 422, "no_route"),
        (
            ApiError::UpiLimitExceeded { limit: 1 },
            422,
            "upi_limit_exceeded",
        ),
        (
            ApiError::NoGatewayAvailable { route: "r".into() },
            503,
            "no_gateway_available",
        ),
        (ApiError::GatewayDeclined, 402, "gateway_declined"),
        (ApiError::GatewayError, 502, "gateway_error"),
        (ApiError::GatewayTimeout, 504, "gateway_timeout"),
        (ApiError::InvalidSignature, 401, "invalid_signature"),
        (ApiError::Malformed("x".into()), 400, "malformed"),
        (ApiError::Unauthorized, 401, "unauthorized"),
        (ApiError::GatewayMismatch, 409, "gateway_mismatch"),
        (
            ApiError::OrderAlreadyPaid {
                order_id: "o".into(),
                payment_id: "p".into(),
            },
            409,
            "order_already_paid",
        ),
        (
            ApiError::OrderInProgress {
                order_id: "o".into(),
                payment_id: "p".into(),
            },
            409,
            "order_payment_in_progress",
        ),
        (
            ApiError::OrderPaymentInDoubt {
                order_id: "o".into(),
                payment_id: "p".into(),
            },
            409,
            "order_payment_in_doubt",
        ),
        (ApiError::ConfigInvalid(vec![]), 422, "config_invalid"),
        (ApiError::RestartRequired(vec![]), 409, "restart_required"),
        (ApiError::ReloadUnavailable, 409, "reload_unavailable"),
        (
            ApiError::from(RefundError::NotInMoney(crate::model::PaymentStatus::Failed)),
            409,
            "payment_not_refundable",
        ),
        (
            ApiError::from(RefundError::ExceedsAvailable { available: 1 }),
            422,
            "refund_exceeds_available",
        ),
        (
            ApiError::from(RefundError::CurrencyMismatch {
                requested: "USD".into(),
                payment: "INR".into(),
            }),
            422,
            "currency_mismatch",
        ),
        (
            ApiError::from(RefundError::NotSupported {
                gateway: "g".into(),
                method: "card".into(),
            }),
            422,
            "refund_not_supported",
        ),
    ];
    for (e, status, code) in cases {
        assert_eq!(e.status().as_u16(), status, "{code}");
        assert_eq!(e.code(), code);
    }
    let body = ApiError::invalid(
        "amount must be a positive integer number of paise",
        "amount",
    )
    .body();
    assert_eq!(body["error"]["field"], "amount");
}
