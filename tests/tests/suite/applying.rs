//! An applicant applies from the pages (issue: every role in the browser): a draft saved and
//! opened again, a PDF attached and a disguised file refused, the eligibility previewed, the
//! application submitted with its file named by hash, the file readable only by those who read
//! the platform, the 申报书 printed, and the application amended from a draft made from it.

use reqwest::header::{CONTENT_DISPOSITION, CONTENT_TYPE, COOKIE, LOCATION};
use reqwest::multipart::{Form, Part};
use roster_domain::actor::Role;
use roster_domain::values::Uscc;

use crate::app::TestApp;
use crate::browser::demo_with_an_open_round;
use crate::dashboard::{hidden, sign_in, Page, Session};

/// A small but well-formed PDF (what a scanner would produce, minus the pages).
pub(crate) const PDF: &[u8] = b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n";

/// The fields of a complete application of a Nanjing applicant, as the page posts them.
pub(crate) fn filled_in(uscc: &str, name: &str) -> Vec<(String, String)> {
    let mut v: Vec<(&str, &str)> = vec![
        ("round_id", "browser"),
        ("form.applicant.name", "南京示例生物科技有限公司"),
        ("form.applicant.uscc", uscc),
        ("form.applicant.kind", "private"),
        ("form.applicant.legal_representative", "赵六"),
        ("form.applicant.province", "32"),
        ("form.applicant.city", "320100"),
        ("form.applicant.contact.name", "钱七"),
        ("form.applicant.contact.phone", "025-88888888"),
        ("form.platform.name", name),
        ("form.platform.leader", "孙八"),
        ("form.platform.built", "yes"),
        ("form.platform.years_in_operation", "4"),
        ("form.domains", "enzymes"),
        ("form.compliance.penalised", "no"),
        ("form.staffing.management", "6"),
        ("form.staffing.professor_engineers", "3"),
        ("form.staffing.senior_engineers", "8"),
        ("form.staffing.engineers", "12"),
        ("form.staffing.testing_staff", "5"),
        ("form.equipment.vessels.0.kind", "fermentation"),
        ("form.equipment.vessels.0.name", "5000L发酵罐"),
        ("form.equipment.vessels.0.volume_l", "5000"),
        ("form.equipment.vessels.0.count", "2"),
        ("form.equipment.vessels.1.kind", ""),
        ("form.equipment.vessels.1.name", ""),
        ("form.site.area_m2", "3200"),
        ("form.site.strain_room", "yes"),
        ("form.site.clean_area", "yes"),
        ("form.site.explosion_proof_area", "yes"),
        ("form.site.storage_area", "yes"),
        ("form.site.safety_assessment_passed", "yes"),
        ("form.site.environmental_assessment_passed", "yes"),
        ("form.site.health_assessment_passed", "yes"),
        ("form.team.fixed_technical_staff", "30"),
        ("form.team.qualified_staff", "21"),
        ("form.ip_protection.ip_department", "yes"),
        ("form.ip_protection.headed_by_principal", "yes"),
        ("form.ip_protection.strain_bank_dual_lock", "yes"),
        ("form.ip_protection.access_control_graded", "yes"),
        ("form.ip_protection.cctv_retention_days", "180"),
        ("form.track_record.pilot_projects", "12"),
        ("form.track_record.industrialized_projects", "3"),
        ("form.track_record.industrialized_revenue_cny", "80000000"),
        ("form.track_record.spun_off_enterprises", "3"),
        ("form.track_record.spun_off_valuation_cny", "25000000"),
        ("form.market_services.enterprises_served", "40"),
        ("form.market_services.contract_total_cny", "30000000"),
        ("form.goals", "三年内服务企业100家"),
    ];
    for u in [
        "clean_in_place",
        "ventilation",
        "air_purification",
        "purified_water",
        "steam",
        "chilled_water",
        "off_gas_treatment",
        "wastewater_treatment",
        "power_supply",
    ] {
        v.push(("form.utilities", u));
    }
    v.into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

impl Session {
    /// Posts the draft form as the browser does (multipart, with an optional file).
    pub(crate) async fn post_draft(
        &self,
        draft: &str,
        fields: &[(String, String)],
        op: &str,
        file: Option<(&str, &[u8], &str)>,
    ) -> Page {
        let mut form = Form::new()
            .text("csrf", self.csrf.clone())
            .text("op", op.to_string());
        for (k, v) in fields {
            form = form.text(k.clone(), v.clone());
        }
        if let Some((name, bytes, title)) = file {
            form = form
                .part(
                    "file",
                    Part::bytes(bytes.to_vec()).file_name(name.to_string()),
                )
                .text("upload_title", title.to_string())
                .text("upload_rule", "G-5");
        }
        self.multipart(&format!("/ui/drafts/{draft}"), form).await
    }

    /// Starts a draft from `path`'s button (a new one, or an amendment); its id.
    pub(crate) async fn start_draft(&self, path: &str) -> String {
        let r = self.post(path, &[("csrf", &self.csrf)], None).await;
        assert_eq!(r.status, 303, "{}", r.body);
        let to = location(&r);
        to.strip_prefix("/ui/drafts/")
            .unwrap_or_else(|| panic!("to a draft, not {to}"))
            .to_string()
    }
}

pub(crate) fn location(p: &Page) -> String {
    p.headers
        .get(LOCATION)
        .map(|l| l.to_str().unwrap().to_string())
        .unwrap_or_default()
}

pub(crate) async fn an_applicant_drafts_attaches_previews_submits_prints_and_amends(app: TestApp) {
    demo_with_an_open_round(&app).await;
    let uscc = Uscc::with_check_character("91320100MA7654321").unwrap();
    let applicant = app.token(Role::Applicant, Some(uscc.as_str())).await;
    let (_, a) = sign_in(&app, &applicant).await;
    let a = a.unwrap();

    // 我的申报: nothing yet; a new draft starts with the unit's USCC and province.
    let mine = a.get("/ui/apply").await;
    assert_eq!(mine.status, 200);
    assert!(mine.body.contains("id=\"new-draft\""), "{}", mine.body);
    let draft = a.start_draft("/ui/drafts").await;
    let page = a.get(&format!("/ui/drafts/{draft}")).await.body;
    assert_eq!(
        hidden_value(&page, "form.applicant.uscc").as_deref(),
        Some(uscc.as_str())
    );
    assert!(
        page.contains("<option value=\"32\" selected>"),
        "Jiangsu chosen"
    );
    assert!(page.contains("<option value=\"browser\""), "the open round");

    // Half filled in and saved: it comes back as left; the preview says what is missing.
    let half = vec![(
        "form.platform.name".to_string(),
        "南京示例中试平台（申报测试）".to_string(),
    )];
    let r = a.post_draft(&draft, &half, "preview", None).await;
    assert_eq!(r.status, 303);
    assert_eq!(location(&r), format!("/ui/drafts/{draft}#preview"));
    let page = a.get(&format!("/ui/drafts/{draft}")).await.body;
    assert!(page.contains("南京示例中试平台（申报测试）"));
    assert!(
        page.contains("暂不能预审"),
        "an unfinished form is not assessed"
    );

    // A web page named .pdf is refused by its content; the typed fields are kept.
    let mut fields = filled_in(uscc.as_str(), "南京示例中试平台（申报测试）");
    let r = a
        .post_draft(
            &draft,
            &fields,
            "save",
            Some((
                "安评.pdf",
                b"<html><script>alert(1)</script>",
                "安全评价报告",
            )),
        )
        .await;
    assert_eq!(r.status, 303);
    let page = a.get(&format!("/ui/drafts/{draft}")).await.body;
    assert!(page.contains("不是 PDF、PNG 或 JPEG"), "{page}");
    assert!(page.contains("孙八"), "the fields typed were saved");
    assert!(!page.contains("/files/"), "no file stored");

    // A real PDF is attached and previewed: every hard rule passes.
    let r = a
        .post_draft(
            &draft,
            &fields,
            "preview",
            Some(("安全评价报告.pdf", PDF, "安全评价报告")),
        )
        .await;
    assert_eq!(r.status, 303);
    let page = a.get(&format!("/ui/drafts/{draft}")).await.body;
    assert!(page.contains("已上传"), "{page}");
    assert!(
        page.contains("data-rule=\"G-12\""),
        "the preview runs every rule"
    );
    assert!(page.contains("未发现不符合硬性条件"), "{page}");
    let sha = hidden_value(&page, "form.evidence.0.sha256").expect("the file's hash is kept");
    assert_eq!(sha.len(), 64);
    let got = a.get(&format!("/ui/drafts/{draft}/files/{sha}")).await;
    assert_eq!(got.status, 200);
    assert_eq!(got.headers[CONTENT_TYPE], "application/pdf");
    assert!(got.headers[CONTENT_DISPOSITION]
        .to_str()
        .unwrap()
        .starts_with("attachment"));

    // Someone else's draft is not there for another applicant.
    let other = Uscc::with_check_character("91320100MA1111111").unwrap();
    let other = app.token(Role::Applicant, Some(other.as_str())).await;
    let (_, o) = sign_in(&app, &other).await;
    let o = o.unwrap();
    assert_eq!(o.get(&format!("/ui/drafts/{draft}")).await.status, 404);
    assert_eq!(
        o.get(&format!("/ui/drafts/{draft}/files/{sha}"))
            .await
            .status,
        404
    );

    // Submitted with the evidence rows the page carries: recorded, the draft gone.
    for (c, v) in [
        ("rule", "G-5"),
        ("title", "安全评价报告"),
        ("reference", "安全评价报告.pdf"),
        ("sha256", sha.as_str()),
        ("media_type", "application/pdf"),
        ("size", &PDF.len().to_string()),
    ] {
        fields.push((format!("form.evidence.0.{c}"), v.to_string()));
    }
    let r = a.post_draft(&draft, &fields, "submit", None).await;
    assert_eq!(r.status, 303, "{}", r.body);
    let Some(platform) = location(&r)
        .strip_prefix("/ui/platforms/")
        .map(str::to_string)
    else {
        let page = a.get(&format!("/ui/drafts/{draft}")).await.body;
        let flash = page.split("id=\"flash\">").nth(1).unwrap_or(&page);
        panic!("not submitted: {}", &flash[..flash.len().min(600)]);
    };
    assert_eq!(a.get(&format!("/ui/drafts/{draft}")).await.status, 404);
    let ministry = app.token(Role::Ministry, None).await;
    let detail = app
        .get(Some(&ministry), &format!("/api/v1/platforms/{platform}"))
        .await
        .body;
    assert_eq!(detail["status"], "submitted", "{detail}");
    assert_eq!(
        detail["history"][0]["payload"]["form"]["evidence"][0]["sha256"],
        sha.as_str()
    );
    let shown = a.get(&format!("/ui/platforms/{platform}")).await.body;
    assert!(shown.contains(&format!("/ui/platforms/{platform}/files/{sha}")));
    assert!(
        shown.contains("附佐证材料 1 份"),
        "the timeline names the file"
    );

    // The file: for the applicant, the ministry, its city; not for another city, and not
    // through a platform that does not reference it.
    let file = format!("/ui/platforms/{platform}/files/{sha}");
    assert_eq!(a.get(&file).await.body.as_bytes(), PDF);
    let (_, m) = sign_in(&app, &ministry).await;
    let m = m.unwrap();
    assert_eq!(m.get(&file).await.status, 200);
    let nanjing = app.token(Role::City, Some("320100")).await;
    let (_, n) = sign_in(&app, &nanjing).await;
    assert_eq!(n.unwrap().get(&file).await.status, 200);
    let wuxi = app.token(Role::City, Some("320200")).await;
    let (_, w) = sign_in(&app, &wuxi).await;
    assert_eq!(w.unwrap().get(&file).await.status, 404);
    assert_eq!(
        m.get(&format!("/ui/platforms/js-browser/files/{sha}"))
            .await
            .status,
        404
    );

    // The 申报书 prints every section and the boxes for the seal.
    let print = a.get(&format!("/ui/platforms/{platform}/print")).await;
    assert_eq!(print.status, 200);
    for text in [
        "生物制造中试能力建设平台申请表",
        "南京示例中试平台（申报测试）",
        "5000L发酵罐",
        "申报单位（盖章）",
        "@page",
    ] {
        assert!(print.body.contains(text), "{text} in the print");
    }

    // Amended from a draft made from the application: only what changed is sent.
    let amendment = a
        .start_draft(&format!("/ui/platforms/{platform}/amendment"))
        .await;
    let page = a.get(&format!("/ui/drafts/{amendment}")).await.body;
    assert!(page.contains("南京示例中试平台（申报测试）"));
    let mut changed = fields.clone();
    changed.retain(|(k, _)| k != "round_id");
    changed.push(("amends".into(), platform.clone()));
    for (k, v) in changed.iter_mut() {
        if k == "form.platform.leader" {
            *v = "周九".into();
        }
    }
    let r = a.post_draft(&amendment, &changed, "submit", None).await;
    assert_eq!(r.status, 303, "{}", r.body);
    let detail = app
        .get(Some(&ministry), &format!("/api/v1/platforms/{platform}"))
        .await
        .body;
    let amended = detail["history"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["event_type"] == "ApplicationAmended")
        .expect("an amendment recorded");
    assert_eq!(
        amended["payload"]["changes"],
        serde_json::json!({"platform": {"leader": "周九"}}),
        "only what changed"
    );
    let timeline = a.get(&format!("/ui/platforms/{platform}")).await.body;
    assert!(timeline.contains("修改申报：platform"), "{timeline}");
}

/// The value of the field `name` in a page, whichever control carries it.
fn hidden_value(body: &str, name: &str) -> Option<String> {
    hidden(body, name)
}

impl Session {
    /// Uploads a services spreadsheet to a platform, as the upload form does.
    pub(crate) async fn upload_services(&self, platform: &str, name: &str, bytes: &[u8]) -> Page {
        let form = Form::new().text("csrf", self.csrf.clone()).part(
            "file",
            Part::bytes(bytes.to_vec()).file_name(name.to_string()),
        );
        self.multipart(&format!("/ui/platforms/{platform}/services"), form)
            .await
    }

    /// Posts a multipart form (with its file) as the browser does.
    pub(crate) async fn multipart(&self, path: &str, form: Form) -> Page {
        let r = self
            .http
            .post(format!("{}{path}", self.base))
            .header(COOKIE, &self.cookie)
            .multipart(form)
            .send()
            .await
            .unwrap();
        Page {
            status: r.status().as_u16(),
            headers: r.headers().clone(),
            body: r.text().await.unwrap(),
        }
    }
}

/// A platform command through the API, accepted (201) with a fresh command id.
async fn act(
    app: &TestApp,
    token: &str,
    platform: &str,
    route: &str,
    mut body: serde_json::Value,
) -> crate::app::Response {
    body["command_id"] = serde_json::json!(uuid::Uuid::new_v4());
    let r = app
        .post(
            token,
            &format!("/api/v1/platforms/{platform}/{route}"),
            &body,
        )
        .await;
    assert_eq!(r.status, 201, "{route}: {}", r.body);
    r
}

/// The applicant of a demo platform, by the USCC its application gave.
pub(crate) async fn applicant_of(app: &TestApp, platform: &str) -> String {
    let ministry = app.token(Role::Ministry, None).await;
    let detail = app
        .get(Some(&ministry), &format!("/api/v1/platforms/{platform}"))
        .await
        .body;
    let uscc = detail["history"][0]["payload"]["form"]["applicant"]["uscc"]
        .as_str()
        .unwrap()
        .to_string();
    app.token(Role::Applicant, Some(&uscc)).await
}

pub(crate) async fn a_listed_platform_uploads_its_services_all_or_none(app: TestApp) {
    demo_with_an_open_round(&app).await;
    let platform = "gd-dg-enzyme";
    let token = applicant_of(&app, platform).await;
    let (_, a) = sign_in(&app, &token).await;
    let a = a.unwrap();
    let ministry = app.token(Role::Ministry, None).await;
    let services = || async {
        app.get(Some(&ministry), &format!("/api/v1/platforms/{platform}"))
            .await
            .body["history"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["event_type"] == "ServiceRecorded")
            .count()
    };
    let before = services().await;
    let shown = a.get(&format!("/ui/platforms/{platform}")).await.body;
    assert!(
        shown.contains("id=\"services-bulk\""),
        "offered to its applicant"
    );

    // The template downloads in both forms.
    let t = a.get("/ui/services-template.csv").await;
    assert_eq!(t.status, 200);
    assert!(t.body.contains("dated,kind,enterprise_name"));
    assert_eq!(a.get("/ui/services-template.xlsx").await.status, 200);

    // One row dated tomorrow (the day it is recorded is today, RULES.md §12): nothing recorded,
    // the row named by its line in the sheet.
    let today = roster_domain::clock::business_day(chrono::Utc::now());
    let tomorrow = today + chrono::Days::new(1);
    let sheet = |last: chrono::NaiveDate| {
        format!(
            "日期,类别,企业名称,企业统一社会信用代码,合同金额（元）,产业化项目名称,产值（元）\n\
             {today},服务企业,上传示例企业甲,91110000802100433B,300000,,\n\
             {today},项目产业化,,,,上传示例项目,5000000\n\
             {last},服务企业,上传示例企业乙,91110000802100433B,200000,,\n"
        )
    };
    let bad = sheet(tomorrow);
    let r = a
        .upload_services(platform, "services.csv", bad.as_bytes())
        .await;
    assert_eq!(r.status, 200);
    assert!(r.body.contains("未登记任何一行"), "{}", r.body);
    assert!(r.body.contains("第 4 行"), "the sheet's line: {}", r.body);
    assert!(
        r.body.contains("不能登记尚未发生的服务") && !r.body.contains("cannot be recorded"),
        "the row's refusal in Chinese: {}",
        r.body
    );
    assert!(
        r.body.contains("class=\"refused\" data-line=\"4\""),
        "{}",
        r.body
    );
    assert_eq!(services().await, before, "nothing applied");

    // A row that cannot be read: also nothing, every bad line named.
    let unreadable = format!("{}2026-02-30,咨询,,,,,\n", sheet(today));
    let r = a
        .upload_services(platform, "services.csv", unreadable.as_bytes())
        .await;
    assert!(r.body.contains("data-line=\"5\""), "{}", r.body);
    assert_eq!(services().await, before);

    // The corrected sheet: three services; the same file again records nothing twice.
    let good = sheet(today);
    let r = a
        .upload_services(platform, "services.csv", good.as_bytes())
        .await;
    assert!(r.body.contains("已登记 3"), "{}", r.body);
    assert_eq!(services().await, before + 3);
    let r = a
        .upload_services(platform, "services.csv", good.as_bytes())
        .await;
    assert!(r.body.contains("此前已登记"), "{}", r.body);
    assert_eq!(services().await, before + 3);

    // Another applicant may not upload to this platform.
    let other = Uscc::with_check_character("91320100MA1111111").unwrap();
    let other = app.token(Role::Applicant, Some(other.as_str())).await;
    let (_, o) = sign_in(&app, &other).await;
    let r = o
        .unwrap()
        .upload_services(platform, "services.csv", good.as_bytes())
        .await;
    assert_eq!(r.status, 404, "{}", r.body);
}

pub(crate) async fn each_user_is_told_of_what_concerns_them_and_marks_it_read(app: TestApp) {
    // `js-browser`: submitted by a Nanjing applicant in the open round (Jiangsu needs no city
    // endorsement in it).
    let platform = demo_with_an_open_round(&app).await;
    let uscc = Uscc::with_check_character("91320100MA1234567").unwrap();
    let applicant = app.token(Role::Applicant, Some(uscc.as_str())).await;
    let (_, a) = sign_in(&app, &applicant).await;
    let a = a.unwrap();
    let unread = |body: &str| -> usize {
        let at = body.find("id=\"count-unread\">").expect("the unread count") + 18;
        body[at..].split('<').next().unwrap().parse().unwrap()
    };
    // Its own submission tells the applicant nothing; the city and the province hear of it.
    let page = a.get("/ui/notifications").await.body;
    assert!(
        !page.contains(&format!("/ui/platforms/{platform}\"")),
        "{page}"
    );
    let nanjing = app.token(Role::City, Some("320100")).await;
    let (_, c) = sign_in(&app, &nanjing).await;
    let c = c.unwrap();
    let page = c.get("/ui/notifications").await.body;
    assert!(
        page.contains("data-event=\"ApplicationSubmitted\""),
        "{page}"
    );
    let wuxi = app.token(Role::City, Some("320200")).await;
    let (_, w) = sign_in(&app, &wuxi).await;
    let page = w.unwrap().get("/ui/notifications").await.body;
    assert!(
        !page.contains(&format!("/ui/platforms/{platform}\"")),
        "another city's"
    );

    // The province recommends: the applicant is told, unread, on its inbox and in the centre.
    let jiangsu = app.token(Role::Province, Some("32")).await;
    act(
        &app,
        &jiangsu,
        &platform,
        "province-recommendation",
        serde_json::json!({"opinion": "同意推荐", "rank": 1}),
    )
    .await;
    let page = a.get("/ui/notifications").await.body;
    assert!(
        page.contains("data-event=\"ProvinceRecommended\""),
        "{page}"
    );
    assert!(page.contains("class=\"unread\""));
    assert_eq!(unread(&page), 1);
    assert_eq!(unread(&a.get("/ui/inbox").await.body), 1);

    // Marked read: nothing unread; the next decision is unread again.
    let shown = a.get("/ui/notifications").await.body;
    let upto = hidden(&shown, "upto").expect("the newest shown is what is marked read");
    let r = a
        .post(
            "/ui/notifications/read",
            &[("csrf", &a.csrf), ("upto", &upto)],
            None,
        )
        .await;
    assert_eq!(r.status, 303);
    assert_eq!(unread(&a.get("/ui/notifications").await.body), 0);
    app.clock.advance(chrono::Duration::minutes(5));
    let ministry = app.token(Role::Ministry, None).await;
    act(
        &app,
        &ministry,
        &platform,
        "expert-evaluation",
        serde_json::json!({"score": 88, "passed": true}),
    )
    .await;
    let page = a.get("/ui/notifications").await.body;
    assert_eq!(unread(&page), 1);
    assert!(page.contains("data-event=\"ExpertEvaluationRecorded\""));
    // Without the session's CSRF token nothing is marked.
    let r = a
        .post("/ui/notifications/read", &[("csrf", "forged")], None)
        .await;
    assert_eq!(r.status, 403);
    assert_eq!(unread(&a.get("/ui/notifications").await.body), 1);
}

/// What the sink was sent: per message, the envelope's recipients and the raw message.
type Received = std::sync::Arc<std::sync::Mutex<Vec<(Vec<String>, String)>>>;

/// A local SMTP server that keeps what it is sent (the envelope's recipients and the raw
/// message), for the e-mail tests; answers every command as a relay would.
pub(crate) struct SmtpSink {
    pub(crate) port: u16,
    pub(crate) received: Received,
    task: tokio::task::JoinHandle<()>,
}

impl SmtpSink {
    pub(crate) async fn start(port: u16) -> SmtpSink {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .expect("the SMTP sink binds");
        let port = listener.local_addr().unwrap().port();
        let received: Received = Default::default();
        let store = received.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((socket, _)) = listener.accept().await else {
                    return;
                };
                let store = store.clone();
                tokio::spawn(async move {
                    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
                    let (read, mut write) = socket.into_split();
                    let mut lines = BufReader::new(read).lines();
                    let _ = write.write_all(b"220 sink ESMTP\r\n").await;
                    let mut rcpt = Vec::new();
                    while let Ok(Some(line)) = lines.next_line().await {
                        let upper = line.to_ascii_uppercase();
                        let reply: &[u8] = if upper.starts_with("EHLO") || upper.starts_with("HELO")
                        {
                            b"250-sink\r\n250 8BITMIME\r\n"
                        } else if upper.starts_with("RCPT TO:") {
                            rcpt.push(line[8..].trim().trim_matches(['<', '>']).to_string());
                            b"250 ok\r\n"
                        } else if upper.starts_with("DATA") {
                            let _ = write.write_all(b"354 go on\r\n").await;
                            let mut data = String::new();
                            while let Ok(Some(l)) = lines.next_line().await {
                                if l == "." {
                                    break;
                                }
                                data.push_str(&l);
                                data.push('\n');
                            }
                            store
                                .lock()
                                .unwrap()
                                .push((std::mem::take(&mut rcpt), data));
                            b"250 queued\r\n"
                        } else if upper.starts_with("QUIT") {
                            let _ = write.write_all(b"221 bye\r\n").await;
                            return;
                        } else {
                            b"250 ok\r\n"
                        };
                        if write.write_all(reply).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        SmtpSink {
            port,
            received,
            task,
        }
    }

    /// Stops accepting (the relay is down).
    pub(crate) fn stop(self) -> u16 {
        self.task.abort();
        self.port
    }

    pub(crate) fn to(&self, address: &str) -> Vec<String> {
        self.received
            .lock()
            .unwrap()
            .iter()
            .filter(|(rcpt, _)| rcpt.iter().any(|r| r == address))
            .map(|(_, m)| m.clone())
            .collect()
    }
}

/// An application of today that mails its notifications through `sink`.
pub(crate) async fn mailing_app(kind: crate::app::Kind, sink: &SmtpSink) -> TestApp {
    let port = sink.port;
    crate::app::spawn_app_configured(
        kind,
        crate::app::SimClock::at(
            &roster_domain::clock::business_day(chrono::Utc::now()).to_string(),
        ),
        roster_domain::policies::PolicyConfig::default(),
        true,
        move |s| {
            s.mail = Some(roster_app::mailer::MailSettings {
                host: "127.0.0.1".into(),
                port,
                from: "roster@example.gov.cn".into(),
            })
        },
    )
    .await
}

/// Waits until `sink` has `n` messages to `address`.
async fn mailed(sink: &SmtpSink, address: &str, n: usize) -> Vec<String> {
    for _ in 0..200 {
        let got = sink.to(address);
        if got.len() >= n {
            return got;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!(
        "{n} message(s) to {address} expected, got {}",
        sink.to(address).len()
    );
}

pub(crate) async fn notifications_are_mailed_once_and_none_is_lost_while_the_relay_is_down(
    kind: crate::app::Kind,
) {
    let sink = SmtpSink::start(0).await;
    let app = mailing_app(kind, &sink).await;
    let platform = demo_with_an_open_round(&app).await;
    let uscc = Uscc::with_check_character("91320100MA1234567").unwrap();
    let applicant = app.token(Role::Applicant, Some(uscc.as_str())).await;
    let (_, a) = sign_in(&app, &applicant).await;
    let a = a.unwrap();
    // Not an address: refused, nothing saved.
    a.post(
        "/ui/notifications/email",
        &[("csrf", &a.csrf), ("email", "not an address")],
        None,
    )
    .await;
    assert!(a
        .get("/ui/notifications")
        .await
        .body
        .contains("“not an address”不是电子邮箱地址"));
    let r = a
        .post(
            "/ui/notifications/email",
            &[("csrf", &a.csrf), ("email", "shenbao@example.com")],
            None,
        )
        .await;
    assert_eq!(r.status, 303);
    assert!(a
        .get("/ui/notifications")
        .await
        .body
        .contains("value=\"shenbao@example.com\""));

    let jiangsu = app.token(Role::Province, Some("32")).await;
    let r = act(
        &app,
        &jiangsu,
        &platform,
        "province-recommendation",
        serde_json::json!({"opinion": "同意推荐", "rank": 1}),
    )
    .await;
    let recommended = r.body["events"][0]["event_id"]
        .as_str()
        .unwrap()
        .to_string();
    let got = mailed(&sink, "shenbao@example.com", 1).await;
    assert!(
        got[0].contains(&format!("Message-ID: <{recommended}.")),
        "{}",
        got[0]
    );
    assert!(got[0].contains("Subject: "), "{}", got[0]);

    // The relay goes down; the ministry's evaluation is recorded meanwhile; the relay comes
    // back on the same port and the message arrives, once; nothing is sent twice.
    let port = sink.stop();
    let ministry = app.token(Role::Ministry, None).await;
    let r = act(
        &app,
        &ministry,
        &platform,
        "expert-evaluation",
        serde_json::json!({"score": 90, "passed": true}),
    )
    .await;
    let evaluated = r.body["events"][0]["event_id"]
        .as_str()
        .unwrap()
        .to_string();
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    // The operator sees the sender behind (status, metrics) while the relay is down.
    let status = app.get(Some(&ministry), "/api/v1/status").await.body;
    assert!(status["mail_lag"].as_u64().unwrap() > 0, "{status}");
    let sink = SmtpSink::start(port).await;
    let got = mailed(&sink, "shenbao@example.com", 1).await;
    assert!(
        got[0].contains(&format!("Message-ID: <{evaluated}.")),
        "{}",
        got[0]
    );
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    assert_eq!(sink.to("shenbao@example.com").len(), 1, "nothing twice");
    let status = app.get(Some(&ministry), "/api/v1/status").await.body;
    assert_eq!(status["mail_lag"], 0, "{status}");
    drop(app);
}

pub(crate) async fn a_province_sees_national_targets_as_national_with_its_share(app: TestApp) {
    app.load_demo().await;
    let ministry = app.token(Role::Ministry, None).await;
    let guangdong = app.token(Role::Province, Some("44")).await;
    let national = app.get(Some(&ministry), "/api/v1/reports/kpi").await.body;
    let seen = app.get(Some(&guangdong), "/api/v1/reports/kpi").await.body;
    let k1 = |r: &serde_json::Value, set: &str| {
        r["targets"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["target_set_id"] == set && t["metric"] == "listed_platforms")
            .cloned()
            .unwrap_or_else(|| panic!("K-1 of {set} in {r}"))
    };
    let n = k1(&national, "national-2027");
    let g = k1(&seen, "national-2027");
    // The national target keeps the national figure and status; Guangdong's part beside it.
    assert_eq!(g["value"], n["value"]);
    assert_eq!(g["status"], n["status"]);
    assert!(n.get("province_value").is_none());
    let own = seen["values"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["metric"] == "listed_platforms")
        .unwrap()["value"]
        .clone();
    assert_eq!(g["province_value"], own, "Guangdong's own listed platforms");
    assert!(own.as_u64().unwrap() < n["value"].as_u64().unwrap());
    // Its own target set is scored on its own platforms.
    let analyst = app.token(Role::Analyst, None).await;
    let plan = serde_json::json!({"command_id": uuid::Uuid::new_v4(),
        "target_set_id": "guangdong-2027", "name": "广东省2027年目标",
        "targets": [{"metric": "listed_platforms", "province": "44", "comparator": ">=",
                     "threshold": 6, "deadline": "2027-12-31"}]});
    let r = app.post(&analyst, "/api/v1/targets", &plan).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let seen = app.get(Some(&guangdong), "/api/v1/reports/kpi").await.body;
    let plan = k1(&seen, "guangdong-2027");
    assert_eq!(plan["value"], own);
    assert_eq!(plan["scope"], "province=44");
    assert!(plan.get("province_value").is_none());

    // The page says so, and says how the K-1 forecast is made: the demo's platforms were all
    // listed on one day, more than a year before today, so the window holds no listing day and
    // the monthly extrapolation is flagged.
    assert_eq!(n["listing_days_in_window"], 0);
    let (_, p) = sign_in(&app, &guangdong).await;
    let page = p.unwrap().get("/ui/targets").await.body;
    assert!(page.contains("本省贡献"), "{page}");
    assert!(page.contains(&format!("<strong class=\"province-value\">{own}</strong>")));
    assert!(page.contains("测算方法"));
    assert!(page.contains("名单按批次发布"));
}

pub(crate) async fn the_roster_table_searches_sorts_and_filters_by_city(app: TestApp) {
    app.load_demo().await;
    let ministry = app.token(Role::Ministry, None).await;
    let (_, m) = sign_in(&app, &ministry).await;
    let m = m.unwrap();
    let rows = |body: &str| -> Vec<String> {
        body.split("data-platform=\"")
            .skip(1)
            .map(|s| s.split('"').next().unwrap().to_string())
            .collect()
    };
    let all = rows(&m.get("/ui/roster").await.body);
    assert!(all.len() > 5, "{all:?}");
    // Search: every word, in names, units and codes.
    let found = m.get("/ui/roster?q=%E6%B7%B1%E5%9C%B3").await.body; // 深圳
    let shenzhen = rows(&found);
    assert!(
        !shenzhen.is_empty() && shenzhen.len() < all.len(),
        "{shenzhen:?}"
    );
    assert!(
        shenzhen.iter().all(|p| p.starts_with("gd-sz")),
        "{shenzhen:?}"
    );
    assert!(found.contains("id=\"page-of\""));
    // City filter (a Dongguan platform by its city code).
    let dongguan = rows(&m.get("/ui/roster?city=441900").await.body);
    assert_eq!(dongguan, ["gd-dg-enzyme"]);
    // Sorted by name one way and the other: the same rows, in reverse order.
    let by_name = rows(&m.get("/ui/roster?sort=platform&dir=asc").await.body);
    let by_name_desc = rows(&m.get("/ui/roster?sort=platform&dir=desc").await.body);
    assert_eq!(by_name.len(), all.len());
    let mut reversed = by_name_desc.clone();
    reversed.reverse();
    assert_eq!(by_name, reversed);
    // The download takes the search (all pages), and a bad sort column is refused by name.
    let csv = m.get("/ui/roster.csv?q=%E6%B7%B1%E5%9C%B3").await.body;
    assert_eq!(csv.lines().count(), shenzhen.len() + 1, "{csv}");
    // The download names status and domains as the page does, beside their codes.
    assert!(
        csv.lines().next().unwrap().contains("status,status_name"),
        "{csv}"
    );
    assert!(csv.contains(",listed,已入列,"), "{csv}");
    // The funnel's application list searches and sorts the same way.
    let funnel = m
        .get("/ui/funnel?round=2025&sort=submitted&dir=desc&q=%E6%B7%B1%E5%9C%B3")
        .await;
    assert_eq!(funnel.status, 200);
    let listed = rows(&funnel.body);
    assert!(
        !listed.is_empty() && listed.iter().all(|p| p.starts_with("gd-sz")),
        "{listed:?}"
    );
    assert!(funnel.body.contains("aria-sort=\"descending\""));
    // The reviews board: triggers in Chinese, one search over reviews and incidents.
    let reviews = m.get("/ui/reviews").await.body;
    assert!(reviews.contains("<td>三年复核</td>"), "{reviews}");
    assert!(!reviews.contains("<td>triennial</td>"));
    let searched = m.get("/ui/reviews?q=%E6%B7%B1%E5%9C%B3").await.body; // 深圳
    let platforms = rows(&searched);
    assert!(
        !platforms.is_empty() && platforms.iter().all(|p| p.starts_with("gd-sz")),
        "{platforms:?}"
    );
    // Its tables sort by column: the scheduled reviews by platform one way and the other.
    let scheduled = |body: &str| {
        let at = body
            .find("id=\"reviews-scheduled\"")
            .expect("the scheduled table");
        let table = &body[at..];
        rows(&table[..table.find("</table>").unwrap()])
    };
    let asc = scheduled(&m.get("/ui/reviews?sort=platform&dir=asc").await.body);
    let mut desc = scheduled(&m.get("/ui/reviews?sort=platform&dir=desc").await.body);
    assert!(asc.len() > 1, "{asc:?}");
    desc.reverse();
    assert_eq!(asc, desc);
    let by_due = m.get("/ui/reviews?sort=due&dir=desc&page=1").await;
    assert_eq!(by_due.status, 200);
    assert!(by_due.body.contains("aria-sort=\"descending\""));
    // A bad sort column is refused by name, in Chinese on a Chinese page.
    let bad = m.get("/ui/roster?sort=password").await;
    assert_eq!(bad.status, 400);
    assert!(bad.body.contains("不能按“password”排序"), "{}", bad.body);
    assert_eq!(m.get("/ui/reviews?sort=password").await.status, 400);
}
