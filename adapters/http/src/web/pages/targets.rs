//! The targets page (RULES.md §8): progress bars, the five KPIs, monthly charts with the run-rate
//! forecast; KPI report downloads.

use super::*;

const KPI_PARAMS: [&str; 3] = ["as_of", "known_at", "target_set"];

/// The KPI report the viewer may see for the page's as-of, known-at and target set.
async fn kpi_for(
    state: &AppState,
    v: &Viewer,
    params: &HashMap<String, String>,
) -> Result<(KpiReport, Option<Province>), PageError> {
    known(params, &KPI_PARAMS).map_err(|r| refused(v, r))?;
    crate::kpi::build(state, &v.actor, params)
        .await
        .map_err(|p| refused(v, p))
}

pub(crate) async fn targets(
    State(state): State<AppState>,
    v: Viewer,
    Query(params): Params,
) -> Result<Response, PageError> {
    let params = filled(params);
    let (report, province) = kpi_for(&state, &v, &params).await?;
    let lang = v.lang;
    let qs = query_string(&params);
    let scope = match province {
        Some(p) => format!(
            "{} {}",
            lang.t("本省平台：", "Platforms of"),
            lang.t(p.name_zh(), p.name_en())
        ),
        None => lang.t("全国", "National").to_string(),
    };
    let body = html! {
        form.filters method="get" action="/ui/targets" id="targets-filter" {
            label { (v.t("截至日期", "As of")) input type="date" name="as_of" id="as_of" value=(report.as_of); }
            label title=(v.t("只计入该日（北京时间）结束前已记录的事实：当时公布的数字", "Only facts recorded by the end of that day (Beijing): the figures as published then")) {
                (v.t("记录截至（可选）", "As known at (optional)"))
                input type="date" name="known_at" id="known_at" value=[params.get("known_at")];
            }
            label { (v.t("目标集", "Target set"))
                select name="target_set" id="target_set" {
                    option value="" { (v.t("全部生效目标", "All sets in force")) }
                    @for s in &report.target_sets {
                        option value=(s.target_set_id) selected[params.get("target_set") == Some(&s.target_set_id)] { (s.name) }
                    }
                }
            }
            button.primary type="submit" id="apply" { (v.t("更新", "Update")) }
        }
        p.muted { (scope) " · " (v.t("截至", "as of")) " " span id="as-of-shown" { (report.as_of) } }
        div.cards {
            @for k in &report.values {
                div.card data-metric=(k.metric.code()) {
                    div.muted { (k.rule) " · " (v.t(k.name_zh, k.name_en)) }
                    div.big id={"kpi-" (k.metric.code())} { (k.value) }
                }
            }
        }
        h2 { (v.t("目标进度", "Progress against targets")) }
        div.grid2 {
            @for t in &report.targets {
                div.card.target data-metric=(t.metric.code()) data-target-set=(t.target_set_id) {
                    div { strong { (v.t(t.name_zh, t.name_en)) } " " span.muted { (t.rule) " · " (t.target_set_name) " · " (t.scope) } }
                    (charts::progress(&format!("{} {}", v.t(t.name_zh, t.name_en), t.value), t.value, t.threshold, t.met))
                    div {
                        (v.t("当前", "Value")) " " strong.value { (t.value) } " · "
                        (v.t("目标", "target")) " " (t.comparator) " " (t.threshold) " · "
                        (v.t("差距", "gap")) " " strong.gap { (t.gap) } " · "
                        (v.t("截止", "deadline")) " " (t.deadline) " "
                        span class={"status " (t.status)} { (status_label(lang, t.status)) }
                    }
                    div.muted {
                        (v.t("按近期速度预计截止时达到", "At the recent rate, by the deadline")) " "
                        (format!("{:.1}", t.forecast_at_deadline)) " ("
                        (format!("{:.2}", t.rate_per_month)) (v.t("/月", "/month")) ")"
                        @if let Some(r) = t.required_per_month {
                            " · " (v.t("需每月", "needs")) " " (format!("{:.2}", r)) (v.t("", "/month"))
                        }
                    }
                    @if let Some(pv) = t.province_value {
                        div.share {
                            (v.t("以上为全国数据；本省贡献 ", "The figures above are national; this province contributes "))
                            strong.province-value { (pv) }
                            @if t.value > 0 { " (" (format!("{:.0}", pv as f64 * 100.0 / t.value as f64)) "%)" }
                            (v.t("，占全国目标 ", ", of the national target "))
                            (format!("{:.0}%", pv as f64 * 100.0 / t.threshold.max(1) as f64))
                        }
                    }
                    div.muted.method {
                        (v.t("测算方法：", "Method: "))
                        @match t.rate_window_from {
                            Some(from) => {
                                (v.t("以 ", "the average monthly growth from ")) (from) (v.t(" 至截至日期的月均增量，乘以距截止日期的月数，加上当前值。", " to the as-of date, times the months left, added to the value."))
                            }
                            None => { (v.t("尚无列入名单的平台，无法测算增速。", "no platform listed yet: no rate to forecast from.")) }
                        }
                    }
                    @if let Some(days) = t.listing_days_in_window.filter(|d| *d <= 2 && t.gap > 0) {
                        p.warning.caveat {
                            "⚠ " (v.t("名单按批次发布：测算窗口内仅有 ", "Platforms are listed in batches: the window holds only "))
                            (days) (v.t(" 个列入日期，按月外推仅供参考；达成目标还需再列入 ", " listing day(s), so a monthly extrapolation is indicative only; the target needs "))
                            strong { (t.gap) } (v.t(" 个平台（取决于后续批次）。", " more platforms (from future batches)."))
                        }
                    }
                }
            }
        }
        h2 { (v.t("月度走势、预测与所需轨迹", "Monthly figures, forecast and required trajectory")) }
        div.grid2 {
            @for (i, t) in report.targets.iter().enumerate() {
                @if (t.scope == "national" && t.province_value.is_none())
                    || province.is_some_and(|p| t.scope == format!("province={}", p.code())) {
                    div.card id={"chart-" (i)} {
                        strong { (v.t(t.name_zh, t.name_en)) " · " (t.target_set_name) }
                        (trajectory_chart(lang, &report, t))
                    }
                }
            }
        }
        h2 { (v.t("下载", "Downloads")) }
        p.downloads {
            a href={"/ui/kpi.xlsx?" (qs)} id="download-kpi-xlsx" { (v.t("KPI 报告 (XLSX)", "KPI report (XLSX)")) }
            a href={"/ui/kpi.csv?" (qs)} id="download-kpi-csv" { (v.t("目标进度 (CSV)", "Targets (CSV)")) }
        }
    };
    Ok(page(&v, v.t("目标进度", "Targets"), body))
}

