//! State precedence (DESIGN.md section 4): which incoming status may move a
//! payment's current status. Pure; the ledger applies the decision.
//!
//! - Non-final states move anywhere (except back to `initiated`/`unknown`).
//! - `failed`/`expired`/`cancelled` may move to `succeeded` (late success, flagged)
//!   and to the money-return states.
//! - `succeeded` moves to `reversed`/`refunded`/`partially_refunded`; a partial
//!   refund moves on to more refunding.
//! - A final state contradicted by another final state (success then failed) is
//!   never downgraded: the event is a `conflict`.
//! - Anything else (an older progress event such as `authorized` after `succeeded`,
//!   or the same status again) changes nothing.

use crate::model::PaymentStatus;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Move to the incoming status.
    Apply { late_success: bool },
    /// Keep the current status; nothing to forward.
    Unchanged,
    /// Keep the current status; store and forward the event flagged `conflict`.
    Conflict,
}

fn failed_like(s: PaymentStatus) -> bool {
    matches!(
        s,
        PaymentStatus::Failed | PaymentStatus::Expired | PaymentStatus::Cancelled
    )
}

fn money_returned(s: PaymentStatus) -> bool {
    matches!(
        s,
        PaymentStatus::Reversed | PaymentStatus::Refunded | PaymentStatus::PartiallyRefunded
    )
}

pub fn decide(current: PaymentStatus, incoming: PaymentStatus) -> Decision {
    use PaymentStatus as S;
    if incoming == current && incoming != S::PartiallyRefunded {
        return Decision::Unchanged;
    }
    if matches!(incoming, S::Initiated | S::Unknown) {
        return Decision::Unchanged;
    }
    if !current.is_final() {
        return Decision::Apply {
            late_success: false,
        };
    }
    match (current, incoming) {
        (c, S::Succeeded) if failed_like(c) => Decision::Apply { late_success: true },
        (c, i) if failed_like(c) && money_returned(i) => Decision::Apply {
            late_success: false,
        },
        (S::Succeeded | S::PartiallyRefunded, i) if money_returned(i) => Decision::Apply {
            late_success: false,
        },
        (c, i) if (c == S::Succeeded || money_returned(c)) && failed_like(i) => Decision::Conflict,
        _ => Decision::Unchanged,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use PaymentStatus as S;

    const APPLY: Decision = Decision::Apply {
        late_success: false,
    };

    #[test]
    fn non_final_moves_anywhere_but_back() {
        assert_eq!(decide(S::Initiated, S::Pending), APPLY);
        assert_eq!(decide(S::Pending, S::Failed), APPLY);
        assert_eq!(decide(S::Deemed, S::Succeeded), APPLY);
        assert_eq!(decide(S::Unknown, S::Succeeded), APPLY);
        assert_eq!(decide(S::Pending, S::Unknown), Decision::Unchanged);
        assert_eq!(decide(S::Pending, S::Pending), Decision::Unchanged);
    }

    #[test]
    fn late_success_and_conflict() {
        assert_eq!(
            decide(S::Failed, S::Succeeded),
            Decision::Apply { late_success: true }
        );
        assert_eq!(
            decide(S::Expired, S::Succeeded),
            Decision::Apply { late_success: true }
        );
        assert_eq!(decide(S::Succeeded, S::Failed), Decision::Conflict);
        assert_eq!(decide(S::Refunded, S::Expired), Decision::Conflict);
        assert_eq!(decide(S::Succeeded, S::Authorized), Decision::Unchanged);
        assert_eq!(decide(S::Failed, S::Expired), Decision::Unchanged);
    }

    #[test]
    fn money_returns_after_success() {
        assert_eq!(decide(S::Succeeded, S::Refunded), APPLY);
        assert_eq!(decide(S::Succeeded, S::Reversed), APPLY);
        assert_eq!(decide(S::PartiallyRefunded, S::PartiallyRefunded), APPLY);
        assert_eq!(decide(S::Refunded, S::Succeeded), Decision::Unchanged);
    }
}
