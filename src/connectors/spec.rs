//! What a gateway is, as the config compiles it: its dialect, address, timeouts and
//! credentials. Owned here, below the config, so that connectors depend on nothing
//! above them; `config` compiles `[[gateway]]` tables into these.

use std::time::Duration;

use crate::model::Secret;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectorKind {
    Generic,
    Razorpay,
    Cashfree,
    /// Juspay UPI Merchant Stack (callbacks only: the Pay Callback, RSA-signed).
    JuspayUpi,
    /// Adyen Checkout API v71 (UPI via /payments, hosted payment links).
    Adyen,
    /// EBANX Direct API (UPI intent/QR), hosted page; notifications resolved by query.
    Ebanx,
    /// Juspay Express Checkout (orders + txns, order status, Basic-auth webhooks).
    JuspayEc,
}

impl ConnectorKind {
    pub const ALL: [ConnectorKind; 7] = [
        ConnectorKind::Generic,
        ConnectorKind::Razorpay,
        ConnectorKind::Cashfree,
        ConnectorKind::JuspayUpi,
        ConnectorKind::Adyen,
        ConnectorKind::Ebanx,
        ConnectorKind::JuspayEc,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ConnectorKind::Generic => "generic",
            ConnectorKind::Razorpay => "razorpay",
            ConnectorKind::Cashfree => "cashfree",
            ConnectorKind::JuspayUpi => "juspay_upi",
            ConnectorKind::Adyen => "adyen",
            ConnectorKind::Ebanx => "ebanx",
            ConnectorKind::JuspayEc => "juspay_ec",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// Credentials resolved from their references.
#[derive(Debug, Clone, Default)]
pub struct Credentials {
    pub key_id: Option<Secret>,
    pub key_secret: Option<Secret>,
    pub webhook_secret: Option<Secret>,
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