fn status_label(lang: Lang, s: &str) -> &'static str {
    match s {
        "met" => lang.t("已达成", "met"),
        "on_track" => lang.t("按期可达", "on track"),
        "behind" => lang.t("进度落后", "behind"),
        "missed" => lang.t("未达成", "missed"),
        _ => "—",
    }
}

/// The monthly values of the target's metric, the run-rate forecast from the as-of date to the
/// deadline, and the straight line from today's value to the least value that meets the target.
fn trajectory_chart(
    lang: Lang,
    report: &KpiReport,
    t: &roster_projections::kpi::TargetProgress,
) -> Markup {
    let actual: Vec<(NaiveDate, f64)> = report
        .monthly
        .iter()
        .map(|m| (m.as_of, m.counts.get(t.metric) as f64))
        .collect();
    let from = report
        .monthly
        .first()
        .and_then(|m| NaiveDate::parse_from_str(&format!("{}-01", m.month), "%Y-%m-%d").ok())
        .unwrap_or(report.as_of);
    let to = t.deadline.max(report.as_of);
    let mut series = vec![Series {
        name: lang.t("实际（月末）", "actual (month end)").into(),
        class: "actual",
        stroke: Stroke::Solid,
        points: actual,
    }];
    if report.as_of < t.deadline {
        let least = if t.comparator == ">" {
            t.threshold + 1
        } else {
            t.threshold
        };
        series.push(Series {
            name: lang
                .t("按近期速度预测", "forecast at the recent rate")
                .into(),
            class: "forecast",
            stroke: Stroke::Dashed,
            points: vec![
                (report.as_of, t.value as f64),
                (t.deadline, t.forecast_at_deadline),
            ],
        });
        series.push(Series {
            name: lang.t("达标所需轨迹", "required trajectory").into(),
            class: "required",
            stroke: Stroke::Dotted,
            points: vec![
                (report.as_of, t.value as f64),
                (t.deadline, least.max(t.value) as f64),
            ],
        });
    }
    let threshold_name = format!(
        "{} {} {}",
        lang.t("目标", "target"),
        t.comparator,
        t.threshold
    );
    charts::lines(
        &format!("{} {}", lang.t(t.name_zh, t.name_en), t.deadline),
        &series,
        Some((t.threshold as f64, &threshold_name)),
        from,
        to,
    )
}

pub(crate) async fn kpi_xlsx(
    State(state): State<AppState>,
    v: Viewer,
    Query(params): Params,
) -> Result<Response, PageError> {
    let (report, _) = kpi_for(&state, &v, &filled(params)).await?;
    let body = export::to_xlsx(&export::sheets(&report))
        .map_err(|e| refused(&v, Problem::new(code::INTERNAL, e.to_string())))?;
    Ok(file(XLSX, &format!("kpi-{}.xlsx", report.as_of), body))
}

pub(crate) async fn kpi_csv(
    State(state): State<AppState>,
    v: Viewer,
    Query(params): Params,
) -> Result<Response, PageError> {
    let mut params = filled(params);
    let view = params.remove("view").unwrap_or_else(|| "targets".into());
    let (report, _) = kpi_for(&state, &v, &params).await?;
    let sheet =
        export::sheet(&report, &view).map_err(|e| refused(&v, Refusal::invalid("view", e)))?;
    let body = export::to_csv(&sheet)
        .map_err(|e| refused(&v, Problem::new(code::INTERNAL, e.to_string())))?;
    Ok(file(
        "text/csv; charset=utf-8",
        &format!("kpi-{}-{}.csv", report.as_of, sheet.name),
        body,
    ))
}
