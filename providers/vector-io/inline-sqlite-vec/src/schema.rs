//! The database layout: one registry table naming every vector store, and per store three
//! tables keyed by the same integer row id — chunks (JSON), vectors (`vec0`) and text (FTS5).
//!
//! Tables are named by the store's registry key, not its id, so any id is safe and two ids can
//! never map to one table; keys are never reused (`AUTOINCREMENT`).

/// Every vector store: its key (naming its tables), id, embedding model and dimension.
pub(crate) const CREATE_REGISTRY: &str = "CREATE TABLE IF NOT EXISTS lls_sqlite_vec_stores (
    store_key INTEGER PRIMARY KEY AUTOINCREMENT,
    vector_store_id TEXT NOT NULL UNIQUE,
    embedding_model TEXT NOT NULL,
    dimension INTEGER NOT NULL
)";

pub(crate) const LIST_STORES: &str = "SELECT vector_store_id, store_key, dimension FROM lls_sqlite_vec_stores";

pub(crate) const INSERT_STORE: &str =
    "INSERT INTO lls_sqlite_vec_stores (vector_store_id, embedding_model, dimension) VALUES (?, ?, ?) RETURNING store_key";

pub(crate) const DELETE_STORE: &str = "DELETE FROM lls_sqlite_vec_stores WHERE store_key = ?";

/// sqlite-vec's limit on a vector's length.
pub(crate) const MAX_DIMENSION: usize = 8192;

/// sqlite-vec's limit on `k` in a `vec0` KNN query; larger `k` scans with `vec_distance_l2`.
pub(crate) const KNN_MAX_K: usize = 4096;

/// Rows written per multi-row statement: 2 parameters each, far under SQLite's variable limit.
pub(crate) const BATCH_ROWS: usize = 500;

/// The three tables of one store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Tables {
    /// `row INTEGER PRIMARY KEY, id TEXT UNIQUE, chunk TEXT` (the chunk as JSON). `row` is an
    /// explicit alias of the rowid, so `VACUUM` cannot renumber it under the other two tables.
    pub chunks: String,
    /// `vec0(embedding float[dim])`, rowid = `chunks.row`.
    pub vectors: String,
    /// `fts5(content)`, rowid = `chunks.row`: the chunk's text for keyword search.
    pub text: String,
}

impl Tables {
    pub(crate) fn for_key(key: i64) -> Self {
        Tables {
            chunks: format!("lls_vs_{key}_chunks"),
            vectors: format!("lls_vs_{key}_vectors"),
            text: format!("lls_vs_{key}_text"),
        }
    }

    pub(crate) fn create(&self, dimension: usize) -> [String; 3] {
        [
            format!(r#"CREATE TABLE "{}" (row INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, chunk TEXT NOT NULL)"#, self.chunks),
            format!(r#"CREATE VIRTUAL TABLE "{}" USING vec0(embedding float[{dimension}])"#, self.vectors),
            format!(r#"CREATE VIRTUAL TABLE "{}" USING fts5(content)"#, self.text),
        ]
    }

    pub(crate) fn drop(&self) -> [String; 3] {
        [&self.vectors, &self.text, &self.chunks].map(|t| format!(r#"DROP TABLE IF EXISTS "{t}""#))
    }

    /// The rows of the chunks with these ids (one `?` per id).
    pub(crate) fn select_rows(&self, n: usize) -> String {
        format!(r#"SELECT row FROM "{}" WHERE id IN ({})"#, self.chunks, placeholders(n, "?"))
    }

    pub(crate) fn delete_chunk_rows(&self, n: usize) -> String {
        format!(r#"DELETE FROM "{}" WHERE row IN ({})"#, self.chunks, placeholders(n, "?"))
    }

    pub(crate) fn delete_vector(&self) -> String {
        format!(r#"DELETE FROM "{}" WHERE rowid = ?"#, self.vectors)
    }

    pub(crate) fn delete_text(&self) -> String {
        format!(r#"DELETE FROM "{}" WHERE rowid = ?"#, self.text)
    }

    pub(crate) fn insert_chunks(&self, n: usize) -> String {
        format!(r#"INSERT INTO "{}" (id, chunk) VALUES {} RETURNING row, id"#, self.chunks, placeholders(n, "(?, ?)"))
    }

    pub(crate) fn insert_vectors(&self, n: usize) -> String {
        format!(r#"INSERT INTO "{}" (rowid, embedding) VALUES {}"#, self.vectors, placeholders(n, "(?, ?)"))
    }

    pub(crate) fn insert_text(&self, n: usize) -> String {
        format!(r#"INSERT INTO "{}" (rowid, content) VALUES {}"#, self.text, placeholders(n, "(?, ?)"))
    }

    /// KNN through the `vec0` index: the `k` nearest by L2 distance (`k` ≤ [`KNN_MAX_K`]).
    pub(crate) fn knn(&self) -> String {
        format!(
            r#"WITH knn AS (SELECT rowid, distance FROM "{}" WHERE embedding MATCH ? AND k = ?)
               SELECT c.id, c.chunk, knn.distance FROM knn JOIN "{}" c ON c.row = knn.rowid ORDER BY knn.distance"#,
            self.vectors, self.chunks
        )
    }

    /// Exhaustive L2 scan, for `k` beyond what `vec0` answers.
    pub(crate) fn scan(&self) -> String {
        format!(
            r#"SELECT c.id, c.chunk, vec_distance_l2(v.embedding, ?) AS distance
               FROM "{}" v JOIN "{}" c ON c.row = v.rowid ORDER BY distance LIMIT ?"#,
            self.vectors, self.chunks
        )
    }

    /// FTS5 matches, best first; `bm25()` is negative, more negative for better matches.
    pub(crate) fn keyword(&self) -> String {
        format!(
            r#"SELECT c.id, c.chunk, bm25("{t}") AS rank FROM "{t}" JOIN "{c}" c ON c.row = "{t}".rowid
               WHERE "{t}" MATCH ? ORDER BY rank LIMIT ?"#,
            t = self.text,
            c = self.chunks
        )
    }
}

fn placeholders(n: usize, one: &str) -> String {
    vec![one; n].join(", ")
}

/// An FTS5 query matching any word of `text`: each word quoted (so `AND`, `*`, `"` or `:` in
/// user text are never query syntax) and joined with `OR`, letting bm25 rank chunks by how many
/// and how rare the words they contain are. `None` when `text` has no words.
pub(crate) fn fts_query(text: &str) -> Option<String> {
    let mut seen = std::collections::HashSet::new();
    let words: Vec<&str> = text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty() && seen.insert(*w)).collect();
    (!words.is_empty()).then(|| words.iter().map(|w| format!("\"{w}\"")).collect::<Vec<_>>().join(" OR "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_text_becomes_quoted_words_joined_by_or() {
        assert_eq!(fts_query("llama").as_deref(), Some(r#""llama""#));
        assert_eq!(fts_query(r#"what "about" AND (x)? llama's"#).as_deref(), Some(r#""what" OR "about" OR "AND" OR "x" OR "llama" OR "s""#));
        assert_eq!(fts_query(" * : ^ - "), None);
    }

    #[test]
    fn table_names_come_from_the_key_only() {
        let t = Tables::for_key(7);
        assert_eq!((t.chunks.as_str(), t.vectors.as_str(), t.text.as_str()), ("lls_vs_7_chunks", "lls_vs_7_vectors", "lls_vs_7_text"));
        assert_eq!(t.insert_vectors(2), r#"INSERT INTO "lls_vs_7_vectors" (rowid, embedding) VALUES (?, ?), (?, ?)"#);
    }
}
