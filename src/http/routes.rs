//! The one table of every HTTP route switchyard serves: listener, method, path
//! template (axum's `{param}` syntax, the same as OpenAPI's) and who may call it.
//!
//! The routers in [`super::router`] and [`super::admin::router`] register these
//! routes; `tests/openapi_routes.rs` checks three things stay equal: this table,
//! the `.route(...)` calls in `src/http/`, and the paths of `docs/openapi.yaml`.
//! Adding a route means one line here, its `.route(...)` call, and its operation
//! in the spec.

/// Which listener serves a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listener {
    /// `[server] listen`: payments, callbacks, probes, metrics.
    Public,
    /// `[admin] listen`: behind the admin token.
    Admin,
}

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Auth {
    /// Anyone who can reach the listener.
    None,
    /// A gateway, proven by the callback's signature.
    Signature,
    /// `Authorization: Bearer <admin token>`.
    AdminToken,
    /// The admin token (bearer or Basic password), or nobody with
    /// `[admin] status_public = true`.
    AdminTokenOrPublic,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    pub listener: Listener,
    pub method: &'static str,
    pub path: &'static str,
    pub auth: Auth,
    /// The OpenAPI `operationId`.
    pub operation_id: &'static str,
}

const fn public(method: &'static str, path: &'static str, auth: Auth, op: &'static str) -> Route {
    Route {
        listener: Listener::Public,
        method,
        path,
        auth,
        operation_id: op,
    }
}

const fn admin(method: &'static str, path: &'static str, op: &'static str) -> Route {
    Route {
        listener: Listener::Admin,
        method,
        path,
        auth: Auth::AdminToken,
        operation_id: op,
    }
}

/// Every route, public listener first.
pub const ROUTES: &[Route] = &[
    public("POST", "/v1/payments", Auth::None, "createPayment"),
    public("GET", "/v1/payments", Auth::None, "listPayments"),
    public("GET", "/v1/payments/{payment_id}", Auth::None, "getPayment"),
    public(
        "POST",
        "/v1/payments/{payment_id}/refunds",
        Auth::None,
        "createRefund",
    ),
    public(
        "GET",
        "/v1/payments/{payment_id}/refunds",
        Auth::None,
        "listRefunds",
    ),
    public(
        "GET",
        "/v1/payments/{payment_id}/refunds/{refund_id}",
        Auth::None,
        "getRefund",
    ),
    public(
        "POST",
        "/v1/callbacks/{gateway}",
        Auth::Signature,
        "ingestCallback",
    ),
    public("GET", "/healthz", Auth::None, "healthz"),
    public("GET", "/readyz", Auth::None, "readyz"),
    public("GET", "/metrics", Auth::None, "metrics"),
    admin("GET", "/admin/gateways", "listGateways"),
    admin("GET", "/admin/routes", "listRoutes"),
    admin("GET", "/admin/incidents", "listIncidents"),
    admin("POST", "/admin/gateways/{name}/{action}", "actOnGateway"),
    admin("POST", "/admin/reload", "reloadConfig"),
    admin("GET", "/admin/config", "showConfig"),
    admin("GET", "/admin/dead-letters", "listDeadLetters"),
    admin("GET", "/admin/orphans", "listOrphans"),
    Route {
        listener: Listener::Admin,
        method: "GET",
        path: "/status",
        auth: Auth::AdminTokenOrPublic,
        operation_id: "statusPage",
    },
];

/// The routes of one listener.
pub fn of(listener: Listener) -> impl Iterator<Item = &'static Route> {
    ROUTES.iter().filter(move |r| r.listener == listener)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_route_is_listed_twice_and_operation_ids_are_unique() {
        let mut seen = std::collections::BTreeSet::new();
        let mut ops = std::collections::BTreeSet::new();
        for r in ROUTES {
            assert!(
                seen.insert((r.method, r.path)),
                "{} {} twice",
                r.method,
                r.path
            );
            assert!(ops.insert(r.operation_id), "{} twice", r.operation_id);
            assert!(r.path.starts_with('/'));
        }
        assert_eq!(
            of(Listener::Public).count() + of(Listener::Admin).count(),
            ROUTES.len()
        );
    }
}
