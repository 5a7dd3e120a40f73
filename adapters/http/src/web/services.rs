//! Services in bulk (服务成果批量登记): a listed platform uploads the ministry's spreadsheet
//! (XLSX or CSV, the template downloadable here), every row is read and checked, and the rows
//! are recorded as one `RecordServices` command, so either every row is recorded or none is.
//! The page answers with a row-by-row report naming each refused row by its line in the sheet.
//! The command id follows from the file's bytes and the platform, so the same file uploaded
//! twice is recorded once.

use axum::extract::{Multipart, Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use calamine::Reader;
use maud::html;
use roster_domain::commands::RecordService;
use roster_domain::error::{code, Refusal};
use roster_domain::registry::CommandKind;
use roster_domain::request::{CommandRequest, Target};
use roster_domain::values::Domain;
use roster_projections::export::{self, Column, SERVICE_COLUMNS};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::actions::same_origin;
use super::{check_csrf, page, Viewer};
use crate::commands;
use crate::AppState;

/// The most rows one upload records (the command's bound).
const MAX_ROWS: usize = roster_domain::input::LIST_MAX_ENTRIES;
/// The largest spreadsheet accepted.
pub(super) const UPLOAD_LIMIT: usize = 4 * 1024 * 1024;

const KINDS: [(&str, &str); 4] = [
    ("enterprise_served", "服务企业"),
    ("product_incubated", "孵化产品"),
    ("project_industrialized", "项目产业化"),
    ("enterprise_spun_off", "孵化企业"),
];

/// Which columns a kind of service fills.
fn columns_of(kind: &str) -> &'static [&'static str] {
    match kind {
        "enterprise_served" => &["enterprise_name", "enterprise_uscc", "contract_cny"],
        "product_incubated" => &["product_name", "owner_uscc", "domain"],
        "project_industrialized" => &["project", "revenue_cny"],
        _ => &["enterprise_name", "enterprise_uscc", "valuation_cny"],
    }
}

/// One line of the report: the sheet's line number and what became of it.
pub(super) struct Line {
    pub line: usize,
    pub error: Option<String>,
}

/// The rows of the sheet as text by column key, each with its line number in the sheet; the
/// header rows (Chinese, English or keys) are found, not assumed.
/// A data row of the sheet: its line number and its cells by column key.
type Row = (usize, Map<String, Value>);

fn rows_by_key(table: Vec<Vec<String>>) -> Result<Vec<Row>, Refusal> {
    let matches = |cell: &str, c: &Column| {
        let cell = cell.trim().trim_start_matches('\u{feff}');
        cell == c.key || cell == c.zh || cell.eq_ignore_ascii_case(c.en)
    };
    let is_header = |row: &[String]| {
        row.iter()
            .filter(|cell| SERVICE_COLUMNS.iter().any(|c| matches(cell, c)))
            .count()
            >= 2
    };
    let Some(first) = table.iter().position(|r| is_header(r)) else {
        return Err(Refusal::invalid(
            "file",
            "no header row: the first row names the columns (as in the template)",
        )
        .zh("没有表头行：第一行须写明各列名称（日期、类别……，同模板）"));
    };
    let header: Vec<Option<&'static str>> = table[first]
        .iter()
        .map(|cell| {
            SERVICE_COLUMNS
                .iter()
                .find(|c| matches(cell, c))
                .map(|c| c.key)
        })
        .collect();
    for needed in ["dated", "kind"] {
        if !header.contains(&Some(needed)) {
            let c = SERVICE_COLUMNS.iter().find(|c| c.key == needed).unwrap();
            return Err(Refusal::invalid("file", format!("no column '{}'", c.en))
                .zh(format!("缺少“{}”列", c.zh)));
        }
    }
    let mut out = Vec::new();
    for (i, row) in table.iter().enumerate().skip(first + 1) {
        if is_header(row) || row.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        let mut cells = Map::new();
        for (key, cell) in header.iter().zip(row) {
            if let (Some(key), false) = (key, cell.trim().is_empty()) {
                cells.insert(key.to_string(), Value::String(cell.trim().to_string()));
            }
        }
        out.push((i + 1, cells));
    }
    if out.len() > MAX_ROWS {
        return Err(Refusal::invalid(
            "file",
            format!(
                "the sheet has {} rows; at most {MAX_ROWS} per upload",
                out.len()
            ),
        )
        .zh(format!(
            "表中有 {} 行；每次最多登记 {MAX_ROWS} 行",
            out.len()
        )));
    }
    Ok(out)
}

