//! Administration of the organisation in the browser: new staff accounts,
//! teams and their members, the jurisdiction tree, and API tokens. Like
//! `tracedesk user|team|jurisdiction|token …`, these belong to the whole
//! program: administrators over the root only (`needs::TABLE`,
//! `Root(Administer)`), every change audited before it is made. A new
//! account's temporary password and a new token are shown once, in the
//! answer to the form that made them, never in a URL.

use crate::AppState;
use crate::error::ApiError;
use crate::extract::{Act, Call};
use crate::pages::{html, staff_chrome};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;
use tracedesk_casework::NewUser;
use tracedesk_identity::Role;
use tracedesk_ui::Catalog;
use tracedesk_ui::pages::{
    AdminJurisdictionsPage, AdminTeamsPage, AdminTokensPage, SegmentsPart, TokenLine,
};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/users/add", post(add_user))
        .route("/admin/teams", get(teams).post(add_team))
        .route("/admin/teams/members", post(set_member))
        .route(
            "/admin/jurisdictions",
            get(jurisdictions).post(add_jurisdiction),
        )
        .route("/admin/tokens", get(tokens).post(add_token))
        .route("/admin/tokens/revoke", post(revoke_token))
}

fn t() -> &'static Catalog {
    Catalog::english()
}

fn line(text: String) -> Response {
    html(SegmentsPart { line: text })
}

/// Every jurisdiction's code, sorted (the choices a form offers).
pub(crate) fn codes(s: &AppState) -> Vec<String> {
    s.cw.jurisdictions().codes()
}

#[derive(Deserialize)]
pub struct NewUserForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    jurisdiction: String,
}

/// A new staff account with a temporary password, shown once.
async fn add_user(Act(call, Form(f)): Act<Form<NewUserForm>>) -> Result<Response, ApiError> {
    let role =
        Role::parse(f.role.trim()).ok_or(ApiError::invalid("role", "role: is not a role"))?;
    if f.display_name.trim().is_empty() {
        return Err(ApiError::invalid(
            "display_name",
            "name: give the person's name",
        ));
    }
    let (user, password) = call
        .s
        .cw
        .staff()
        .add_user(NewUser::new(
            f.username.trim(),
            f.display_name.trim(),
            role,
            f.jurisdiction.trim(),
        ))
        .await?;
    Ok(line(t().with(
        "admin-user-added",
        &[
            ("user", &user.username),
            ("password", password.as_deref().unwrap_or("–")),
        ],
    )))
}

async fn teams(call: Call) -> Result<Response, ApiError> {
    let staff = call.s.cw.staff();
    let users = staff.list_users().await?;
    let name_of = |id: &uuid::Uuid| {
        users
            .iter()
            .find(|u| u.id == *id)
            .map(|u| u.username.clone())
            .unwrap_or_default()
    };
    let mut teams: Vec<(String, String, String)> = staff
        .teams()
        .await?
        .into_iter()
        .map(|(team, members)| {
            let mut names: Vec<String> = members.iter().map(name_of).collect();
            names.sort();
            (team.name, team.jurisdiction, names.join(", "))
        })
        .collect();
    teams.sort();
    Ok(html(AdminTeamsPage {
        t: t(),
        chrome: staff_chrome(&call, "admin-title", "/admin/users"),
        tab: "/admin/teams",
        teams,
        jurisdictions: codes(&call.s),
    }))
}

#[derive(Deserialize)]
pub struct TeamForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    jurisdiction: String,
}

async fn add_team(Act(call, Form(f)): Act<Form<TeamForm>>) -> Result<Response, ApiError> {
    let team = call
        .s
        .cw
        .staff()
        .add_team(&f.name, f.jurisdiction.trim())
        .await?;
    Ok(line(t().with("admin-team-added", &[("team", &team.name)])))
}

#[derive(Deserialize)]
pub struct MemberForm {
    #[serde(default)]
    team: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    action: String,
}

/// Adds a staff member to a team, or removes them.
async fn set_member(Act(call, Form(f)): Act<Form<MemberForm>>) -> Result<Response, ApiError> {
    let member = match f.action.as_str() {
        "add" => true,
        "remove" => false,
        _ => return Err(ApiError::invalid("action", "action: add or remove")),
    };
    let staff = call.s.cw.staff();
    let team = staff.team_by_name(&f.team).await?;
    let user = staff
        .user_by_username(&f.username)
        .await?
        .ok_or(ApiError::invalid("username", "username: no such account"))?;
    staff.set_team_member(team.id, user.id, member).await?;
    let id = if member {
        "admin-member-added"
    } else {
        "admin-member-removed"
    };
    Ok(line(t().with(
        id,
        &[("user", f.username.trim()), ("team", &team.name)],
    )))
}

