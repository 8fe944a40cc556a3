//! `tracedesk user|team|jurisdiction …`: account administration from the
//! command line. Every change is audited with the CLI as the actor.

use crate::config::Config;
use crate::runtime;
use anyhow::{Context, bail};
use clap::Subcommand;
use tracedesk_casework::auditor::draft;
use tracedesk_casework::{Casework, NewUser};
use tracedesk_identity::Role;
use tracedesk_store::audit::Action;

#[derive(Subcommand)]
pub enum UserAction {
    /// Create an account. Without --password-file a temporary password is
    /// printed once and must be changed at first sign-in.
    Add {
        /// The sign-in name (letters, digits, `.`, `-`, `_`).
        #[arg(long)]
        username: String,
        /// The person's name (sealed; shown to admins and supervisors).
        #[arg(long)]
        name: String,
        /// tracer, supervisor, analyst, admin or integration.
        #[arg(long)]
        role: String,
        /// The jurisdiction the account works in (and below).
        #[arg(long, default_value = "root")]
        jurisdiction: String,
        /// Read the initial password from this file instead.
        #[arg(long)]
        password_file: Option<std::path::PathBuf>,
        /// Allow signing in without a second factor (not recommended).
        #[arg(long)]
        no_mfa: bool,
    },
    /// Disable an account: its sessions end and its API tokens stop working.
    Disable {
        /// The account's username.
        username: String,
    },
    /// Re-enable a disabled account.
    Enable {
        /// The account's username.
        username: String,
    },
    /// Lift a lockout after repeated failed sign-ins.
    Unlock {
        /// The account's username.
        username: String,
    },
    /// Set a temporary password (printed once) that must be changed at next sign-in.
    ResetPassword {
        /// The account's username.
        username: String,
    },
    /// Forget the second factor; the user enrols again at next sign-in.
    ResetMfa {
        /// The account's username.
        username: String,
    },
    /// Let a user (an analyst, typically) open PHI records within their
    /// jurisdictions, beyond what their role allows.
    GrantPhi {
        /// The account's username.
        username: String,
    },
    /// Withdraw a PHI grant.
    RevokePhi {
        /// The account's username.
        username: String,
    },
    /// List accounts.
    List,
}

#[derive(Subcommand)]
pub enum TeamAction {
    /// Create a team in a jurisdiction.
    Add {
        /// The team's name.
        #[arg(long)]
        name: String,
        /// The jurisdiction the team works in.
        #[arg(long, default_value = "root")]
        jurisdiction: String,
    },
    /// Add a user to a team.
    AddMember {
        /// The team's name.
        #[arg(long)]
        team: String,
        /// The member's username.
        #[arg(long)]
        username: String,
    },
    /// Remove a user from a team.
    RemoveMember {
        /// The team's name.
        #[arg(long)]
        team: String,
        /// The member's username.
        #[arg(long)]
        username: String,
    },
    /// List teams and their members.
    List,
}

#[derive(Subcommand)]
pub enum JurisdictionAction {
    /// Add (or rename) a jurisdiction under a parent.
    Add {
        /// Its code (lower-case letters, digits, - and _), used everywhere else.
        #[arg(long)]
        code: String,
        /// Its name, for people.
        #[arg(long)]
        name: String,
        /// The code of the jurisdiction it lies in.
        #[arg(long, default_value = "root")]
        parent: String,
    },
    /// List jurisdictions as a tree.
    List,
}

pub(crate) async fn record(
    cw: &Casework,
    action: Action,
    object: &str,
    id: Option<uuid::Uuid>,
    detail: &str,
) -> anyhow::Result<()> {
    if let Some(a) = cw.auditor() {
        a.record(vec![draft("cli", action, object, id, None, detail)])
            .await?;
        a.checkpoint().await?;
    }
    Ok(())
}

/// Audits a change to a staff account, before the command reports it.
async fn user_changed(cw: &Casework, user: uuid::Uuid, what: &str) -> anyhow::Result<()> {
    record(cw, Action::PermissionChange, "user", Some(user), what).await
}

