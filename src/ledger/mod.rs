//! The ledger: an embedded SQLite database in WAL mode holding payments (with the
//! five-field linkage), attempts, an append-only events/audit table and the
//! idempotency keys. One writer task owns the write connection and commits in
//! groups: every command waiting in its queue joins one transaction and one fsync.

mod types;

pub use types::*;

// TEMPORARY stub so the rest compiles until the SQLite ledger lands.
use std::path::Path;
#[derive(Clone, Default)]
pub struct Ledger;
pub struct LedgerOptions {
    pub group_commit_max: usize,
    pub synchronous_full: bool,
}
#[derive(Debug, Default, Clone, Copy)]
pub struct LedgerStats {
    pub commits: u64,
    pub writes: u64,
    pub max_batch: u64,
}
impl Ledger {
    pub fn open(_p: &Path, _o: LedgerOptions) -> Result<Ledger, LedgerError> {
        Ok(Ledger)
    }
    pub async fn begin(&self, _i: Intent) -> Result<Begin, LedgerError> {
        Ok(Begin::New)
    }
    pub async fn record_attempt_start(
        &self,
        _p: &str,
        _s: u32,
        _g: &str,
    ) -> Result<(), LedgerError> {
        Ok(())
    }
    pub async fn complete(&self, _c: Completion) -> Result<(), LedgerError> {
        Ok(())
    }
    pub async fn payment(&self, _p: &str) -> Result<Option<PaymentView>, LedgerError> {
        Ok(None)
    }
    pub async fn payments_by_order(&self, _o: &str) -> Result<Vec<PaymentView>, LedgerError> {
        Ok(vec![])
    }
    pub async fn ping(&self) -> Result<(), LedgerError> {
        Ok(())
    }
    pub async fn shutdown(&self) -> Result<(), LedgerError> {
        Ok(())
    }
    pub fn stats(&self) -> LedgerStats {
        LedgerStats::default()
    }
}
