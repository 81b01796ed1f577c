//! What a gateway's hosted page answers the customer's browser, as the twins
//! answer it: after a form post that completes the payment, an HTML page that
//! posts the signed result to the merchant's return URL (PayU `surl` / `furl`,
//! Paytm `callbackUrl`); a forged or incomplete form is refused with 400 and the
//! gateway's words. The twin has no payment page to fill in: posting the form is
//! the customer paying.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::connectors::form::Form;

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn html(status: StatusCode, body: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        body,
    )
        .into_response()
}

/// 400 with the gateway's error text, as its hosted page shows a refused form.
pub(super) fn refused(reason: &str) -> Response {
    html(
        StatusCode::BAD_REQUEST,
        format!(
            "<!doctype html><html><body><h1>Error</h1><p id=\"error\">{}</p></body></html>",
            escape(reason)
        ),
    )
}

/// 200 with a page that posts `body` (a form-urlencoded, signed result) to
/// `action` from the browser; a page without a form when there is no return URL.
pub(super) fn returns_to(action: &str, body: &[u8]) -> Response {
    let inputs: String = Form::parse(body)
        .0
        .iter()
        .map(|(k, v)| {
            format!(
                "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
                escape(k),
                escape(v)
            )
        })
        .collect();
    let page = if action.is_empty() {
        format!("<!doctype html><html><body><p>Payment processed.</p>{inputs}</body></html>")
    } else {
        format!(
            "<!doctype html><html><body onload=\"document.forms[0].submit()\">\
             <form method=\"post\" action=\"{}\">{inputs}</form></body></html>",
            escape(action)
        )
    };
    html(StatusCode::OK, page)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_and_action_are_escaped() {
        assert_eq!(
            escape(r#"<a href="x">&'"#),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
        assert_eq!(
            returns_to("https://m/r?a=1&b=2", b"k=%3Cv%3E").status(),
            200
        );
        assert_eq!(refused("Invalid Hash").status(), 400);
    }
}