pub async fn user(config: &Config, action: UserAction) -> anyhow::Result<()> {
    let cw = runtime::open(config).await?;
    match action {
        UserAction::Add {
            username,
            name,
            role,
            jurisdiction,
            password_file,
            no_mfa,
        } => {
            let Some(role) = Role::parse(&role) else {
                bail!("--role must be one of tracer, supervisor, analyst, admin, integration");
            };
            let password = password_file
                .map(|p| {
                    std::fs::read_to_string(&p)
                        .with_context(|| format!("cannot read {}", p.display()))
                        .map(|s| s.trim_end_matches(['\r', '\n']).to_string())
                })
                .transpose()?;
            let (v, temp) = cw
                .staff()
                .add_user(NewUser {
                    username,
                    display_name: name,
                    role,
                    jurisdiction,
                    password,
                    mfa_required: !no_mfa,
                })
                .await
                .map_err(describe)?;
            user_changed(&cw, v.id, &format!("user created with role {}", v.role)).await?;
            println!("created user {} ({}) id {}", v.username, v.role, v.id);
            if let Some(t) = temp {
                eprintln!("temporary password (shown once; must be changed at first sign-in):");
                println!("{t}");
            }
        }
        UserAction::Disable { username } => {
            let u = cw.staff().disable_user(&username).await.map_err(describe)?;
            user_changed(&cw, u.id, "user disabled; sessions ended").await?;
            println!("disabled {username}");
        }
        UserAction::Enable { username } => {
            let u = cw.staff().enable_user(&username).await.map_err(describe)?;
            user_changed(&cw, u.id, "user enabled").await?;
            println!("enabled {username}");
        }
        UserAction::Unlock { username } => {
            let u = cw.staff().unlock_user(&username).await.map_err(describe)?;
            user_changed(&cw, u.id, "user unlocked").await?;
            println!("unlocked {username}");
        }
        UserAction::ResetPassword { username } => {
            let (u, temp) = cw
                .staff()
                .reset_password(&username)
                .await
                .map_err(describe)?;
            user_changed(&cw, u.id, "password reset; change forced; sessions ended").await?;
            eprintln!(
                "temporary password for {username} (shown once; must be changed at next sign-in):"
            );
            println!("{temp}");
        }
        UserAction::ResetMfa { username } => {
            let u = cw.staff().reset_mfa(&username).await.map_err(describe)?;
            user_changed(&cw, u.id, "second factor reset; sessions ended").await?;
            println!("second factor of {username} reset; they enrol again at next sign-in");
        }
        UserAction::GrantPhi { username } => {
            let u = cw
                .staff()
                .set_phi_grant(&username, true)
                .await
                .map_err(describe)?;
            user_changed(
                &cw,
                u.id,
                "PHI access granted within the user's jurisdictions",
            )
            .await?;
            println!(
                "{username} may now open PHI records within {}",
                u.jurisdiction
            );
        }
        UserAction::RevokePhi { username } => {
            let u = cw
                .staff()
                .set_phi_grant(&username, false)
                .await
                .map_err(describe)?;
            user_changed(&cw, u.id, "PHI access grant withdrawn").await?;
            println!("{username} no longer has a PHI grant");
        }
        UserAction::List => {
            println!(
                "{:<24} {:<12} {:<16} {:<5} state",
                "username", "role", "jurisdiction", "mfa"
            );
            for v in cw.staff().list_users().await.map_err(describe)? {
                let grant = if v.phi_granted { ", PHI grant" } else { "" };
                let state = if v.disabled {
                    "disabled"
                } else if v.locked {
                    "locked"
                } else if v.must_change_password {
                    "must change password"
                } else {
                    "active"
                };
                let mfa = if v.mfa_enrolled {
                    "yes"
                } else if v.mfa_required {
                    "due"
                } else {
                    "off"
                };
                println!(
                    "{:<24} {:<12} {:<16} {:<5} {state}{grant}",
                    v.username, v.role, v.jurisdiction, mfa
                );
            }
        }
    }
    Ok(())
}

pub async fn team(config: &Config, action: TeamAction) -> anyhow::Result<()> {
    let cw = runtime::open(config).await?;
    match action {
        TeamAction::Add { name, jurisdiction } => {
            let t = cw
                .staff()
                .add_team(&name, &jurisdiction)
                .await
                .map_err(describe)?;
            record(
                &cw,
                Action::PermissionChange,
                "team",
                Some(t.id),
                "team created",
            )
            .await?;
            println!("created team {} in {}", t.name, t.jurisdiction);
        }
        TeamAction::AddMember { team, username } => {
            let t = cw.staff().team_by_name(&team).await.map_err(describe)?;
            let u = cw.staff().require_user(&username).await.map_err(describe)?;
            cw.staff()
                .set_team_member(t.id, u.id, true)
                .await
                .map_err(describe)?;
            record(
                &cw,
                Action::PermissionChange,
                "team",
                Some(t.id),
                &format!("member added: user:{}", u.id),
            )
            .await?;
            println!("{username} is now in {team}");
        }
        TeamAction::RemoveMember { team, username } => {
            let t = cw.staff().team_by_name(&team).await.map_err(describe)?;
            let u = cw.staff().require_user(&username).await.map_err(describe)?;
            cw.staff()
                .set_team_member(t.id, u.id, false)
                .await
                .map_err(describe)?;
            record(
                &cw,
                Action::PermissionChange,
                "team",
                Some(t.id),
                &format!("member removed: user:{}", u.id),
            )
            .await?;
            println!("{username} is no longer in {team}");
        }
        TeamAction::List => {
            let users = cw.staff().list_users().await.map_err(describe)?;
            for (t, members) in cw.staff().teams().await.map_err(describe)? {
                let names: Vec<&str> = members
                    .iter()
                    .filter_map(|u| users.iter().find(|v| v.id == *u))
                    .map(|v| v.username.as_str())
                    .collect();
                println!("{} ({}): {}", t.name, t.jurisdiction, names.join(", "));
            }
        }
    }
    Ok(())
}

pub async fn jurisdiction(config: &Config, action: JurisdictionAction) -> anyhow::Result<()> {
    let cw = runtime::open(config).await?;
    match action {
        JurisdictionAction::Add { code, name, parent } => {
            cw.staff()
                .add_jurisdiction(&code, &name, Some(&parent))
                .await
                .map_err(describe)?;
            record(
                &cw,
                Action::PermissionChange,
                "jurisdiction",
                None,
                &format!("jurisdiction {code} under {parent}"),
            )
            .await?;
            println!("jurisdiction {code} is under {parent}");
        }
        JurisdictionAction::List => {
            let rows = cw.staff().jurisdiction_rows().await.map_err(describe)?;
            fn walk(rows: &[tracedesk_store::JurisdictionRow], parent: Option<&str>, depth: usize) {
                for r in rows.iter().filter(|r| r.parent.as_deref() == parent) {
                    println!("{}{} — {}", "  ".repeat(depth), r.code, r.name);
                    walk(rows, Some(&r.code), depth + 1);
                }
            }
            walk(&rows, None, 0);
        }
    }
    Ok(())
}

/// Case-work errors as CLI messages (field errors name the flag's field).
pub fn describe(e: tracedesk_casework::CaseworkError) -> anyhow::Error {
    match e {
        tracedesk_casework::CaseworkError::Invalid(errs) => anyhow::anyhow!(
            "{}",
            errs.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; ")
        ),
        other => anyhow::anyhow!("{other}"),
    }
}
