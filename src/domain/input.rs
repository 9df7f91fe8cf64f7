//! The one rule for text that a request hands to a query: bounded in bytes, and free of
//! control characters and of the invisible formatting characters that reorder or hide text.
//!
//! PostgreSQL refuses NUL in `text` (the query fails, which read as a database outage); SQLite
//! stores it, and a stored BEL or right-to-left override then misleads every log line, screen
//! and e-mail client that shows the value. Checking here, before any query, gives both stores
//! the same 400.

/// Names (sign-up, update-user). Better Auth sets no bound; 256 bytes is far above any real name.
pub const NAME_LEN: usize = 256;
/// An avatar URL.
pub const IMAGE_LEN: usize = 2048;
/// An e-mail address (RFC 5321's path limit).
pub const EMAIL_LEN: usize = 254;

/// Characters never accepted: C0 and C1 controls (NUL, BEL, ESC, DEL, ...), the bidirectional
/// embeddings, overrides and isolates, zero-width and word-joiner marks, and the byte-order mark.
pub fn forbidden(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{200B}'..='\u{200F}'
                | '\u{202A}'..='\u{202E}'
                | '\u{2060}'..='\u{2064}'
                | '\u{2066}'..='\u{2069}'
                | '\u{FEFF}'
        )
}

/// True when `s` holds a character [`forbidden`] refuses.
pub fn has_forbidden(s: &str) -> bool {
    s.chars().any(forbidden)
}

/// Why a value was refused, for the caller to name the field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    Empty,
    TooLong(usize),
    Characters,
}

impl Refused {
    /// `"{field} ..."`, the message of the 400.
    pub fn message(self, field: &str) -> String {
        match self {
            Refused::Empty => format!("{field} must not be empty"),
            Refused::TooLong(max) => format!("{field} is longer than {max} bytes"),
            Refused::Characters => {
                format!("{field} must not contain control or invisible formatting characters")
            }
        }
    }
}

/// Checks one non-empty value of at most `max` bytes.
pub fn check(s: &str, max: usize) -> Result<(), Refused> {
    if s.is_empty() {
        Err(Refused::Empty)
    } else if s.len() > max {
        Err(Refused::TooLong(max))
    } else if has_forbidden(s) {
        Err(Refused::Characters)
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_controls_overrides_and_length() {
        assert_eq!(check("ada@example.com", 254), Ok(()));
        assert_eq!(check("Zoë Ångström 李", 256), Ok(()));
        for bad in [
            "a\0b",
            "bell\u{7}",
            "evil\u{202E}gnp.exe",
            "x\u{85}",
            "\u{FEFF}x",
        ] {
            assert_eq!(check(bad, 256), Err(Refused::Characters), "{bad:?}");
        }
        assert_eq!(check("", 10), Err(Refused::Empty));
        assert_eq!(check(&"a".repeat(11), 10), Err(Refused::TooLong(10)));
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Whatever the text: accepted exactly when it is non-empty, within the bound and free
        /// of forbidden characters; and an accepted value never holds a control character.
        #[test]
        fn check_accepts_exactly_the_clean_bounded_values(s in any::<String>(), max in 1usize..64) {
            let verdict = check(&s, max);
            let expected = !s.is_empty() && s.len() <= max && !s.chars().any(forbidden);
            prop_assert_eq!(verdict.is_ok(), expected);
            if verdict.is_ok() {
                prop_assert!(!s.contains('\0') && !s.chars().any(char::is_control));
            }
        }

        /// Printable text passes; one forbidden character anywhere fails it.
        #[test]
        fn one_forbidden_character_anywhere_is_enough(
            head in "[a-zA-Z0-9 @.é李-]{0,20}",
            bad in prop::sample::select(vec!['\0', '\u{7}', '\u{1b}', '\u{7f}', '\u{85}', '\u{202e}', '\u{2066}', '\u{200b}', '\u{feff}']),
            tail in "[a-zA-Z0-9 @.é李-]{0,20}",
        ) {
            prop_assert!(head.is_empty() || check(&head, 256).is_ok());
            let s = format!("{head}{bad}{tail}");
            prop_assert_eq!(check(&s, 256), Err(Refused::Characters));
        }
    }
}
