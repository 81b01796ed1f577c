//! Domain types: money, identifiers, VPAs, payment vocabulary.

pub mod event;
mod ids;
mod money;
mod payment;
mod secret;
mod vpa;

pub use event::{Flags, Incoming, OrderAction, PaymentEvent, RefundInfo, event_id};
pub use ids::{new_payment_id, valid_idempotency_key, valid_order_id};
pub use money::{Currency, MoneyError, Paise};
pub use payment::{Customer, Method, NextAction, PaymentRequest, PaymentStatus, Reason};
pub use secret::Secret;
pub use vpa::{InvalidVpa, Vpa, mask_phone, mask_vpa};
