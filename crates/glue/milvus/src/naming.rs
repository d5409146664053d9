//! Vector store id → Milvus collection name. Milvus takes letters, digits and underscores, a
//! letter or underscore first, at most 255 characters; ids may hold anything, so the name is the
//! id with every other character replaced, cut to length, plus a hash of the whole id (two ids
//! that sanitise alike, `vs-1` and `vs_1`, still get two collections).

/// Characters of the sanitised id kept in the name (the prefix and hash take the rest of 255).
const MAX_READABLE: usize = 200;

/// The collection of vector store `store_id`: `lls_<sanitised id>_<16 hex digits of FNV-1a 64>`.
pub fn collection_name(store_id: &str) -> String {
    let readable: String = store_id
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '_' })
        .take(MAX_READABLE)
        .collect();
    format!("lls_{readable}_{:016x}", fnv1a64(store_id.as_bytes()))
}

/// FNV-1a, 64 bits: stable across Rust versions and platforms (unlike `DefaultHasher`), which
/// matters because the name must be the same after a restart or on another server.
fn fnv1a64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid(name: &str) -> bool {
        let first = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
        first && name.len() <= 255 && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    }

    #[test]
    fn names_are_valid_stable_and_distinct() {
        let ids = ["vs_0f3c2e7a-1b2c-4d5e-8f90-123456789abc", "vs-1", "vs_1", "", "9 lives", "ünïcødé/🦙", &"x".repeat(1000)];
        let names: Vec<String> = ids.iter().map(|id| collection_name(id)).collect();
        for (id, name) in ids.iter().zip(&names) {
            assert!(valid(name), "{id:?} → {name:?}");
            assert_eq!(&collection_name(id), name, "not stable");
        }
        let mut unique = names.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), names.len(), "{names:?}");
        assert_eq!(collection_name("vs-1"), format!("lls_vs_1_{:016x}", fnv1a64(b"vs-1")));
    }

    #[test]
    fn fnv1a_matches_its_reference_values() {
        assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
    }
}
