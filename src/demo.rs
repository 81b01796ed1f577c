//! `switchyard demo` (being written).

use crate::commands::CommandError;

pub async fn run(_seconds: u64, _rate: u32) -> Result<(), CommandError> {
    Err(CommandError::Other("demo: not wired yet".into()))
}
