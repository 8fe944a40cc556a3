//! Administration in the browser: staff accounts (unlock, reset the second
//! factor, disable, enable) and the program's text templates (edited with a
//! live GSM-7/UCS-2 segment count). Accounts and templates belong to the
//! whole program, so these are for administrators over the root
//! (`needs::TABLE`, `Root(Administer)`), like `tracedesk user …` and
//! `/api/v1/templates`; every change is audited before it is made.

use crate::AppState;
use crate::error::ApiError;
use crate::extract::{Act, Call};
use crate::pages::{html, staff_chrome};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;
use tracedesk_ui::Catalog;
use tracedesk_ui::pages::{
    AdminTemplatesPage, AdminUsersPage, SegmentsPart, TemplateLine, UserLine,
};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/users", get(users))
        .route("/admin/users/unlock", post(unlock))
        .route("/admin/users/reset-mfa", post(reset_mfa))
        .route("/admin/users/disable", post(disable))
        .route("/admin/users/enable", post(enable))
        .route("/admin/templates", get(templates).post(save_template))
}

fn t() -> &'static Catalog {
    Catalog::english()
}

async fn users(call: Call) -> Result<Response, ApiError> {
    let me = call.caller.user.id;
    let users = call
        .s
        .cw
        .staff()
        .list_users()
        .await?
        .into_iter()
        .map(|u| {
            let who = u.username.clone();
            let of = |id: &str| t().with(id, &[("user", &who)]);
            let mut actions = Vec::new();
            if u.locked {
                actions.push(("unlock", t().get("admin-unlock"), of("admin-unlock-of")));
            }
            if u.mfa_enrolled {
                actions.push((
                    "reset-mfa",
                    t().get("admin-reset-mfa"),
                    of("admin-reset-mfa-of"),
                ));
            }
            if u.disabled {
                actions.push(("enable", t().get("admin-enable"), of("admin-enable-of")));
            } else if u.id != me {
                actions.push(("disable", t().get("admin-disable"), of("admin-disable-of")));
            }
            UserLine {
                username: u.username,
                name: u.display_name,
                role: u.role,
                jurisdiction: u.jurisdiction,
                mfa: t().get(if u.mfa_enrolled {
                    "admin-mfa-on"
                } else {
                    "admin-mfa-off"
                }),
                state: t().get(if u.disabled {
                    "admin-disabled"
                } else if u.locked {
                    "admin-locked"
                } else {
                    "admin-active"
                }),
                actions,
            }
        })
        .collect();
    Ok(html(AdminUsersPage {
        t: t(),
        chrome: staff_chrome(&call, "admin-title", "/admin/users"),
        tab: "/admin/users",
        users,
        roles: tracedesk_identity::Role::ALL
            .iter()
            .map(|r| r.as_str())
            .collect(),
        jurisdictions: crate::admin_org::codes(&call.s),
    }))
}

/// The account an action is for.
#[derive(Deserialize)]
pub struct UserForm {
    username: String,
}

fn done(user: &str, state: &str) -> Response {
    html(SegmentsPart {
        line: t().with("admin-done", &[("user", user), ("state", &t().get(state))]),
    })
}

async fn unlock(Act(call, Form(f)): Act<Form<UserForm>>) -> Result<Response, ApiError> {
    call.s.cw.staff().unlock_user(&f.username).await?;
    Ok(done(&f.username, "admin-active"))
}

async fn reset_mfa(Act(call, Form(f)): Act<Form<UserForm>>) -> Result<Response, ApiError> {
    call.s.cw.staff().reset_mfa(&f.username).await?;
    Ok(done(&f.username, "admin-mfa-off"))
}

async fn disable(Act(call, Form(f)): Act<Form<UserForm>>) -> Result<Response, ApiError> {
    let own = call.s.cw.staff().user_by_username(&f.username).await?;
    if own.is_some_and(|u| u.id == call.caller.user.id) {
        return Err(ApiError::invalid(
            "username",
            "is your own account: another administrator must disable it",
        ));
    }
    call.s.cw.staff().disable_user(&f.username).await?;
    Ok(done(&f.username, "admin-disabled"))
}

async fn enable(Act(call, Form(f)): Act<Form<UserForm>>) -> Result<Response, ApiError> {
    call.s.cw.staff().enable_user(&f.username).await?;
    Ok(done(&f.username, "admin-active"))
}

async fn templates(call: Call) -> Result<Response, ApiError> {
    let templates = call
        .s
        .cw
        .messages()
        .templates()
        .await?
        .into_iter()
        .filter(|v| v.channel == "sms")
        .map(|v| TemplateLine {
            key: format!("{}-{}-{}", v.name, v.channel, v.language),
            title: format!("{} · {}", t().of("template", &v.name), v.language),
            segments: crate::desk::segment_line(&v.body),
            edited: v.source == "edited",
            name: v.name,
            channel: v.channel,
            language: v.language,
            body: v.body,
        })
        .collect();
    Ok(html(AdminTemplatesPage {
        t: t(),
        chrome: staff_chrome(&call, "admin-title", "/admin/users"),
        tab: "/admin/templates",
        templates,
    }))
}

/// A template's new text.
#[derive(Deserialize)]
pub struct TemplateForm {
    name: String,
    channel: String,
    language: String,
    body: String,
}

async fn save_template(Act(call, Form(f)): Act<Form<TemplateForm>>) -> Result<Response, ApiError> {
    call.s
        .cw
        .messages()
        .by(call.caller.user.id)
        .put_template(&f.name, &f.channel, &f.language, &f.body)
        .await?;
    Ok(html(SegmentsPart {
        line: t().get("admin-template-saved"),
    }))
}
