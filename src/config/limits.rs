//! `[upi_limits]`: NPCI's per-transaction UPI caps (UPI.md section 4), enforced
//! before routing. The general cap is ₹1 lakh; verified merchants in the categories
//! NPCI lists (from 15 Sep 2025, and the earlier hospital, education, tax and IPO
//! circulars) have higher ones. A payment names its category in a request tag
//! (`tags.merchant_category` by default); a route may set its own cap (a route
//! that carries only verified hospital traffic, say), which wins over the category.
//!
//! ```toml
//! [upi_limits]
//! default = 100000                      # rupees
//! category_tag = "merchant_category"
//! categories = { jewellery = "150000" } # rupees; adds to or overrides the built-ins
//! routes = { hospitals = "500000" }     # rupees, by route name
//! ```

use std::collections::{BTreeMap, HashMap};

use serde::Deserialize;

use super::schema::{Field, Shape};
use super::spans::Diagnostics;
use crate::model::Paise;

const LAKH: i64 = 100_000 * 100;

/// The built-in category caps, in paise (UPI.md section 4).
pub const BUILTIN: &[(&str, i64)] = &[
    ("capital_markets", 5 * LAKH),
    ("insurance", 5 * LAKH),
    ("travel", 5 * LAKH),
    ("collections", 5 * LAKH),
    ("gem", 5 * LAKH),
    ("credit_card_bill", 5 * LAKH),
    ("business", 5 * LAKH),
    ("jewellery", 2 * LAKH),
    ("fx_retail", 5 * LAKH),
    ("term_deposit", 5 * LAKH),
    ("digital_account_funding", 2 * LAKH),
    ("hospital", 5 * LAKH),
    ("education", 5 * LAKH),
    ("tax", 5 * LAKH),
    ("ipo", 5 * LAKH),
    ("rbi_retail_direct", 5 * LAKH),
];

/// `[upi_limits]` as written.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawUpiLimits {
    /// Rupees (default 100000, ₹1 lakh).
    pub default: Option<u64>,
    /// The request tag naming the merchant category (default `merchant_category`).
    pub category_tag: Option<String>,
    /// Category → rupees.
    #[serde(default)]
    pub categories: BTreeMap<String, String>,
    /// Route name → rupees.
    #[serde(default)]
    pub routes: BTreeMap<String, String>,
}

pub(crate) const FIELDS: &[Field] = &[
    ("default", Shape::U64),
    ("category_tag", Shape::Str),
    ("categories", Shape::StrMap),
    ("routes", Shape::StrMap),
];

/// `[upi_limits]` as compiled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpiLimits {
    pub default: Paise,
    pub category_tag: String,
    pub categories: HashMap<String, Paise>,
    pub routes: HashMap<String, Paise>,
}

impl Default for UpiLimits {
    fn default() -> Self {
        UpiLimits {
            default: Paise(LAKH),
            category_tag: "merchant_category".into(),
            categories: BUILTIN
                .iter()
                .map(|(k, v)| ((*k).to_string(), Paise(*v)))
                .collect(),
            routes: HashMap::new(),
        }
    }
}

impl UpiLimits {
    /// The per-transaction cap for a UPI payment on `route` with these tags.
    pub fn cap(&self, route: &str, tags: &BTreeMap<String, String>) -> Paise {
        if let Some(c) = self.routes.get(route) {
            return *c;
        }
        tags.get(&self.category_tag)
            .and_then(|c| self.categories.get(c))
            .copied()
            .unwrap_or(self.default)
    }
}

fn rupees(diag: &mut Diagnostics<'_>, path: &str, v: &str) -> Option<Paise> {
    match v.trim().parse::<i64>() {
        Ok(r) if r > 0 && r <= i64::MAX / 100 => Some(Paise(r * 100)),
        _ => {
            diag.error(
                path,
                format!("\"{v}\" is not a whole number of rupees above 0"),
            );
            None
        }
    }
}

pub(crate) fn validate(
    raw: &RawUpiLimits,
    route_names: &[&str],
    diag: &mut Diagnostics<'_>,
) -> UpiLimits {
    let mut out = UpiLimits::default();
    if let Some(d) = raw.default {
        match i64::try_from(d) {
            Ok(r) if r > 0 && r <= i64::MAX / 100 => out.default = Paise(r * 100),
            _ => diag.error(
                "upi_limits.default",
                "must be a whole number of rupees above 0",
            ),
        }
    }
    if let Some(t) = &raw.category_tag {
        if t.trim().is_empty() {
            diag.error("upi_limits.category_tag", "must not be empty");
        } else {
            out.category_tag = t.clone();
        }
    }
    for (k, v) in &raw.categories {
        if let Some(p) = rupees(diag, &format!("upi_limits.categories.{k}"), v) {
            out.categories.insert(k.clone(), p);
        }
    }
    for (k, v) in &raw.routes {
        let path = format!("upi_limits.routes.{k}");
        if !route_names.contains(&k.as_str()) {
            diag.error(&path, format!("no route is named \"{k}\""));
            continue;
        }
        if let Some(p) = rupees(diag, &path, v) {
            out.routes.insert(k.clone(), p);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::load_str;

    const BASE: &str = "[[gateway]]\nname = \"g\"\nconnector = \"generic\"\nbase_url = \"http://127.0.0.1:9\"\n\
        [[route]]\nname = \"r\"\nsplit = [{ gateway = \"g\", weight = 1 }]\n";

    fn tags(c: &str) -> BTreeMap<String, String> {
        [("merchant_category".to_string(), c.to_string())].into()
    }

    #[test]
    fn caps_by_category_then_route_with_npci_defaults() {
        let s = load_str(BASE, "t.toml", &|_| None, 1).unwrap();
        let l = &s.upi_limits;
        assert_eq!(l.cap("r", &BTreeMap::new()), Paise(LAKH));
        assert_eq!(l.cap("r", &tags("insurance")), Paise(5 * LAKH));
        assert_eq!(l.cap("r", &tags("jewellery")), Paise(2 * LAKH));
        assert_eq!(l.cap("r", &tags("no_such")), Paise(LAKH));
        let text = format!(
            "{BASE}[upi_limits]\ndefault = 50000\ncategories = {{ jewellery = \"150000\" }}\nroutes = {{ r = \"400000\" }}\n"
        );
        let s = load_str(&text, "t.toml", &|_| None, 1).unwrap();
        assert_eq!(s.upi_limits.cap("other", &BTreeMap::new()), Paise(LAKH / 2));
        assert_eq!(
            s.upi_limits.cap("other", &tags("jewellery")),
            Paise(3 * LAKH / 2)
        );
        assert_eq!(s.upi_limits.cap("r", &tags("jewellery")), Paise(4 * LAKH));
    }

    #[test]
    fn bad_limits_are_reported() {
        let text = format!(
            "{BASE}[upi_limits]\ncategories = {{ tax = \"lots\" }}\nroutes = {{ nope = \"1\" }}\n"
        );
        let errs = load_str(&text, "t.toml", &|_| None, 1)
            .unwrap_err()
            .to_string();
        assert!(errs.contains("upi_limits.categories.tax"), "{errs}");
        assert!(errs.contains("upi_limits.routes.nope"), "{errs}");
    }
}
