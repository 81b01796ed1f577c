//! The `cashfree` dialect (stub; being written).

use async_trait::async_trait;
use http::HeaderMap;

use super::{
    CallbackData, Connector, InitiateRequest, Outcome, ParseError, SignatureError, StatusReport,
    VerifyOptions,
};
use crate::config::{ConnectorKind, GatewaySpec};
use crate::upstream::{Upstream, UpstreamError};

pub struct Cashfree {
    #[allow(dead_code)]
    upstream: Upstream,
}

impl Cashfree {
    pub fn new(_spec: &GatewaySpec, upstream: Upstream) -> Self {
        Cashfree { upstream }
    }
}

#[async_trait]
impl Connector for Cashfree {
    fn kind(&self) -> ConnectorKind {
        ConnectorKind::Cashfree
    }

    async fn initiate(&self, _req: InitiateRequest<'_>) -> Outcome {
        Outcome::NotSent {
            detail: "not implemented".into(),
        }
    }

    async fn status(
        &self,
        _payment_id: &str,
        _gpid: Option<&str>,
    ) -> Result<StatusReport, UpstreamError> {
        Err(UpstreamError::NotSent("not implemented".into()))
    }

    fn verify_callback(
        &self,
        _h: &HeaderMap,
        _b: &[u8],
        _o: VerifyOptions,
    ) -> Result<(), SignatureError> {
        Err(SignatureError::NoSecret)
    }

    fn parse_callback(&self, _h: &HeaderMap, _b: &[u8]) -> Result<CallbackData, ParseError> {
        Err(ParseError::Malformed("not implemented".into()))
    }
}
