//! The OpenAPI 3.1 document, served at `/api/v1/openapi.json`. Schemas come from the domain
//! types (utoipa derives); the command paths are generated from the same route table the
//! router uses, so the document cannot drift from the endpoints.

use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::NaiveDate;
use roster_domain::commands::*;
use roster_domain::service::CommandOutcome;
use roster_domain::targets::{Comparator, DefineTargetSet, Metric, RetireTargetSet, Target};
use roster_projections::PlatformSummary;
use serde::Serialize;
use utoipa::openapi::path::{HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::schema::{AllOfBuilder, Ref};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Required, ResponseBuilder};
use utoipa::{OpenApi, ToSchema};
use uuid::Uuid;

use crate::auth::Authenticated;
use crate::commands::ROUTES;

/// Fields every command body carries besides the command's own.
#[allow(dead_code)]
#[derive(Serialize, ToSchema)]
pub struct CommandEnvelope {
    /// Client-chosen; the same id sent again returns the first result and appends nothing.
    command_id: Uuid,
    /// The date the decision takes effect (Asia/Shanghai calendar).
    business_date: NaiveDate,
    /// Refuse with 409 `version_conflict` unless the platform's stream is at this version.
    expected_version: Option<u64>,
    correlation_id: Option<Uuid>,
    causation_id: Option<Uuid>,
}

/// RFC 9457 problem details.
#[allow(dead_code)]
#[derive(Serialize, ToSchema)]
pub struct ProblemDetails {
    r#type: String,
    title: String,
    status: u16,
    detail: String,
    /// Stable code: a rule id (`G-4`, `R-1` …) or `state_conflict`, `version_conflict`,
    /// `forbidden`, `invalid_input`, `malformed_json`, `not_found`, `command_id_reused` …
    code: String,
    rule: Option<String>,
    /// Path of the offending field, e.g. `form.site.area_m2`.
    field: Option<String>,
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "National roster of biomanufacturing pilot-scale platforms",
        description = "Applications, recommendations, listing, dynamic management and delisting of the MIIT/NDRC pilot-platform roster (工信厅联消费函〔2025〕234号). Every change is an immutable event.",
        version = "1"
    ),
    components(schemas(
        CommandEnvelope,
        ProblemDetails,
        CommandOutcome,
        PlatformSummary,
        OpenRound,
        SubmitApplication,
        AmendApplication,
        WithdrawApplication,
        EndorseByCity,
        RecommendByProvince,
        RejectByProvince,
        RecordExpertEvaluation,
        StartPublicNotice,
        RecordNoticeObjection,
        ListPlatform,
        RecordService,
        RetractService,
        ReportIncident,
        AssessIncident,
        OpenReview,
        ConcludeReview,
        RecordAnnualEvaluation,
        DelistPlatform,
        DefineTargetSet,
        RetireTargetSet,
        Target,
        Metric,
        Comparator
    ))
)]
struct ApiDoc;

fn problem_response(description: &str) -> utoipa::openapi::Response {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/problem+json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("ProblemDetails")))
                .build(),
        )
        .build()
}

fn command_operation(
    summary: &str,
    command_schema: &str,
    platform: bool,
) -> utoipa::openapi::path::Operation {
    let body = AllOfBuilder::new()
        .item(Ref::from_schema_name("CommandEnvelope"))
        .item(Ref::from_schema_name(command_schema))
        .build();
    let body = utoipa::openapi::RefOr::T(utoipa::openapi::schema::Schema::AllOf(body));
    let mut op = OperationBuilder::new()
        .summary(Some(summary))
        .operation_id(Some(command_schema))
        .tag("commands")
        .request_body(Some(
            RequestBodyBuilder::new()
                .content(
                    "application/json",
                    ContentBuilder::new().schema(Some(body)).build(),
                )
                .required(Some(Required::True))
                .build(),
        ))
        .response(
            "201",
            ResponseBuilder::new()
                .description("accepted: the events appended")
                .content(
                    "application/json",
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("CommandOutcome")))
                        .build(),
                )
                .build(),
        )
        .response(
            "200",
            ResponseBuilder::new()
                .description("the recorded result of the same command id (nothing appended)")
                .build(),
        )
        .response(
            "400",
            problem_response("malformed JSON, unknown or invalid field (field path given)"),
        )
        .response("401", problem_response("no valid bearer token"))
        .response(
            "403",
            problem_response("role or jurisdiction does not allow this"),
        )
        .response(
            "409",
            problem_response("state_conflict, version_conflict, duplicate, command_id_reused"),
        )
        .response("413", problem_response("body too large"))
        .response(
            "422",
            problem_response("a rule refused it (rule id in `code`)"),
        );
    if platform {
        op = op.parameter(
            ParameterBuilder::new()
                .name("platform_id")
                .parameter_in(ParameterIn::Path)
                .required(Required::True)
                .build(),
        );
    }
    op.build()
}

