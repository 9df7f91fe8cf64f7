//! Pure session logic: no I/O, no HTTP, time comes from an injected [`Clock`].

pub mod cleanup_plan;
pub mod clock;
pub mod cookie;
pub mod cookie_cache;
mod cookie_cache_jwe;
pub mod cursor;
pub mod device;
pub mod ending;
pub mod ids;
pub mod input;
pub mod ip;
pub mod limits;
pub mod model;
pub mod password;
pub mod policy;
pub mod rate_limit;
pub mod run;
pub mod scope;
pub mod session_status;
pub mod tenant_policy;
pub mod timefmt;
pub mod token;

pub use clock::{Clock, ManualClock, SystemClock};
pub use model::{NewUser, Session, SessionWithUser, User};
pub use policy::CleanupPolicy;
pub use scope::Scope;
