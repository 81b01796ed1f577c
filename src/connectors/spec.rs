//! What a gateway is, as the config compiles it: its dialect, address, timeouts and
//! credentials. Owned here, below the config, so that connectors depend on nothing
//! above them; `config` compiles `[[gateway]]` tables into these.

use std::time::Duration;

use crate::model::Secret;

/// A gateway dialect. Adding one: a variant here, a row in [`KINDS`], a line in
/// [`crate::connectors::build`] and one in the sandbox's `dialects::of`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConnectorKind {
    Generic,
    Razorpay,
    Cashfree,
    /// Juspay UPI Merchant Stack (callbacks only: the Pay Callback, RSA-signed).
    JuspayUpi,
    /// PayU India: `_payment` form post with the SHA-512 hash, reverse hash callbacks.
    Payu,
    /// PhonePe PG v2 (OAuth token, `/checkout/v2/pay`) with v1 `X-VERIFY` callbacks.
    Phonepe,
    /// Paytm PG: `initiateTransaction` + `processTransaction`, AES checksum.
    Paytm,
    /// Adyen Checkout API v71 (UPI via /payments, hosted payment links).
    Adyen,
    /// EBANX Direct API (UPI intent/QR), hosted page; notifications resolved by query.
    Ebanx,
    /// Juspay Express Checkout (orders + txns, order status, Basic-auth or JWT webhooks).
    JuspayEc,
}

/// What a gateway honours that makes a retry after an ambiguous outcome
/// (`SentUnknown`) safe at the same gateway (issue 12 item 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Idempotency {
    /// A documented idempotency-key header: the gateway replays the first answer.
    Key,
    /// The gateway refuses a second payment with our reference (its order id /
    /// transaction id is unique): the retry is answered "duplicate", which the
    /// connector resolves with a status query instead of creating a second payment.
    MerchantReference,
    /// Neither: a retry may create a second payment, so `idempotent = true` is refused.
    None,
}

impl Idempotency {
    pub fn as_str(self) -> &'static str {
        match self {
            Idempotency::Key => "key",
            Idempotency::MerchantReference => "merchant_reference",
            Idempotency::None => "none",
        }
    }

    /// Whether `idempotent = true` may be configured for such a gateway.
    pub fn allows_retry(self) -> bool {
        !matches!(self, Idempotency::None)
    }
}

/// One row per dialect: its config name and what it honours. Razorpay documents no
/// idempotency key for orders or payments and does not enforce unique receipts, so
/// it declares `None`.
const KINDS: &[(ConnectorKind, &str, Idempotency)] = &[
    (ConnectorKind::Generic, "generic", Idempotency::Key),
    (ConnectorKind::Razorpay, "razorpay", Idempotency::None),
    (ConnectorKind::Cashfree, "cashfree", Idempotency::Key),
    (ConnectorKind::JuspayUpi, "juspay_upi", Idempotency::None),
    (ConnectorKind::Payu, "payu", Idempotency::MerchantReference),
    (
        ConnectorKind::Phonepe,
        "phonepe",
        Idempotency::MerchantReference,
    ),
    (
        ConnectorKind::Paytm,
        "paytm",
        Idempotency::MerchantReference,
    ),
    // Adyen documents the `Idempotency-Key` header on Checkout API requests.
    (ConnectorKind::Adyen, "adyen", Idempotency::Key),
    // EBANX refuses a second `merchant_payment_code` (BP-DR-0).
    (
        ConnectorKind::Ebanx,
        "ebanx",
        Idempotency::MerchantReference,
    ),
    // Juspay keeps one order per `order_id`; a second create answers that order.
    (
        ConnectorKind::JuspayEc,
        "juspay_ec",
        Idempotency::MerchantReference,
    ),
];

impl ConnectorKind {
    /// Every dialect, in table order (derived from [`KINDS`]).
    pub const ALL: [ConnectorKind; KINDS.len()] = {
        let mut out = [ConnectorKind::Generic; KINDS.len()];
        let mut i = 0;
        while i < KINDS.len() {
            out[i] = KINDS[i].0;
            i += 1;
        }
        out
    };

    /// Every dialect, in table order.
    pub fn all() -> impl Iterator<Item = ConnectorKind> {
        KINDS.iter().map(|(k, _, _)| *k)
    }

    fn row(self) -> &'static (ConnectorKind, &'static str, Idempotency) {
        // Every variant has a row (`every_kind_has_one_row` checks it).
        KINDS
            .iter()
            .find(|(k, _, _)| *k == self)
            .unwrap_or(&KINDS[0])
    }

    pub fn as_str(self) -> &'static str {
        self.row().1
    }

    /// What this dialect honours for a retry after an ambiguous outcome.
    pub fn idempotency(self) -> Idempotency {
        self.row().2
    }

    /// Whether the id `initiate` answers is the gateway payment itself, the id its
    /// callbacks and status answers carry, one per merchant reference (generic:
    /// `id` per `merchant_txn_id`; Adyen: the `pspReference`; EBANX: the payment
    /// `hash`). Then a success under another id is a second payment even before the
    /// first has paid (docs/MONEY.md, item 5). Razorpay, Cashfree, PayU, PhonePe,
    /// Paytm and Juspay answer an order or link that holds payments of their own.
    pub fn binds_payment_id(self) -> bool {
        matches!(
            self,
            ConnectorKind::Generic | ConnectorKind::Adyen | ConnectorKind::Ebanx
        )
    }

    /// Whether `key_id` and `key_secret` are required (the generic dialect's are
    /// optional; a callback-only gateway calls nothing).
    pub fn needs_api_keys(self) -> bool {
        !matches!(self, ConnectorKind::Generic | ConnectorKind::JuspayUpi)
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::all().find(|k| k.as_str() == s)
    }
}

/// Credentials resolved from their references.
#[derive(Debug, Clone, Default)]
pub struct Credentials {
    pub key_id: Option<Secret>,
    pub key_secret: Option<Secret>,
    pub webhook_secret: Option<Secret>,
    /// The webhook secret before the last rotation, still accepted (Razorpay signs
    /// retried old events with the secret they were first sent with).
    pub previous_webhook_secret: Option<Secret>,
    /// Juspay EC "JWT webhooks" (juspay_ec only; both or neither): the merchant's
    /// private key, PEM, that the JWE is encrypted to ...
    pub jwt_private_key: Option<Secret>,
    /// ... and Juspay's public key, PEM, that verifies the JWS inside.
    pub jwt_public_key: Option<Secret>,
}

/// One gateway's settings as compiled from its `[[gateway]]` table.
#[derive(Debug, Clone)]
pub struct GatewaySpec {
    pub name: String,
    pub kind: ConnectorKind,
    pub base_url: String,
    pub credentials: Credentials,
    pub connect_timeout: Duration,
    pub timeout: Duration,
    pub pool_size: usize,
    pub idempotent: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_one_row() {
        for (k, name, _) in KINDS {
            assert_eq!(KINDS.iter().filter(|(o, _, _)| o == k).count(), 1, "{name}");
            assert_eq!(ConnectorKind::parse(name), Some(*k));
            assert_eq!(k.as_str(), *name);
        }
    }

    #[test]
    fn razorpay_cannot_honour_a_retry() {
        assert_eq!(ConnectorKind::Razorpay.idempotency(), Idempotency::None);
        assert!(!ConnectorKind::Razorpay.idempotency().allows_retry());
        assert!(ConnectorKind::Cashfree.idempotency().allows_retry());
    }
}
