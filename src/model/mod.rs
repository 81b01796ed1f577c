//! Domain types: money, identifiers, VPAs, payment vocabulary; scrubbing outside
//! text before it is logged and throttling lines an outsider can trigger.

pub mod event;
mod ids;
mod money;
mod payment;
mod scrub;
mod secret;
mod throttle;
mod vpa;

pub use event::{
    Flags, Incoming, MIN_SHORT_REFUND_ID, OrderAction, PaymentEvent, RefundInfo, event_id,
};
pub use ids::{new_payment_id, valid_idempotency_key, valid_order_id};
pub use money::{Currency, MoneyError, Paise};
pub use payment::{Customer, FormPost, Method, NextAction, PaymentRequest, PaymentStatus, Reason};
pub use scrub::scrub;
pub use secret::Secret;
pub use throttle::Throttle;
pub use vpa::{InvalidVpa, Vpa, mask_phone, mask_vpa};
