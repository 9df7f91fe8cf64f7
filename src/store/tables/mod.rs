//! Everything that describes the tables: their names ([`schema`]), the `[schema]` mapping that
//! renames them ([`mapping`]), the column lists the queries select and how their rows are read
//! ([`rows`]), what the database reports about them ([`catalog`]), the start-up check
//! ([`check`]), the extra indexes ([`indexes`]) and opening a store with those checks
//! ([`startup`]).

pub mod catalog;
pub mod check;
pub mod indexes;
pub mod mapping;
pub mod rows;
pub mod schema;
pub mod startup;

pub use schema::{Schema, TenantColumn, q};
