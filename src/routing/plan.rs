//! Turning a request into an ordered list of gateways to try.

use crate::model::PaymentRequest;
use crate::routing::GatewayIdx;

use super::Route;

/// Which route matched and the gateways to try, in order (primary first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub route: usize,
    pub gateways: Vec<GatewayIdx>,
}

/// The first route whose matcher accepts `req`; its sticky pick among the split
/// gateways `available(route, gateway)` admits, then its admitted fallbacks (no
/// gateway twice). `Err(route)`
/// names the route that matched when nothing in it is available; `Ok(None)` means no
/// route matched.
pub fn plan(
    routes: &[Route],
    req: &PaymentRequest,
    hash: u64,
    available: impl Fn(usize, GatewayIdx) -> bool + Copy,
) -> Result<Option<Plan>, usize> {
    let Some((ri, route)) = routes
        .iter()
        .enumerate()
        .find(|(_, r)| r.matcher.matches(req))
    else {
        return Ok(None);
    };
    let mut gateways = Vec::with_capacity(1 + route.fallback.len());
    if let Some(g) = route.split.pick(hash, |g| available(ri, g)) {
        gateways.push(g);
    }
    for &g in &route.fallback {
        if available(ri, g) && !gateways.contains(&g) {
            gateways.push(g);
        }
    }
    if gateways.is_empty() {
        return Err(ri);
    }
    Ok(Some(Plan {
        route: ri,
        gateways,
    }))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::model::{Currency, Customer, Method, Paise};
    use crate::routing::{Matcher, SplitEntry, SplitTable, sticky_hash};

    fn req(method: Method, amount: i64, tags: &[(&str, &str)]) -> PaymentRequest {
        PaymentRequest {
            order_id: "ord_1".into(),
            amount: Paise(amount),
            currency: Currency::Inr,
            method,
            vpa: None,
            customer: Customer::default(),
            description: None,
            tags: tags
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            metadata: None,
        }
    }

    fn route(name: &str, matcher: Matcher, split: &[(usize, u32)], fallback: &[usize]) -> Route {
        Route {
            name: name.into(),
            matcher,
            split: SplitTable::new(
                split
                    .iter()
                    .map(|&(gateway, weight)| SplitEntry { gateway, weight })
                    .collect(),
            )
            .unwrap(),
            fallback: fallback.to_vec(),
            ramps: Vec::new(),
        }
    }

    fn routes() -> Vec<Route> {
        vec![
            route(
                "vip",
                Matcher {
                    tags: BTreeMap::from([("tier".into(), "vip".into())]),
                    ..Default::default()
                },
                &[(2, 1)],
                &[],
            ),
            route(
                "upi-large",
                Matcher {
                    methods: vec![Method::UpiCollect, Method::UpiIntent],
                    min_amount: Some(Paise(1_000_000)),
                    ..Default::default()
                },
                &[(1, 1)],
                &[0],
            ),
            route("default", Matcher::default(), &[(0, 90), (1, 10)], &[1, 2]),
        ]
    }

    #[test]
    fn rules_pick_the_right_route() {
        let r = routes();
        let p = |rq: &PaymentRequest| plan(&r, rq, 7, |_, _| true).unwrap().unwrap();
        assert_eq!(p(&req(Method::Card, 100, &[("tier", "vip")])).route, 0);
        assert_eq!(p(&req(Method::UpiIntent, 1_000_000, &[])).route, 1);
        assert_eq!(p(&req(Method::UpiIntent, 999_999, &[])).route, 2);
        assert_eq!(p(&req(Method::Card, 1_000_000, &[])).route, 2);
        assert_eq!(p(&req(Method::Card, 100, &[("tier", "gold")])).route, 2);
    }

    #[test]
    fn no_route_matches() {
        let r = vec![route(
            "cards",
            Matcher {
                methods: vec![Method::Card],
                ..Default::default()
            },
            &[(0, 1)],
            &[],
        )];
        assert_eq!(
            plan(&r, &req(Method::UpiQr, 1, &[]), 1, |_, _| true),
            Ok(None)
        );
    }

    #[test]
    fn unavailable_primary_is_skipped_for_fallback() {
        let r = routes();
        let rq = req(Method::UpiIntent, 1_000_000, &[]);
        let p = plan(&r, &rq, sticky_hash("x"), |_, g| g != 1)
            .unwrap()
            .unwrap();
        assert_eq!(p.gateways, vec![0]);
        let p = plan(&r, &rq, sticky_hash("x"), |_, _| true)
            .unwrap()
            .unwrap();
        assert_eq!(p.gateways, vec![1, 0]);
        assert_eq!(plan(&r, &rq, 1, |_, _| false), Err(1));
    }

    #[test]
    fn fallback_never_repeats_the_primary() {
        let r = routes();
        let rq = req(Method::Card, 500, &[]);
        for i in 0..200 {
            let p = plan(&r, &rq, sticky_hash(&format!("o{i}")), |_, _| true)
                .unwrap()
                .unwrap();
            let mut seen = p.gateways.clone();
            seen.sort();
            seen.dedup();
            assert_eq!(seen.len(), p.gateways.len());
        }
    }
}
