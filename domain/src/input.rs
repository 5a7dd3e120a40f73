//! Bounded, well-formed input (RULES.md §11; security review M2, M3, L5): every text a command
//! carries has a length limit and no control or invisible formatting characters, names are not
//! blank, lists are bounded and amounts of money sane. Checked on the command as JSON, so every
//! field of every command (and of an amendment's merge patch) is covered by the same rules, with
//! the field's path in the refusal, before anything is decided; a refused command appends
//! nothing. Stored events are never checked this way: what was once accepted always decodes.

use serde_json::Value;

use crate::error::Refusal;

/// Names (of units, platforms, people, enterprises, products, equipment): one line, not blank.
pub const NAME_MAX_CHARS: usize = 200;
/// Every other text (opinions, reasons, descriptions, goals): newlines and tabs allowed.
pub const TEXT_MAX_CHARS: usize = 4000;
/// Entries of any list (equipment, evidence, panel, reasons …).
pub const LIST_MAX_ENTRIES: usize = 500;
/// Reasons of a rejection or review conclusion, members of a panel.
pub const SHORT_LIST_MAX_ENTRIES: usize = 50;
/// The largest amount of money (CNY) any field may state: one trillion yuan.
pub const CNY_MAX: u64 = 1_000_000_000_000;
/// Counts (staff, projects, enterprises, vessels …).
pub const COUNT_MAX: u64 = 10_000_000;

/// Keys whose value is a name: a single line, 1..=200 characters, not blank. Public, with
/// `SHORT_LISTS` and `number_max`, so the OpenAPI document states the same bounds.
pub const NAME_KEYS: [&str; 14] = [
    "name",
    "contact",
    "legal_representative",
    "leader",
    "enterprise_name",
    "product_name",
    "project",
    "brand",
    "model",
    "version",
    "phone",
    "email",
    "address",
    "title",
];

/// Lists held to `SHORT_LIST_MAX_ENTRIES`.
pub const SHORT_LISTS: [&str; 2] = ["reasons", "panel"];

