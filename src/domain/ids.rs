/// Better Auth's id and session-token alphabet (docs/better-auth-compat.md §1.6).
const ALPHABET: &[u8; 62] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

/// A random string of `len` characters from `[a-zA-Z0-9]`, drawn by rejection sampling over a
/// CSPRNG exactly as Better Auth's `generateId` does (accept a byte below 248, take it mod 62),
/// so every character is uniform.
pub fn generate_id(len: usize) -> String {
    let mut out = String::with_capacity(len);
    let mut buf = [0u8; 64];
    while out.len() < len {
        rand::fill(&mut buf[..]);
        for &b in &buf {
            if b < 248 {
                out.push(char::from(ALPHABET[usize::from(b % 62)]));
                if out.len() == len {
                    break;
                }
            }
        }
    }
    out
}

/// Ids and session tokens are 32 characters (docs/better-auth-compat.md §1.6).
pub fn new_id() -> String {
    generate_id(32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_32_alphanumerics_and_distinct() {
        let a = new_id();
        let b = new_id();
        assert_eq!(a.len(), 32);
        assert!(a.bytes().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(a, b);
    }
}
