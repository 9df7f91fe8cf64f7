/// Which sessions an operation may see or touch. Global admins (and the service token) act on
/// all; a tenant admin only on sessions of their own tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    All,
    Tenant(String),
}

impl Scope {
    pub fn tenant(&self) -> Option<&str> {
        match self {
            Scope::All => None,
            Scope::Tenant(t) => Some(t),
        }
    }
}