/// A row as the service it records, or why it cannot be.
fn service_of(cells: &Map<String, Value>) -> Result<RecordService, String> {
    let text = |k: &str| cells.get(k).and_then(Value::as_str).unwrap_or_default();
    let dated = parse_date(text("dated"))
        .ok_or_else(|| format!("日期“{}”不是有效日期（YYYY-MM-DD）", text("dated")))?;
    let kind = KINDS
        .iter()
        .find(|(code, zh)| text("kind") == *code || text("kind") == *zh)
        .map(|(code, _)| *code)
        .ok_or_else(|| {
            format!(
                "类别“{}”应为 {} 之一",
                text("kind"),
                KINDS.map(|(_, zh)| zh).join("、")
            )
        })?;
    let mut record = Map::new();
    record.insert("kind".into(), json!(kind));
    for key in columns_of(kind) {
        let value = text(key);
        if value.is_empty() {
            let c = SERVICE_COLUMNS.iter().find(|c| c.key == *key).unwrap();
            return Err(format!("{}须填写{}", text("kind"), c.zh));
        }
        let v = if key.ends_with("_cny") {
            let n: u64 = value
                .replace([',', '，'], "")
                .trim_end_matches(".0")
                .parse()
                .map_err(|_| format!("{key}“{value}”不是整数金额（元）"))?;
            json!(n)
        } else if *key == "domain" {
            let d = Domain::ALL
                .iter()
                .find(|d| d.code() == value || d.name_zh() == value)
                .ok_or_else(|| format!("产品领域“{value}”不是九个申报类别之一"))?;
            json!(d.code())
        } else {
            json!(value)
        };
        record.insert(key.to_string(), v);
    }
    let others: Vec<&str> = cells
        .keys()
        .map(String::as_str)
        .filter(|k| !["dated", "kind"].contains(k) && !columns_of(kind).contains(k))
        .collect();
    if !others.is_empty() {
        let labels: Vec<&str> = others
            .iter()
            .filter_map(|k| SERVICE_COLUMNS.iter().find(|c| c.key == *k).map(|c| c.zh))
            .collect();
        return Err(format!("{}不填写：{}", text("kind"), labels.join("、")));
    }
    let command = json!({"dated": dated, "record": record});
    serde_json::from_value::<RecordService>(command).map_err(|e| format!("内容有误：{e}"))
}

fn parse_date(s: &str) -> Option<chrono::NaiveDate> {
    let s = s.trim();
    ["%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y年%m月%d日"]
        .iter()
        .find_map(|f| chrono::NaiveDate::parse_from_str(s, f).ok())
}

/// An XLSX cell as text: dates as YYYY-MM-DD, whole numbers without a decimal point.
fn cell_text(d: &calamine::Data) -> String {
    use calamine::Data;
    match d {
        Data::Empty => String::new(),
        Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
        Data::Int(n) => n.to_string(),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        Data::Float(f) => f.to_string(),
        Data::Bool(b) => b.to_string(),
        Data::DateTime(dt) => {
            // Excel's day 0 is 1899-12-30 (the 1900 system); the time of day is dropped.
            let days = dt.as_f64().floor() as i64;
            chrono::NaiveDate::from_ymd_opt(1899, 12, 30)
                .and_then(|d| d.checked_add_signed(chrono::Duration::days(days)))
                .map_or_else(String::new, |d| d.to_string())
        }
        Data::Error(e) => format!("#{e:?}"),
    }
}

