//! Route matching: method, amount range in paise, currency, tags.

use std::collections::BTreeMap;

use crate::model::{Currency, Method, Paise, PaymentRequest};

#[derive(Debug, Clone, Default)]
pub struct Matcher {
    /// Empty: any method.
    pub methods: Vec<Method>,
    pub min_amount: Option<Paise>,
    pub max_amount: Option<Paise>,
    pub currency: Option<Currency>,
    pub tags: BTreeMap<String, String>,
}

impl Matcher {
    pub fn matches(&self, req: &PaymentRequest) -> bool {
        (self.methods.is_empty() || self.methods.contains(&req.method))
            && self.min_amount.is_none_or(|m| req.amount >= m)
            && self.max_amount.is_none_or(|m| req.amount <= m)
            && self.currency.is_none_or(|c| req.currency == c)
            && self.tags.iter().all(|(k, v)| req.tags.get(k) == Some(v))
    }

    /// One-line description for `check` and `explain`.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if !self.methods.is_empty() {
            let m: Vec<&str> = self.methods.iter().map(|m| m.as_str()).collect();
            parts.push(format!("method in [{}]", m.join(", ")));
        }
        match (self.min_amount, self.max_amount) {
            (Some(a), Some(b)) => parts.push(format!("amount {a}..={b} paise")),
            (Some(a), None) => parts.push(format!("amount >= {a} paise")),
            (None, Some(b)) => parts.push(format!("amount <= {b} paise")),
            (None, None) => {}
        }
        if let Some(c) = self.currency {
            parts.push(format!("currency {c}"));
        }
        for (k, v) in &self.tags {
            parts.push(format!("tag {k}={v}"));
        }
        if parts.is_empty() {
            "any payment".to_string()
        } else {
            parts.join(", ")
        }
    }
}