async fn jurisdictions(call: Call) -> Result<Response, ApiError> {
    let mut rows: Vec<(String, String, String)> = call
        .s
        .cw
        .staff()
        .jurisdiction_rows()
        .await?
        .into_iter()
        .map(|j| (j.code, j.name, j.parent.unwrap_or_default()))
        .collect();
    rows.sort();
    Ok(html(AdminJurisdictionsPage {
        t: t(),
        chrome: staff_chrome(&call, "admin-title", "/admin/users"),
        tab: "/admin/jurisdictions",
        rows,
    }))
}

#[derive(Deserialize)]
pub struct JurisdictionForm {
    #[serde(default)]
    code: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    parent: String,
}

async fn add_jurisdiction(
    Act(call, Form(f)): Act<Form<JurisdictionForm>>,
) -> Result<Response, ApiError> {
    let code = f.code.trim();
    if f.name.trim().is_empty() {
        return Err(ApiError::invalid(
            "name",
            "name: give the jurisdiction's name",
        ));
    }
    let parent = Some(f.parent.trim()).filter(|p| !p.is_empty());
    call.s
        .cw
        .staff()
        .add_jurisdiction(code, &f.name, parent)
        .await?;
    Ok(line(
        t().with("admin-jurisdiction-added", &[("code", code)]),
    ))
}

async fn tokens(call: Call) -> Result<Response, ApiError> {
    let staff = call.s.cw.staff();
    let users = staff.list_users().await?;
    let mut tokens: Vec<TokenLine> = staff
        .list_tokens()
        .await?
        .into_iter()
        .map(|k| TokenLine {
            user: k
                .user_id
                .and_then(|id| users.iter().find(|u| u.id == id))
                .map(|u| u.username.clone())
                .unwrap_or_default(),
            created: k.created_at.format("%Y-%m-%d %H:%M UTC").to_string(),
            state: t().get(if k.revoked_at.is_some() {
                "admin-token-revoked"
            } else {
                "admin-token-live"
            }),
            live: k.revoked_at.is_none(),
            name: k.name,
        })
        .collect();
    tokens.sort_by(|a, b| (!a.live, &a.name).cmp(&(!b.live, &b.name)));
    Ok(html(AdminTokensPage {
        t: t(),
        chrome: staff_chrome(&call, "admin-title", "/admin/users"),
        tab: "/admin/tokens",
        tokens,
    }))
}

#[derive(Deserialize)]
pub struct TokenForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    username: String,
}

/// A new API token for an account, shown once.
async fn add_token(Act(call, Form(f)): Act<Form<TokenForm>>) -> Result<Response, ApiError> {
    let name = f.name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(ApiError::invalid("name", "name: 1 to 100 characters"));
    }
    let staff = call.s.cw.staff();
    let user = staff
        .user_by_username(&f.username)
        .await?
        .filter(|u| u.disabled_at.is_none())
        .ok_or(ApiError::invalid(
            "username",
            "username: no such active account",
        ))?;
    let token = staff.create_token(name, user.id).await?;
    Ok(line(t().with(
        "admin-token-made",
        &[("name", name), ("token", &token)],
    )))
}

#[derive(Deserialize)]
pub struct RevokeForm {
    #[serde(default)]
    name: String,
}

async fn revoke_token(Act(call, Form(f)): Act<Form<RevokeForm>>) -> Result<Response, ApiError> {
    let staff = call.s.cw.staff();
    let holders: Vec<uuid::Uuid> = staff
        .list_tokens()
        .await?
        .into_iter()
        .filter(|k| k.name == f.name.trim())
        .filter_map(|k| k.user_id)
        .collect();
    let n = staff.revoke_tokens(f.name.trim()).await?;
    // Callers are cached for a moment: the revoked token stops here now.
    for u in holders {
        call.s.callers.forget_user(u);
    }
    Ok(line(t().with(
        "admin-revoked",
        &[("count", &n.to_string()), ("name", f.name.trim())],
    )))
}
