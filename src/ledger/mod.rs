//! The ledger: an embedded SQLite database in WAL mode holding payments (with the
//! five-field linkage), attempts, an append-only events/audit table and the
//! idempotency keys. One writer task owns the write connection and commits in
//! groups: every command waiting in its queue joins one transaction and one fsync.

mod types;

pub use types::*;
