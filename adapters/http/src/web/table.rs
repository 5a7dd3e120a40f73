//! Search, column sorting and pagination of the pages' tables, server-side and script-free: the
//! state is in the query string (`q`, `sort`, `dir`, `page`), so a sorted, searched page is a link
//! one can bookmark or send, and the downloads take the same search and order (all pages).

use std::cmp::Ordering;
use std::collections::HashMap;

use maud::{html, Markup};
use roster_domain::error::Refusal;

use super::Viewer;

/// Rows per page.
pub(crate) const PER_PAGE: usize = 50;

/// What a table shows: the search text, the column sorted on and its direction, the page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct View {
    pub q: Option<String>,
    pub sort: Option<&'static str>,
    pub desc: bool,
    pub page: usize,
}

/// A sort key: text in the reader's order (Unicode), numbers and dates by value; blanks last.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Key {
    Num(i64),
    Text(String),
    Blank,
}

impl Key {
    /// A date, blank when there is none (sorted last either way).
    pub(crate) fn day(d: Option<chrono::NaiveDate>) -> Key {
        d.map_or(Key::Blank, |d| {
            Key::Num(chrono::Datelike::num_days_from_ce(&d).into())
        })
    }
}

impl View {
    /// The view from the query; `columns` are the keys a table may be sorted on. An unknown
    /// column or a page that is not a number is refused by name.
    pub(crate) fn of(
        params: &HashMap<String, String>,
        columns: &[&'static str],
    ) -> Result<View, Refusal> {
        let sort = match params.get("sort") {
            None => None,
            Some(s) => Some(*columns.iter().find(|c| **c == s.as_str()).ok_or_else(|| {
                Refusal::invalid(
                    "sort",
                    format!("cannot sort on '{s}'; one of {}", columns.join(", ")),
                )
                .zh(format!("不能按“{s}”排序"))
            })?),
        };
        let desc = match params.get("dir").map(String::as_str) {
            None | Some("asc") => false,
            Some("desc") => true,
            Some(d) => {
                return Err(
                    Refusal::invalid("dir", format!("dir '{d}' is neither asc nor desc"))
                        .zh("排序方向只能是升序或降序"),
                )
            }
        };
        let page = match params.get("page") {
            None => 1,
            Some(p) => p.parse::<usize>().ok().filter(|p| *p >= 1).ok_or_else(|| {
                Refusal::invalid("page", format!("page '{p}' is not 1, 2, …"))
                    .zh(format!("页码“{p}”不是 1、2、……"))
            })?,
        };
        Ok(View {
            q: params
                .get("q")
                .map(|q| q.trim().to_lowercase())
                .filter(|q| !q.is_empty()),
            sort,
            desc,
            page,
        })
    }

    /// The rows that match the search (every word, in any of the row's texts), in the chosen
    /// order (stable: ties keep the table's own order).
    pub(crate) fn select<T>(
        &self,
        mut rows: Vec<T>,
        text: impl Fn(&T) -> String,
        key: impl Fn(&T, &str) -> Key,
    ) -> Vec<T> {
        if let Some(q) = &self.q {
            let words: Vec<&str> = q.split_whitespace().collect();
            rows.retain(|r| {
                let t = text(r).to_lowercase();
                words.iter().all(|w| t.contains(w))
            });
        }
        if let Some(col) = self.sort {
            rows.sort_by(|a, b| {
                let (ka, kb) = (key(a, col), key(b, col));
                match (&ka, &kb) {
                    (Key::Blank, Key::Blank) => Ordering::Equal,
                    (Key::Blank, _) => Ordering::Greater,
                    (_, Key::Blank) => Ordering::Less,
                    _ if self.desc => kb.cmp(&ka),
                    _ => ka.cmp(&kb),
                }
            });
        }
        rows
    }

    /// The rows of the current page, and the number of pages (at least 1).
    pub(crate) fn page_of<'a, T>(&self, rows: &'a [T]) -> (&'a [T], usize) {
        let pages = rows.len().div_ceil(PER_PAGE).max(1);
        let page = self.page.min(pages);
        let from = (page - 1) * PER_PAGE;
        (
            &rows[from.min(rows.len())..(from + PER_PAGE).min(rows.len())],
            pages,
        )
    }
}

/// The query string of the page with `changes` applied (a value of `None` removes the key).
fn link(
    base: &str,
    params: &HashMap<String, String>,
    changes: &[(&str, Option<String>)],
) -> String {
    let mut p = params.clone();
    for (k, v) in changes {
        match v {
            Some(v) => {
                p.insert(k.to_string(), v.clone());
            }
            None => {
                p.remove(*k);
            }
        }
    }
    format!("{base}?{}", super::pages::query_string(&p))
}

