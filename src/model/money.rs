//! Money: integer paise, exact decimal parsing at the edges, never `f64`.

use std::fmt;

use serde::{Deserialize, Serialize};

/// An amount in the minor unit of its currency (paise for INR). Always `i64`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Paise(pub i64);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MoneyError {
    #[error("amount {0:?} is not a decimal number")]
    NotDecimal(String),
    #[error("amount {0:?} has more than two decimals")]
    TooManyDecimals(String),
    #[error("amount {0:?} is negative")]
    Negative(String),
    #[error("amount {0:?} is too large")]
    Overflow(String),
}

impl Paise {
    pub const fn new(v: i64) -> Self {
        Paise(v)
    }

    pub const fn get(self) -> i64 {
        self.0
    }

    /// Parses a rupee decimal (`"170"`, `"170.5"`, `"170.00"`) into paise exactly.
    /// Rejects negatives, exponents, more than two decimals and overflow.
    pub fn from_rupees_str(s: &str) -> Result<Self, MoneyError> {
        let t = s.trim();
        if t.starts_with('-') {
            return Err(MoneyError::Negative(s.to_string()));
        }
        let (int, frac) = match t.split_once('.') {
            Some((i, f)) => (i, f),
            None => (t, ""),
        };
        let digits = |x: &str| x.bytes().all(|b| b.is_ascii_digit());
        if int.is_empty() || !digits(int) || !digits(frac) || (t.contains('.') && frac.is_empty()) {
            return Err(MoneyError::NotDecimal(s.to_string()));
        }
        if frac.len() > 2 {
            return Err(MoneyError::TooManyDecimals(s.to_string()));
        }
        let rupees: i64 = int
            .parse()
            .map_err(|_| MoneyError::Overflow(s.to_string()))?;
        let mut p: i64 = 0;
        for (i, b) in frac.bytes().enumerate() {
            let d = i64::from(b - b'0');
            p += if i == 0 { d * 10 } else { d };
        }
        rupees
            .checked_mul(100)
            .and_then(|r| r.checked_add(p))
            .map(Paise)
            .ok_or_else(|| MoneyError::Overflow(s.to_string()))
    }

    /// Parses a JSON number that a gateway sends in rupees (`170.00`), using its
    /// textual form so no float rounding can occur.
    pub fn from_rupees_json(v: &serde_json::Value) -> Result<Self, MoneyError> {
        match v {
            serde_json::Value::Number(n) => Self::from_rupees_str(&n.to_string()),
            serde_json::Value::String(s) => Self::from_rupees_str(s),
            other => Err(MoneyError::NotDecimal(other.to_string())),
        }
    }

    /// Rupees with exactly two decimals, e.g. `29900` → `"299.00"`.
    pub fn to_rupees_string(self) -> String {
        let sign = if self.0 < 0 { "-" } else { "" };
        let a = self.0.unsigned_abs();
        format!("{sign}{}.{:02}", a / 100, a % 100)
    }
}

impl fmt::Display for Paise {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// ISO 4217 currency. INR is the home currency; others pass through for gateways that take them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub enum Currency {
    #[default]
    #[serde(rename = "INR")]
    Inr,
    #[serde(rename = "USD")]
    Usd,
    #[serde(rename = "EUR")]
    Eur,
}

impl Currency {
    pub fn as_str(self) -> &'static str {
        match self {
            Currency::Inr => "INR",
            Currency::Usd => "USD",
            Currency::Eur => "EUR",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "INR" => Some(Currency::Inr),
            "USD" => Some(Currency::Usd),
            "EUR" => Some(Currency::Eur),
            _ => None,
        }
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_rupee_decimals_exactly() {
        assert_eq!(Paise::from_rupees_str("170.00"), Ok(Paise(17000)));
        assert_eq!(Paise::from_rupees_str("170.5"), Ok(Paise(17050)));
        assert_eq!(Paise::from_rupees_str("0.01"), Ok(Paise(1)));
        assert_eq!(Paise::from_rupees_str("1"), Ok(Paise(100)));
        // 0.29 is not representable in f64; we never go through f64.
        assert_eq!(Paise::from_rupees_str("1234567.29"), Ok(Paise(123456729)));
    }

    #[test]
    fn rejects_bad_decimals() {
        assert!(matches!(
            Paise::from_rupees_str("-1.00"),
            Err(MoneyError::Negative(_))
        ));
        assert!(matches!(
            Paise::from_rupees_str("1.001"),
            Err(MoneyError::TooManyDecimals(_))
        ));
        assert!(matches!(
            Paise::from_rupees_str("1e3"),
            Err(MoneyError::NotDecimal(_))
        ));
        assert!(matches!(
            Paise::from_rupees_str("1."),
            Err(MoneyError::NotDecimal(_))
        ));
        assert!(matches!(
            Paise::from_rupees_str(".5"),
            Err(MoneyError::NotDecimal(_))
        ));
        assert!(matches!(
            Paise::from_rupees_str("999999999999999999999"),
            Err(MoneyError::Overflow(_))
        ));
    }

    #[test]
    fn json_numbers_keep_their_text() {
        let v: serde_json::Value = serde_json::from_str("170.10").unwrap();
        assert_eq!(Paise::from_rupees_json(&v), Ok(Paise(17010)));
    }

    #[test]
    fn formats_rupees() {
        assert_eq!(Paise(29900).to_rupees_string(), "299.00");
        assert_eq!(Paise(5).to_rupees_string(), "0.05");
    }
}
