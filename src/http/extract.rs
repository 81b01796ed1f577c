//! axum's `Query` and `Path` extractors with their rejections in the API's JSON
//! error shape (`400 invalid_request`, the offending parameter as `field` when
//! axum names it), instead of axum's plain-text bodies: every answer matches
//! `docs/openapi.yaml`.

use axum::extract::FromRequestParts;

use super::error::ApiError;

/// `axum::extract::Query`, rejecting as [`ApiError::InvalidRequest`].
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct Query<T>(pub T);

/// `axum::extract::Path`, rejecting as [`ApiError::InvalidRequest`].
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct Path<T>(pub T);

/// The parameter a serde message names (`"after: invalid digit found in string"`).
pub(crate) fn field_of(message: &str) -> Option<String> {
    let tail = message.rsplit_once("string: ").map_or(message, |(_, t)| t);
    let (field, _) = tail.split_once(':')?;
    let field = field.trim();
    (!field.is_empty() && field.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
        .then(|| field.to_string())
}

#[cfg(test)]
mod tests {
    use super::field_of;

    #[test]
    fn names_the_parameter_when_serde_does() {
        assert_eq!(
            field_of("Failed to deserialize query string: after: invalid digit found in string")
                .as_deref(),
            Some("after")
        );
        assert_eq!(
            field_of("Failed to deserialize query string: expected a number"),
            None
        );
    }
}
