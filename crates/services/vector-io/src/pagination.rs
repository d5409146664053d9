//! Cursor pages over an ordered list, as 0.3.5 cuts them: `after`/`before` name ids in the list
//! (an unknown id is ignored), then `limit` items are taken.

use lls_api_common::Result;
use lls_api_vector_io::{ListPage, ListQuery};

/// Where `first_id`/`last_id` come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Bounds {
    /// The page's first and last items.
    Page,
    /// The first and last items after the cursors, before `limit` cuts them (0.3.5's list of a
    /// store's files does this, and its tests check it).
    Window,
}

/// One page of `items` (already sorted).
pub(crate) fn paginate<T>(items: Vec<T>, id: impl Fn(&T) -> &str, query: &ListQuery, bounds: Bounds) -> Result<ListPage<T>> {
    let limit = query.limit()?;
    let mut items = items;
    if let Some(after) = &query.after
        && let Some(i) = items.iter().position(|t| id(t) == after)
    {
        items.drain(..=i);
    }
    if let Some(before) = &query.before
        && let Some(i) = items.iter().position(|t| id(t) == before)
    {
        items.truncate(i);
    }
    let has_more = items.len() > limit;
    let (window_first, window_last) =
        (items.first().map(|t| id(t).to_owned()), items.last().map(|t| id(t).to_owned()));
    items.truncate(limit);
    let (first_id, last_id) = match bounds {
        Bounds::Window => (window_first, window_last),
        Bounds::Page => (items.first().map(|t| id(t).to_owned()), items.last().map(|t| id(t).to_owned())),
    };
    Ok(ListPage::new(items, first_id, last_id, has_more))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(limit: usize, after: Option<&str>, before: Option<&str>) -> ListQuery {
        ListQuery { limit: Some(limit), order: None, after: after.map(Into::into), before: before.map(Into::into) }
    }

    fn ids() -> Vec<String> {
        ["a", "b", "c", "d"].map(String::from).to_vec()
    }

    #[test]
    fn cursors_and_limit() {
        let p = paginate(ids(), |s| s, &q(2, None, None), Bounds::Page).unwrap();
        assert_eq!((p.data.clone(), p.has_more, p.last_id.as_deref()), (vec!["a".to_string(), "b".into()], true, Some("b")));
        let p = paginate(ids(), |s| s, &q(2, Some("b"), None), Bounds::Page).unwrap();
        assert_eq!((p.data, p.has_more), (vec!["c".to_string(), "d".into()], false));
        let p = paginate(ids(), |s| s, &q(5, Some("a"), Some("d")), Bounds::Page).unwrap();
        assert_eq!(p.data, vec!["b".to_string(), "c".into()]);
        let p = paginate(ids(), |s| s, &q(5, Some("zz"), None), Bounds::Page).unwrap();
        assert_eq!(p.data.len(), 4);
    }

    #[test]
    fn window_bounds_span_past_the_limit() {
        let p = paginate(ids(), |s| s, &q(2, None, None), Bounds::Window).unwrap();
        assert_eq!((p.first_id.as_deref(), p.last_id.as_deref()), (Some("a"), Some("d")));
        let empty = paginate(Vec::<String>::new(), |s| s, &q(2, None, None), Bounds::Window).unwrap();
        assert_eq!((empty.first_id, empty.has_more), (None, false));
    }
}