/// A column header that sorts the table on `key` (again: the other way), with an arrow on the
/// column sorted on.
pub(crate) fn th(
    v: &Viewer,
    base: &str,
    params: &HashMap<String, String>,
    view: &View,
    key: &'static str,
    label: (&str, &str),
) -> Markup {
    let on = view.sort == Some(key);
    let next_desc = on && !view.desc;
    let href = link(
        base,
        params,
        &[
            ("sort", Some(key.to_string())),
            (
                "dir",
                Some(if next_desc { "desc" } else { "asc" }.to_string()),
            ),
            ("page", None),
        ],
    );
    let arrow = match (on, view.desc) {
        (false, _) => "",
        (true, false) => " ▲",
        (true, true) => " ▼",
    };
    html! {
        th aria-sort=[on.then_some(if view.desc { "descending" } else { "ascending" })] {
            a.sort href=(href) data-sort=(key) { (v.t(label.0, label.1)) (arrow) }
        }
    }
}

/// The search box (inside the page's filter form).
pub(crate) fn search(v: &Viewer, view: &View) -> Markup {
    html! {
        label { (v.t("搜索", "Search"))
            input type="search" name="q" id="q" value=[view.q.as_deref()] placeholder=(v.t("名称、单位、信用代码…", "name, unit, USCC…"));
        }
        @if let Some(s) = view.sort {
            input type="hidden" name="sort" value=(s);
            input type="hidden" name="dir" value=(if view.desc { "desc" } else { "asc" });
        }
    }
}

/// Previous/next links and "page x of y" under a table.
pub(crate) fn pager(
    v: &Viewer,
    base: &str,
    params: &HashMap<String, String>,
    view: &View,
    pages: usize,
    total: usize,
) -> Markup {
    let page = view.page.min(pages);
    html! {
        nav.pager aria-label=(v.t("分页", "Pages")) {
            @if page > 1 {
                a href=(link(base, params, &[("page", Some((page - 1).to_string()))])) rel="prev" id="prev-page" { (v.t("‹ 上一页", "‹ Previous")) }
            }
            span id="page-of" { (v.t("第 ", "Page ")) (page) " / " (pages) (v.t(" 页", "")) " · " (total) (v.t(" 条", " rows")) }
            @if page < pages {
                a href=(link(base, params, &[("page", Some((page + 1).to_string()))])) rel="next" id="next-page" { (v.t("下一页 ›", "Next ›")) }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(p: &[(&str, &str)]) -> HashMap<String, String> {
        p.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn search_sort_and_page_with_blanks_last() {
        let rows: Vec<(String, Option<i64>)> = (1..=120)
            .map(|i| (format!("平台{i:03}"), (i % 7 != 0).then_some(i)))
            .collect();
        let text = |r: &(String, Option<i64>)| r.0.clone();
        let key = |r: &(String, Option<i64>), _: &str| r.1.map_or(Key::Blank, Key::Num);
        let view = View::of(&params(&[("sort", "n"), ("dir", "desc")]), &["n"]).unwrap();
        let sorted = view.select(rows.clone(), text, key);
        assert_eq!(sorted[0].1, Some(120));
        assert!(
            sorted[sorted.len() - 1].1.is_none(),
            "blanks last either way"
        );
        let (first, pages) = view.page_of(&sorted);
        assert_eq!((first.len(), pages), (50, 3));
        let view = View::of(&params(&[("page", "3")]), &["n"]).unwrap();
        assert_eq!(view.page_of(&rows).0.len(), 20);
        let view = View::of(&params(&[("page", "9")]), &["n"]).unwrap();
        assert_eq!(
            view.page_of(&rows).0[0].0,
            "平台101",
            "past the end: the last page"
        );
        let view = View::of(&params(&[("q", " 平台11 ")]), &["n"]).unwrap();
        assert_eq!(
            view.select(rows.clone(), text, key).len(),
            10,
            "平台110..平台119"
        );
        let view = View::of(&params(&[("q", "平台 12")]), &["n"]).unwrap();
        assert_eq!(
            view.select(rows, text, key).len(),
            3,
            "every word matches: 平台012, 平台112, 平台120"
        );
    }

    #[test]
    fn an_unknown_column_a_bad_direction_or_page_is_refused_by_name() {
        let field = |p: &[(&str, &str)]| View::of(&params(p), &["name"]).unwrap_err().field;
        assert_eq!(field(&[("sort", "password")]).as_deref(), Some("sort"));
        assert_eq!(field(&[("dir", "up")]).as_deref(), Some("dir"));
        assert_eq!(field(&[("page", "0")]).as_deref(), Some("page"));
        assert_eq!(field(&[("page", "x")]).as_deref(), Some("page"));
    }
}
