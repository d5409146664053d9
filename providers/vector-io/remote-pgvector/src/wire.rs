//! Embeddings sent to PostgreSQL in pgvector's binary form (`vector_recv`: dimension, a zero,
//! then big-endian `float4`s), so neither side formats or parses floats as text on inserts.

use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::postgres::{PgArgumentBuffer, PgHasArrayType, PgTypeInfo};
use sqlx::{Encode, Postgres, Type};

/// One embedding as a `vector` parameter (an array of them binds as `vector[]`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Vector<'a>(pub &'a [f32]);

impl Type<Postgres> for Vector<'_> {
    fn type_info() -> PgTypeInfo {
        // Found by name on each connection (the extension's type has no fixed OID).
        PgTypeInfo::with_name("vector")
    }
}

impl PgHasArrayType for Vector<'_> {
    fn array_type_info() -> PgTypeInfo {
        PgTypeInfo::array_of("vector")
    }
}

impl Encode<'_, Postgres> for Vector<'_> {
    fn encode_by_ref(&self, buf: &mut PgArgumentBuffer) -> Result<IsNull, BoxDynError> {
        let dim = u16::try_from(self.0.len()).map_err(|_| format!("a vector of {} dimensions is too long for pgvector", self.0.len()))?;
        buf.reserve(4 + 4 * self.0.len());
        buf.extend_from_slice(&dim.to_be_bytes());
        buf.extend_from_slice(&0u16.to_be_bytes());
        for x in self.0 {
            buf.extend_from_slice(&x.to_be_bytes());
        }
        Ok(IsNull::No)
    }

    fn size_hint(&self) -> usize {
        4 + 4 * self.0.len()
    }
}