/// The sheet's cells as text: an XLSX's first sheet, or a CSV (UTF-8, with or without BOM).
fn table_of(bytes: &[u8]) -> Result<Vec<Vec<String>>, Refusal> {
    if bytes.starts_with(b"PK\x03\x04") {
        let mut book: calamine::Xlsx<_> =
            calamine::open_workbook_from_rs(std::io::Cursor::new(bytes)).map_err(|e| {
                Refusal::invalid("file", format!("the XLSX file could not be read: {e}"))
                    .zh("XLSX 文件无法读取")
            })?;
        let range = book
            .worksheet_range_at(0)
            .ok_or_else(|| {
                Refusal::invalid("file", "the XLSX file has no sheet").zh("XLSX 文件中没有工作表")
            })?
            .map_err(|e| {
                Refusal::invalid("file", format!("the first sheet could not be read: {e}"))
                    .zh("第一个工作表无法读取")
            })?;
        return Ok(range
            .rows()
            .map(|r| r.iter().map(cell_text).collect())
            .collect());
    }
    let text = std::str::from_utf8(bytes).map_err(|_| {
        Refusal::invalid(
            "file",
            "the file is neither XLSX nor CSV in UTF-8 (save it as XLSX or \"CSV UTF-8\")",
        )
        .zh("文件既不是 XLSX 也不是 UTF-8 编码的 CSV（请另存为 XLSX 或“CSV UTF-8”）")
    })?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.trim_start_matches('\u{feff}').as_bytes());
    reader
        .records()
        .map(|r| {
            r.map(|r| r.iter().map(str::to_string).collect())
                .map_err(|e| {
                    Refusal::invalid("file", format!("the CSV file could not be read: {e}"))
                        .zh("CSV 文件无法读取")
                })
        })
        .collect()
}

/// The whole check of an upload: the services to record with their lines, or the report of
/// every refused row.
pub(super) fn read_upload(bytes: &[u8]) -> Result<(Vec<RecordService>, Vec<Line>), Refusal> {
    let rows = rows_by_key(table_of(bytes)?)?;
    if rows.is_empty() {
        return Err(Refusal::invalid("file", "表中没有服务成果行"));
    }
    let mut services = Vec::new();
    let mut lines = Vec::new();
    for (line, cells) in rows {
        match service_of(&cells) {
            Ok(s) => {
                services.push(s);
                lines.push(Line { line, error: None });
            }
            Err(e) => lines.push(Line {
                line,
                error: Some(e),
            }),
        }
    }
    Ok((services, lines))
}

use super::refusal_page as refused;

fn upload_form(v: &Viewer, platform_id: &str) -> maud::Markup {
    html! {
        form.filters method="post" action={"/ui/platforms/" (platform_id) "/services"} enctype="multipart/form-data" id="services-upload" {
            input type="hidden" name="csrf" value=(v.csrf);
            label { (v.t("服务成果登记表（XLSX 或 CSV）", "Services spreadsheet (XLSX or CSV)")) input type="file" name="file" accept=".xlsx,.csv,text/csv,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" required; }
            button.primary type="submit" { (v.t("上传并登记", "Upload and record")) }
        }
        p.downloads {
            (v.t("模板：", "Template: "))
            a href="/ui/services-template.xlsx" { "XLSX" }
            a href="/ui/services-template.csv" { "CSV" }
        }
        p.muted { (v.t(
            "每行一项服务成果；类别为服务企业、孵化产品、项目产业化或孵化企业，各填对应的列。任何一行有误时整表不登记，并逐行说明原因。",
            "One service per row; the kind (服务企业, 孵化产品, 项目产业化, 孵化企业) says which columns to fill. If any row is refused nothing is recorded and every refused row is named."
        )) }
    }
}

