//! The payment vocabulary shared by the API, routing, connectors and the ledger.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// How the customer pays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    UpiCollect,
    UpiIntent,
    UpiQr,
    Card,
    Netbanking,
}

impl Method {
    pub const ALL: [Method; 5] = [
        Method::UpiCollect,
        Method::UpiIntent,
        Method::UpiQr,
        Method::Card,
        Method::Netbanking,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Method::UpiCollect => "upi_collect",
            Method::UpiIntent => "upi_intent",
            Method::UpiQr => "upi_qr",
            Method::Card => "card",
            Method::Netbanking => "netbanking",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == s)
    }

    pub fn is_upi(self) -> bool {
        matches!(self, Method::UpiCollect | Method::UpiIntent | Method::UpiQr)
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Unified payment status (DESIGN.md section 4). `Deemed` is never success.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentStatus {
    Initiated,
    Pending,
    Deemed,
    Authorized,
    Succeeded,
    Failed,
    Expired,
    Cancelled,
    Reversed,
    Refunded,
    PartiallyRefunded,
    Unknown,
}

impl PaymentStatus {
    pub const ALL: [PaymentStatus; 12] = [
        PaymentStatus::Initiated,
        PaymentStatus::Pending,
        PaymentStatus::Deemed,
        PaymentStatus::Authorized,
        PaymentStatus::Succeeded,
        PaymentStatus::Failed,
        PaymentStatus::Expired,
        PaymentStatus::Cancelled,
        PaymentStatus::Reversed,
        PaymentStatus::Refunded,
        PaymentStatus::PartiallyRefunded,
        PaymentStatus::Unknown,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PaymentStatus::Initiated => "initiated",
            PaymentStatus::Pending => "pending",
            PaymentStatus::Deemed => "deemed",
            PaymentStatus::Authorized => "authorized",
            PaymentStatus::Succeeded => "succeeded",
            PaymentStatus::Failed => "failed",
            PaymentStatus::Expired => "expired",
            PaymentStatus::Cancelled => "cancelled",
            PaymentStatus::Reversed => "reversed",
            PaymentStatus::Refunded => "refunded",
            PaymentStatus::PartiallyRefunded => "partially_refunded",
            PaymentStatus::Unknown => "unknown",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == s)
    }

    /// Final: no further change expected without a new event of a higher precedence.
    pub fn is_final(self) -> bool {
        !matches!(
            self,
            PaymentStatus::Initiated
                | PaymentStatus::Pending
                | PaymentStatus::Deemed
                | PaymentStatus::Authorized
                | PaymentStatus::Unknown
        )
    }
}

impl fmt::Display for PaymentStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a payment failed or expired (DESIGN.md section 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    InsufficientFunds,
    IncorrectPin,
    PinTriesExceeded,
    LimitExceeded,
    DeclinedByCustomer,
    CustomerDropped,
    Expired,
    AccountBlocked,
    InvalidVpa,
    RiskDeclined,
    TpvFailed,
    IssuerUnavailable,
    BeneficiaryUnavailable,
    NetworkTimeout,
    GatewayError,
    Other,
}

impl Reason {
    pub const ALL: [Reason; 16] = [
        Reason::InsufficientFunds,
        Reason::IncorrectPin,
        Reason::PinTriesExceeded,
        Reason::LimitExceeded,
        Reason::DeclinedByCustomer,
        Reason::CustomerDropped,
        Reason::Expired,
        Reason::AccountBlocked,
        Reason::InvalidVpa,
        Reason::RiskDeclined,
        Reason::TpvFailed,
        Reason::IssuerUnavailable,
        Reason::BeneficiaryUnavailable,
        Reason::NetworkTimeout,
        Reason::GatewayError,
        Reason::Other,
    ];