/// Whether `s` is a SHA-256 as attachments are named: 64 lower-case hex digits.
pub fn is_sha256(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Whether `c` may appear in a text: no C0 or C1 control character (newline and tab only in
/// long text, a carriage return only before a newline), no DEL, no bidirectional override or
/// isolate, no zero-width or other invisible formatting character, no line/paragraph separator,
/// no noncharacter.
fn allowed(c: char, multiline: bool) -> bool {
    match c {
        '\n' | '\t' => multiline,
        '\u{0}'..='\u{1f}' | '\u{7f}'..='\u{9f}' => false,
        '\u{200b}'..='\u{200f}' | '\u{2028}'..='\u{202e}' | '\u{2060}'..='\u{2069}' => false,
        '\u{feff}' | '\u{fff9}'..='\u{fffb}' | '\u{fffe}' | '\u{ffff}' => false,
        _ => true,
    }
}

fn describe(c: char) -> String {
    match c {
        '\u{0}' => "a NUL character (U+0000)".into(),
        '\n' => "a line break (names are one line)".into(),
        '\t' => "a tab (names are one line)".into(),
        '\r' => "a carriage return (U+000D) not followed by a line break".into(),
        c => format!("the invisible or control character U+{:04X}", c as u32),
    }
}

fn key_of(path: &str) -> &str {
    let last = path.rsplit('.').next().unwrap_or(path);
    last.split('[').next().unwrap_or(last)
}

/// Checks one text at `path`.
pub fn check_text(path: &str, s: &str) -> Result<(), Refusal> {
    let name = NAME_KEYS.contains(&key_of(path));
    let max = if name { NAME_MAX_CHARS } else { TEXT_MAX_CHARS };
    let count = s.chars().count();
    if count > max {
        return Err(Refusal::invalid(
            path,
            format!("{path} has {count} characters; at most {max} are allowed"),
        )
        .zh(format!("此项有 {count} 个字符，至多 {max} 个")));
    }
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        let ok = if c == '\r' {
            !name && chars.peek() == Some(&'\n')
        } else {
            allowed(c, !name)
        };
        if !ok {
            return Err(Refusal::invalid(
                path,
                format!("{path} contains {}; remove it", describe(c)),
            )
            .zh("此项含有不可见的控制字符，请删除后重新填写"));
        }
    }
    if name && s.trim().is_empty() {
        return Err(Refusal::invalid(
            path,
            format!("{path} is empty or only spaces; give a name (or leave the field out where it is optional)"),
        ).zh("此项为空或只有空格，请填写"));
    }
    Ok(())
}

/// The largest number a field named `key` may hold: `CNY_MAX` for amounts (`*_cny`), none here
/// for years, litres and square metres (their own rules bound them), `COUNT_MAX` otherwise.
pub fn number_max(key: &str) -> Option<u64> {
    if key.ends_with("_cny") {
        Some(CNY_MAX)
    } else if key == "year" || key.ends_with("_l") || key.ends_with("_m2") {
        None
    } else {
        Some(COUNT_MAX)
    }
}

fn check_number(path: &str, n: &serde_json::Number) -> Result<(), Refusal> {
    let key = key_of(path);
    let Some(v) = n.as_u64() else {
        return Ok(()); // negative or fractional numbers are refused by the typed fields
    };
    let Some(max) = number_max(key) else {
        return Ok(()); // checked by their own rules
    };
    let what = if key.ends_with("_cny") { "yuan" } else { "" };
    if v > max {
        return Err(Refusal::invalid(
            path,
            format!(
                "{path} is {v}; at most {max}{} is accepted",
                if what.is_empty() {
                    String::new()
                } else {
                    format!(" {what}")
                }
            ),
        )
        .zh(format!(
            "此项为 {v}，至多 {max}{}",
            if what.is_empty() { "" } else { " 元" }
        )));
    }
    Ok(())
}

fn walk(path: &str, v: &Value) -> Result<(), Refusal> {
    match v {
        Value::String(s) if key_of(path) == "sha256" && !is_sha256(s) => Err(Refusal::invalid(
            path,
            format!("{path} is not a SHA-256 (64 lower-case hex digits)"),
        )
        .zh("附件编号不是 SHA-256（64 位小写十六进制）")),
        Value::String(s) => check_text(path, s),
        Value::Number(n) => check_number(path, n),
        Value::Array(items) => {
            let max = if SHORT_LISTS.contains(&key_of(path)) {
                SHORT_LIST_MAX_ENTRIES
            } else {
                LIST_MAX_ENTRIES
            };
            if items.len() > max {
                return Err(Refusal::invalid(
                    path,
                    format!(
                        "{path} has {} entries; at most {max} are allowed",
                        items.len()
                    ),
                )
                .zh(format!("此项有 {} 条，至多 {max} 条", items.len())));
            }
            for (i, item) in items.iter().enumerate() {
                walk(&format!("{path}[{i}]"), item)?;
            }
            Ok(())
        }
        Value::Object(fields) => {
            for (k, item) in fields {
                let at = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                check_text(&at, k).map_err(|_| {
                    Refusal::invalid(path, "a field name contains a control character")
                        .zh("字段名含有控制字符")
                })?;
                walk(&at, item)?;
            }
            Ok(())
        }
        Value::Null | Value::Bool(_) => Ok(()),
    }
}

/// Checks every text, list and amount of a command (as its JSON) against RULES.md §11's bounds;
/// the refusal names the field's path (`form.applicant.name`, `reasons[2]`,
/// `record.enterprise_name`).
pub fn check(command: &Value) -> Result<(), Refusal> {
    walk("", command)?;
    // L5: those holding a master's degree or a mid-level title are part of the fixed team.
    for team in [
        command.get("form").and_then(|f| f.get("team")),
        command.get("changes").and_then(|f| f.get("team")),
    ]
    .into_iter()
    .flatten()
    {
        let n = |k: &str| team.get(k).and_then(Value::as_u64);
        if let (Some(fixed), Some(qualified)) = (n("fixed_technical_staff"), n("qualified_staff")) {
            if qualified > fixed {
                let at = if command.get("form").is_some() {
                    "form"
                } else {
                    "changes"
                };
                return Err(Refusal::invalid(
                    &format!("{at}.team.qualified_staff"),
                    format!("qualified_staff {qualified} is more than the fixed technical team of {fixed}"),
                ).zh(format!("具备相应资质的人员 {qualified} 人，多于固定中试技术人员 {fixed} 人")));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn field(r: Result<(), Refusal>) -> Option<String> {
        r.err().and_then(|e| e.field)
    }

    #[test]
    fn names_are_one_line_not_blank_and_at_most_200_characters() {
        assert!(check(&json!({"record": {"enterprise_name": "深圳示例生物科技有限公司"}})).is_ok());
        let at_limit = "企".repeat(NAME_MAX_CHARS);
        assert!(check(&json!({"record": {"enterprise_name": at_limit}})).is_ok());
        let over = "企".repeat(NAME_MAX_CHARS + 1);
        assert_eq!(
            field(check(&json!({"record": {"enterprise_name": over}}))).as_deref(),
            Some("record.enterprise_name")
        );
        for blank in ["", "   ", "\u{3000}"] {
            assert_eq!(
                field(check(&json!({"form": {"applicant": {"name": blank}}}))).as_deref(),
                Some("form.applicant.name"),
                "{blank:?}"
            );
        }
        assert!(check(&json!({"form": {"applicant": {"name": "a\nb"}}})).is_err());
    }

    #[test]
    fn an_attachment_is_named_by_a_whole_lower_case_sha256() {
        let with = |sha: &str| json!({"form": {"evidence": [{"title": "t", "reference": "r", "sha256": sha}]}});
        assert!(check(&with(&"0a".repeat(32))).is_ok());
        for bad in [
            "0A".repeat(32),
            "0a".repeat(31),
            "0a".repeat(32) + "0",
            "../".into(),
        ] {
            assert_eq!(
                field(check(&with(&bad))).as_deref(),
                Some("form.evidence[0].sha256"),
                "{bad}"
            );
        }
    }

    #[test]
    fn long_text_keeps_newlines_and_tabs_and_stops_at_4000_characters() {
        assert!(check(&json!({"opinion": "同意推荐。\n\t理由：条件具备。\r\n"})).is_ok());
        assert!(check(&json!({"opinion": "x".repeat(TEXT_MAX_CHARS)})).is_ok());
        assert_eq!(
            field(check(&json!({"opinion": "x".repeat(TEXT_MAX_CHARS + 1)}))).as_deref(),
            Some("opinion")
        );
    }

    #[test]
    fn control_and_invisible_characters_are_refused_with_their_path() {
        for bad in [
            "a\u{0}b",
            "a\u{7}b",
            "\u{1b}[31mred",
            "a\rforged log line",
            "a\u{7f}",
            "a\u{85}",
            "\u{202e}evil",
            "zero\u{200b}width",
            "bom\u{feff}",
            "iso\u{2066}late",
            "line\u{2028}sep",
        ] {
            let r = check(&json!({"reasons": ["fine", bad]}));
            assert_eq!(field(r.clone()).as_deref(), Some("reasons[1]"), "{bad:?}");
            assert_eq!(r.unwrap_err().code, "invalid_input");
        }
        let r = check(&json!({"description": "a\u{0}b"})).unwrap_err();
        assert!(r.message.contains("NUL"), "{}", r.message);
    }

    #[test]
    fn lists_are_bounded() {
        let reasons: Vec<String> = (0..SHORT_LIST_MAX_ENTRIES)
            .map(|i| format!("理由{i}"))
            .collect();
        assert!(check(&json!({"reasons": reasons})).is_ok());
        let reasons: Vec<String> = (0..=SHORT_LIST_MAX_ENTRIES)
            .map(|i| format!("理由{i}"))
            .collect();
        assert_eq!(
            field(check(&json!({"reasons": reasons}))).as_deref(),
            Some("reasons")
        );
        let evidence = vec![json!({"title": "t", "reference": "r"}); LIST_MAX_ENTRIES + 1];
        assert_eq!(
            field(check(&json!({"form": {"evidence": evidence}}))).as_deref(),
            Some("form.evidence")
        );
    }

    #[test]
    fn money_and_counts_are_bounded() {
        assert!(check(&json!({"record": {"contract_cny": CNY_MAX}})).is_ok());
        assert_eq!(
            field(check(&json!({"record": {"contract_cny": CNY_MAX + 1}}))).as_deref(),
            Some("record.contract_cny")
        );
        assert_eq!(
            field(check(
                &json!({"record": {"contract_cny": 9_223_372_036_854_775_807u64}})
            ))
            .as_deref(),
            Some("record.contract_cny")
        );
        assert!(check(&json!({"form": {"staffing": {"engineers": COUNT_MAX + 1}}})).is_err());
    }

    #[test]
    fn qualified_staff_cannot_exceed_the_fixed_team() {
        let team =
            |q: u64| json!({"form": {"team": {"fixed_technical_staff": 30, "qualified_staff": q}}});
        assert!(check(&team(30)).is_ok());
        assert_eq!(
            field(check(&team(31))).as_deref(),
            Some("form.team.qualified_staff")
        );
    }
}