/// GET /ui/platforms/{id}/services: the upload form and the template.
pub(super) async fn page_of(
    State(state): State<AppState>,
    Path(platform_id): Path<String>,
    v: Viewer,
) -> Response {
    let what = format!("GET /ui/platforms/{platform_id}/services");
    let loaded = match super::readable_or_page(&state, &v, &platform_id, &what).await {
        Ok(l) => l,
        Err(page) => return page,
    };
    let name = loaded
        .state
        .form
        .as_ref()
        .map_or(platform_id.clone(), |f| f.platform.name.clone());
    let body = html! {
        p { a href={"/ui/platforms/" (platform_id)} { (name) } }
        (upload_form(&v, &platform_id))
    };
    page(&v, v.t("批量登记服务成果", "Record services in bulk"), body)
}

/// POST /ui/platforms/{id}/services: reads the upload, records every row or none, reports.
pub(super) async fn upload(
    State(state): State<AppState>,
    Path(platform_id): Path<String>,
    v: Viewer,
    headers: HeaderMap,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Response {
    let what = format!("POST /ui/platforms/{platform_id}/services");
    let mut csrf = None;
    let mut file: Option<Vec<u8>> = None;
    match multipart {
        Ok(mut m) => loop {
            match m.next_field().await {
                Ok(Some(field)) => {
                    let name = field.name().unwrap_or_default().to_string();
                    match field.bytes().await {
                        Ok(b) if name == "csrf" => {
                            csrf = Some(String::from_utf8_lossy(&b).to_string())
                        }
                        Ok(b) if name == "file" => file = Some(b.to_vec()),
                        Ok(_) => {}
                        Err(e) => {
                            return refused(
                                &v,
                                Refusal::new(
                                    code::BODY_TOO_LARGE,
                                    format!("the upload could not be read: {}", e.body_text()),
                                ),
                            )
                        }
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    return refused(
                        &v,
                        Refusal::invalid(
                            "file",
                            format!("the upload could not be read: {}", e.body_text()),
                        ),
                    )
                }
            }
        },
        Err(e) => {
            return refused(
                &v,
                Refusal::invalid("file", format!("the upload could not be read: {e}")),
            )
        }
    }
    let checked = check_csrf(&v, csrf.as_deref()).and_then(|()| {
        if same_origin(&headers) {
            Ok(())
        } else {
            Err(Refusal::forbidden("the form was posted from another site"))
        }
    });
    if let Err(r) = checked {
        state
            .audit_refusal(v.actor.clone(), &what, &r.code, &r.message)
            .await;
        return refused(&v, r);
    }
    // Only those who may read the platform learn anything about it (the command service then
    // decides whether this user may record its services).
    if let Err(page) = super::readable_or_page(&state, &v, &platform_id, &what).await {
        return page;
    }
    let bytes = file.unwrap_or_default();
    let outcome = record(&state, &v, &platform_id, &bytes, &what).await;
    let title = v.t("批量登记服务成果", "Record services in bulk");
    let body = match outcome {
        Ok((lines, recorded, duplicate)) => html! {
            div.flash.ok id="flash" role="status" {
                @if duplicate { (v.t("此表此前已登记，未重复登记：", "This sheet was recorded before; nothing recorded twice: ")) }
                @else { (v.t("已登记 ", "Recorded ")) }
                (recorded) (v.t(" 项服务成果。", " services."))
            }
            (report(&v, &lines))
            p { a href={"/ui/platforms/" (platform_id)} { (v.t("返回平台页面", "Back to the platform")) } }
        },
        Err((r, lines)) => html! {
            div.flash.error id="flash" role="alert" {
                (v.t("未登记任何一行：", "Nothing recorded: "))
                @if v.lang == super::Lang::Zh && r.code != roster_domain::error::code::INVALID_INPUT { (r.code.explain_zh()) "。" }
                (super::particulars(v.lang, &r))
            }
            (report(&v, &lines))
            (upload_form(&v, &platform_id))
        },
    };
    page(&v, title, body)
}

fn report(v: &Viewer, lines: &[Line]) -> maud::Markup {
    html! {
        @if !lines.is_empty() {
            div.scroll { table id="report" {
                thead { tr { th { (v.t("表中行号", "Line")) } th { (v.t("结果", "Result")) } th { (v.t("说明", "Detail")) } } }
                tbody { @for l in lines {
                    tr class=[l.error.as_ref().map(|_| "refused")] data-line=(l.line) {
                        td { (l.line) }
                        td { @if l.error.is_some() { (v.t("有误", "refused")) } @else { (v.t("无误", "fine")) } }
                        td { (l.error.as_deref().unwrap_or("")) }
                    }
                } }
            } }
        }
    }
}

/// Reads and records an upload: the report's lines, the number recorded and whether the same
/// sheet had been recorded before; or the refusal and the lines (nothing recorded).
async fn record(
    state: &AppState,
    v: &Viewer,
    platform_id: &str,
    bytes: &[u8],
    what: &str,
) -> Result<(Vec<Line>, usize, bool), (Refusal, Vec<Line>)> {
    if bytes.is_empty() {
        return Err((
            Refusal::invalid("file", "choose the sheet to upload").zh("请选择要上传的表格"),
            vec![],
        ));
    }
    let (services, mut lines) = read_upload(bytes).map_err(|r| (r, vec![]))?;
    let bad = lines.iter().filter(|l| l.error.is_some()).count();
    if bad > 0 {
        let r = Refusal::invalid(
            "file",
            format!("{bad} of {} lines refused (see the table)", lines.len()),
        )
        .zh(format!("{} 行中有 {bad} 行有误（见下表）", lines.len()));
        state
            .audit_refusal(v.actor.clone(), what, &r.code, &r.message)
            .await;
        return Err((r, lines));
    }
    let count = services.len();
    let command = commands::platform_command(
        CommandKind::RecordServices,
        "",
        json!({ "services": services }),
    )
    .map_err(|r| (r, vec![]))?;
    let digest = hex::encode(Sha256::digest(bytes));
    let req = CommandRequest {
        command_id: Uuid::new_v5(
            &Uuid::NAMESPACE_OID,
            format!("services/{platform_id}/{digest}").as_bytes(),
        ),
        business_date: None,
        expected_version: None,
        correlation_id: None,
        causation_id: None,
        target: Target::Platform {
            platform_id: platform_id.to_string(),
            command,
        },
    };
    match commands::run(state, &v.actor, req).await {
        Ok(o) => Ok((lines, count, o.duplicate)),
        Err(mut r) => {
            // The command's rows are the sheet's data lines, in order: name them by line.
            for (i, l) in lines.iter_mut().enumerate().rev() {
                let at = format!("services[{i}]");
                let row_zh = format!("第 {} 条：", i + 1);
                let detail = match v.lang {
                    super::Lang::Zh => r
                        .message_zh
                        .as_deref()
                        .and_then(|m| m.split(&row_zh).nth(1))
                        .map(|d| d.split("；第 ").next().unwrap_or(d).to_string()),
                    super::Lang::En => r
                        .message
                        .split(&format!("{at}: "))
                        .nth(1)
                        .map(|d| d.split("; services[").next().unwrap_or(d).to_string()),
                };
                if detail.is_some() {
                    l.error = detail;
                }
                r.message = r.message.replace(&at, &format!("line {}", l.line));
                r.message_zh = r
                    .message_zh
                    .map(|m| m.replace(&row_zh, &format!("第 {} 行：", l.line)));
            }
            Err((r, lines))
        }
    }
}

/// The template (CSV or XLSX) of the services spreadsheet.
pub(super) async fn template(file: &'static str) -> Response {
    let sheet = export::services_template();
    match file {
        "services-template.csv" => match export::to_csv(&sheet) {
            Ok(body) => super::pages::file("text/csv; charset=utf-8", file, body),
            Err(e) => {
                (axum::http::StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response()
            }
        },
        "services-template.xlsx" => match export::to_xlsx(&[sheet]) {
            Ok(body) => super::pages::file(super::pages::XLSX, file, body),
            Err(e) => {
                (axum::http::StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response()
            }
        },
        _ => axum::http::StatusCode::NOT_FOUND.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn csv(rows: &[&str]) -> Vec<u8> {
        rows.join("\n").into_bytes()
    }

    #[test]
    fn the_template_reads_back_with_its_rows() {
        let mut sheet = export::to_csv(&export::services_template()).unwrap();
        sheet.push_str("2026-01-05,服务企业,某企业,91110000802100433B,300000,,,,,,\n");
        sheet.push_str("2026/1/6,孵化产品,,,,,某产品,91110000802100433B,酶制剂,,\n");
        let (services, lines) = read_upload(sheet.as_bytes()).unwrap();
        assert_eq!(services.len(), 2);
        assert!(lines.iter().all(|l| l.error.is_none()));
        assert_eq!(lines.iter().map(|l| l.line).collect::<Vec<_>>(), [2, 3]);
    }

    #[test]
    fn every_bad_row_is_named_by_its_line() {
        let (services, lines) = read_upload(&csv(&[
            "日期,类别,企业名称,企业统一社会信用代码,合同金额（元）",
            "Date,Kind,Enterprise,Enterprise USCC,Contract (CNY)",
            "2026-01-05,服务企业,甲,91110000802100433B,100",
            "2026-13-05,服务企业,乙,91110000802100433B,100",
            "2026-01-07,服务企业,丙,91110000802100433X,100",
            "2026-01-08,服务企业,,91110000802100433B,100",
            "2026-01-09,咨询,丁,91110000802100433B,100",
        ]))
        .unwrap();
        assert_eq!(services.len(), 1);
        let bad: Vec<usize> = lines
            .iter()
            .filter(|l| l.error.is_some())
            .map(|l| l.line)
            .collect();
        assert_eq!(bad, [4, 5, 6, 7], "the English header row is not a service");
        assert!(lines[1].error.as_deref().unwrap().contains("不是有效日期"));
        assert!(
            lines[2].error.as_deref().unwrap().contains("G-1"),
            "{:?}",
            lines[2].error
        );
        assert!(lines[3]
            .error
            .as_deref()
            .unwrap()
            .contains("须填写企业名称"));
        assert!(lines[4].error.as_deref().unwrap().contains("类别“咨询”"));
    }

    #[test]
    fn a_sheet_without_its_header_or_rows_is_refused() {
        assert!(read_upload(&csv(&["a,b", "1,2"])).is_err());
        assert!(read_upload(&csv(&["日期,类别"])).is_err());
        assert!(read_upload(&csv(&["日期,企业名称", "2026-01-01,x"])).is_err());
        assert!(read_upload(&[0xff, 0xfe, 0x00]).is_err());
    }

    #[test]
    fn an_xlsx_upload_reads_dates_and_numbers() {
        let mut book = rust_xlsxwriter::Workbook::new();
        let ws = book.add_worksheet();
        for (c, h) in ["日期", "类别", "产业化项目名称", "产值（元）"]
            .iter()
            .enumerate()
        {
            ws.write_string(0, c as u16, *h).unwrap();
        }
        let d = rust_xlsxwriter::ExcelDateTime::from_ymd(2026, 2, 3).unwrap();
        let f = rust_xlsxwriter::Format::new().set_num_format("yyyy-mm-dd");
        ws.write_datetime_with_format(1, 0, &d, &f).unwrap();
        ws.write_string(1, 1, "项目产业化").unwrap();
        ws.write_string(1, 2, "酶法示例项目").unwrap();
        ws.write_number(1, 3, 8_000_000.0).unwrap();
        let bytes = book.save_to_buffer().unwrap();
        let (services, lines) = read_upload(&bytes).unwrap();
        assert!(
            lines.iter().all(|l| l.error.is_none()),
            "{:?}",
            lines.iter().map(|l| &l.error).collect::<Vec<_>>()
        );
        assert_eq!(services[0].dated.to_string(), "2026-02-03");
        assert_eq!(
            serde_json::to_value(&services[0].record).unwrap()["revenue_cny"],
            8_000_000
        );
    }
}