    /// The inverse of [`Reason::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Reason::InsufficientFunds => "insufficient_funds",
            Reason::IncorrectPin => "incorrect_pin",
            Reason::PinTriesExceeded => "pin_tries_exceeded",
            Reason::LimitExceeded => "limit_exceeded",
            Reason::DeclinedByCustomer => "declined_by_customer",
            Reason::CustomerDropped => "customer_dropped",
            Reason::Expired => "expired",
            Reason::AccountBlocked => "account_blocked",
            Reason::InvalidVpa => "invalid_vpa",
            Reason::RiskDeclined => "risk_declined",
            Reason::TpvFailed => "tpv_failed",
            Reason::IssuerUnavailable => "issuer_unavailable",
            Reason::BeneficiaryUnavailable => "beneficiary_unavailable",
            Reason::NetworkTimeout => "network_timeout",
            Reason::GatewayError => "gateway_error",
            Reason::Other => "other",
        }
    }

    /// Maps an NPCI UPI response code (UPI.md section 2) to a reason. The full table
    /// (status, reason, safe to fail over) is `connectors::npci`; a test there keeps
    /// the two in agreement.
    pub fn from_npci(code: &str) -> Option<Reason> {
        Some(match code {
            "Z9" => Reason::InsufficientFunds,
            "ZM" => Reason::IncorrectPin,
            "Z6" => Reason::PinTriesExceeded,
            "Z8" | "Z7" | "U16" | "FL" | "FP" => Reason::LimitExceeded,
            "ZA" => Reason::DeclinedByCustomer,
            "U69" | "X1" => Reason::Expired,
            "ZH" => Reason::InvalidVpa,
            "U30" => Reason::Other,
            "YE" | "B3" | "XH" | "ZX" => Reason::AccountBlocked,
            "59" | "K1" => Reason::RiskDeclined,
            "XY" | "U28" | "U90" | "UT" | "U09" | "U20" => Reason::IssuerUnavailable,
            "Y1" | "UB" | "U91" | "BT" => Reason::BeneficiaryUnavailable,
            "U67" | "U68" => Reason::NetworkTimeout,
            _ => return None,
        })
    }
}

/// What the checkout should do next to complete the payment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum NextAction {
    UpiIntent {
        uri: String,
    },
    UpiQr {
        qr_payload: String,
    },
    AwaitCustomer,
    Redirect {
        url: String,
    },
    /// The checkout posts an HTML form from the customer's browser (boxed: it is
    /// three times the size of the other variants).
    FormPost(Box<FormPost>),
}

/// A browser form post: `method` (`POST`) to `url`, every entry of `fields` a
/// hidden input. How a gateway's hosted page is entered where it takes a signed
/// form (PayU's `_payment`, Paytm's `showPaymentPage`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FormPost {
    pub url: String,
    pub method: String,
    pub fields: BTreeMap<String, String>,
}

impl NextAction {
    /// A `POST` of `fields` to `url`.
    pub fn form_post<K: Into<String>, V: Into<String>>(
        url: String,
        fields: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        NextAction::FormPost(Box::new(FormPost {
            url,
            method: "POST".into(),
            fields: fields
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }))
    }
}

/// Customer details, passed to the gateway where it has a place. Phone and email are
/// personal data: never logged (the type has no `Display`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Customer {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
}

/// A validated payment initiation, ready to route.
#[derive(Debug, Clone)]
pub struct PaymentRequest {
    pub order_id: String,
    pub amount: super::Paise,
    pub currency: super::Currency,
    pub method: Method,
    pub vpa: Option<super::Vpa>,
    pub customer: Customer,
    pub description: Option<String>,
    pub tags: BTreeMap<String, String>,
    pub metadata: Option<serde_json::Value>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_post_serializes_with_its_fields_as_an_object() {
        let na = NextAction::form_post("https://g/_payment".into(), [("b", "2"), ("a", "1")]);
        let v = serde_json::to_value(&na).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"type": "form_post", "url": "https://g/_payment",
                "method": "POST", "fields": {"a": "1", "b": "2"}})
        );
        assert_eq!(serde_json::from_value::<NextAction>(v).unwrap(), na);
        assert!(std::mem::size_of::<NextAction>() <= 48);
    }
}