fn get_operation(summary: &str, id: &str, params: &[&str]) -> utoipa::openapi::path::Operation {
    let mut op = OperationBuilder::new()
        .summary(Some(summary))
        .operation_id(Some(id))
        .tag("queries")
        .response("200", ResponseBuilder::new().description("OK").build())
        .response("401", problem_response("no valid bearer token"))
        .response("403", problem_response("outside the actor's jurisdiction"));
    for p in params {
        op = op.parameter(
            ParameterBuilder::new()
                .name(*p)
                .parameter_in(ParameterIn::Path)
                .required(Required::True)
                .build(),
        );
    }
    op.build()
}

pub fn document() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    for (action, command) in ROUTES {
        doc.paths.add_path_operation(
            format!("/api/v1/platforms/{{platform_id}}/{action}"),
            vec![HttpMethod::Post],
            command_operation(command, command, true),
        );
    }
    doc.paths.add_path_operation(
        "/api/v1/rounds",
        vec![HttpMethod::Post],
        command_operation("OpenRound", "OpenRound", false),
    );
    doc.paths.add_path_operation(
        "/api/v1/targets",
        vec![HttpMethod::Post],
        command_operation(
            "Define or revise a KPI target set",
            "DefineTargetSet",
            false,
        ),
    );
    doc.paths.add_path_operation(
        "/api/v1/targets/{target_set_id}/retirement",
        vec![HttpMethod::Post],
        command_operation(
            "Retire a KPI target set (body: reason)",
            "RetireTargetSet",
            false,
        ),
    );
    let gets = [
        ("/api/v1/reports/kpi", "KPI progress against every target set in force (query: as_of, known_at, target_set, round, format=json|csv|xlsx, view)", "getKpiReport", vec![]),
        ("/api/v1/targets", "KPI target sets in force (query: known_at)", "listTargetSets", vec![]),
        ("/api/v1/rounds", "Rounds with their recommendations per province", "listRounds", vec![]),
        ("/api/v1/rounds/{round_id}", "One round and its applications", "getRound", vec!["round_id"]),
        ("/api/v1/platforms", "Applications and platforms (filters: status, province, city, round, domain, offset, limit)", "listPlatforms", vec![]),
        ("/api/v1/platforms/{platform_id}", "Platform detail with its full event history", "getPlatform", vec!["platform_id"]),
        ("/api/v1/platforms/{platform_id}/events", "A platform's events with actor, business date and recorded time", "getPlatformEvents", vec!["platform_id"]),
        ("/api/v1/audit", "Audit log of accepted and refused commands (ministry only)", "getAudit", vec![]),
    ];
    for (path, summary, id, params) in gets {
        doc.paths.add_path_operation(
            path,
            vec![HttpMethod::Get],
            get_operation(summary, id, &params),
        );
    }
    let components = doc.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        "bearer",
        SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
    );
    doc.security = Some(vec![SecurityRequirement::new(
        "bearer",
        Vec::<String>::new(),
    )]);
    doc
}

pub async fn serve(Authenticated(_): Authenticated) -> Response {
    Json(document()).into_response()
}
