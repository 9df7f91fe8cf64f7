//! Lifecycle events as receivers see them.

use crate::domain::timefmt;
use crate::store::outbox::OutboxRow;
use serde_json::{Value, json};

/// The JSON body of an event: `{type, timestamp, data}`. Never a token: `session.ended` is
/// read from the record's columns, the others were written without one.
pub fn body(row: &OutboxRow) -> Value {
    let data = match row.event_type.as_str() {
        "session.ended" => json!({
            "sessionId": row.session_id,
            "userId": row.user_id,
            "tenantId": row.tenant_id,
            "reason": row.reason,
            "actor": row.actor,
            "endedAt": timefmt::format(row.occurred_at),
        }),
        _ => row
            .data
            .as_deref()
            .and_then(|d| serde_json::from_str(d).ok())
            .unwrap_or(Value::Null),
    };
    json!({
        "type": row.event_type,
        "timestamp": timefmt::format(row.occurred_at),
        "data": data,
    })
}
