//! The HTML of every page, as plain strings. Every value that came from a
//! user or the database goes through [`escape`].

use std::fmt::Write as _;

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use session_runtime::SessionDigest;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::database::UserSessions;
use crate::schema::DemoSession;
use crate::users::User;

/// What the home page shows.
#[derive(Debug)]
pub struct Home<'a> {
    /// The backend's name.
    pub backend: &'a str,
    /// The logged-in account, if any.
    pub user: Option<&'a User>,
    /// This session's typed fields, read through `TypedSessionExt`.
    pub fields: &'a DemoSession,
    /// When this session expires if left idle.
    pub expiry_date: OffsetDateTime,
    /// When its user logged in, if anyone did.
    pub authenticated_at: Option<OffsetDateTime>,
    /// How many live sessions the logged-in account has, this one included.
    pub live_sessions: Option<u64>,
}

/// What the "my sessions" page shows.
#[derive(Debug)]
pub struct MySessions<'a> {
    /// The logged-in account.
    pub user: &'a User,
    /// Its live sessions.
    pub devices: &'a [Device],
}

/// One live session of the logged-in account.
#[derive(Debug, Clone, PartialEq)]
pub struct Device {
    /// The handle posted back to revoke it; not the cookie.
    pub digest: SessionDigest,
    /// Whether it is the session of the request.
    pub current: bool,
    /// When it expires unless used again.
    pub expiry_date: OffsetDateTime,
    /// When its user logged in: the store's `authenticated_at`.
    pub authenticated_at: Option<OffsetDateTime>,
    /// Its typed columns.
    pub fields: DemoSession,
}

/// What the admin page shows.
#[derive(Debug)]
pub struct Admin<'a> {
    /// The backend's name.
    pub backend: &'a str,
    /// Every account with its number of live sessions.
    pub users: &'a [UserSessions],
    /// The live sessions of everyone, logged in or not.
    pub total: u64,
}

/// Escapes text for HTML element content and quoted attribute values.
///
/// ```
/// assert_eq!(
///     example_axum_demo::pages::escape(r#"<a href="x">&'"#),
///     "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
/// );
/// ```
pub fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            other => escaped.push(other),
        }
    }
    escaped
}

fn layout(title: &str, body: &str) -> Html<String> {
    Html(format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 48rem; margin: 2rem auto; padding: 0 1rem; }}
table {{ border-collapse: collapse; }}
td, th {{ border: 1px solid #ccc; padding: .25rem .5rem; text-align: left; vertical-align: top; }}
form {{ margin: .5rem 0; }}
code, pre {{ background: #f4f4f4; }}
.error {{ color: #a00; }}
</style>
</head>
<body>
{body}
</body>
</html>
"#,
        title = escape(title),
    ))
}

fn optional(value: Option<impl ToString>) -> String {
    value.map_or_else(|| "<em>none</em>".to_owned(), |v| escape(&v.to_string()))
}

fn timestamp(value: OffsetDateTime) -> String {
    value.format(&Rfc3339).unwrap_or_else(|_| value.to_string())
}

fn credentials_form(action: &str, legend: &str, login: &str) -> String {
    format!(
        r#"<form method="post" action="{action}">
<fieldset><legend>{legend}</legend>
<label>Login <input name="login" value="{login}" required maxlength="64"></label>
<label>Password <input name="password" type="password" required></label>
<button type="submit">{legend}</button>
</fieldset>
</form>"#,
        login = escape(login),
    )
}

/// The login and register forms, shown when no one is logged in.
fn anonymous_forms(login: &str) -> String {
    format!(
        "<p>Not logged in.</p>\n{}\n{}",
        credentials_form("/login", "Log in", login),
        credentials_form("/register", "Register", ""),
    )
}

fn footer(backend: &str) -> String {
    format!(
        "<p><small>Sessions are stored on {}. <a href=\"/admin\">Admin</a></small></p>",
        escape(backend)
    )
}

/// The home page.
pub fn home(page: &Home<'_>) -> Html<String> {
    let mut body = String::from("<h1>Session demo</h1>\n");
    match page.user {
        Some(user) => {
            let _ = write!(
                body,
                r#"<p>Logged in as <strong>{}</strong> (user #{}).</p>
<p>You have {} live session(s): <a href="/sessions">see and end them</a>.</p>
<form method="post" action="/logout"><button type="submit">Log out</button></form>
"#,
                escape(&user.login),
                user.id,
                page.live_sessions.unwrap_or(0),
            );
        }
        None => body.push_str(&anonymous_forms("")),
    }
    let fields = page.fields;
    let _ = write!(
        body,
        r#"<h2>This session</h2>
<p>Its typed fields, read through <code>TypedSessionExt</code>; each is a column of <code>demo_sessions</code>:</p>
<table>
<tr><th>user_id</th><td>{}</td></tr>
<tr><th>user_agent</th><td>{}</td></tr>
<tr><th>logged in at (<code>authenticated_at</code>)</th><td>{}</td></tr>
<tr><th>expires if idle at</th><td>{}</td></tr>
</table>
"#,
        optional(fields.user_id),
        optional(fields.user_agent.as_deref()),
        optional(page.authenticated_at.map(timestamp)),
        escape(&timestamp(page.expiry_date)),
    );
    body.push_str(&footer(page.backend));
    layout("Session demo", &body)
}

/// The logged-in user's sessions, each with a button that ends it.
pub fn my_sessions(page: &MySessions<'_>) -> Html<String> {
    let mut body = format!(
        r#"<h1>Your sessions</h1>
<p>Logged in as <strong>{}</strong>. <a href="/">Home</a></p>
<table>
<tr><th>session</th><th>browser</th><th>logged in at</th><th>expires if idle at</th><th></th></tr>
"#,
        escape(&page.user.login),
    );
    for device in page.devices {
        let digest = device.digest.to_string();
        // A prefix of the digest is enough to tell rows apart; the digest
        // is not the cookie, so showing it gives nothing away.
        let action = if device.current {
            "this session".to_owned()
        } else {
            format!(
                r#"<form method="post" action="/sessions/revoke"><input type="hidden" name="session" value="{digest}"><button type="submit">Log out</button></form>"#
            )
        };
        let _ = writeln!(
            body,
            r#"<tr data-session="{digest}"><td><code>{}</code>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{action}</td></tr>"#,
            &digest[..12],
            if device.current { " (this one)" } else { "" },
            optional(device.fields.user_agent.as_deref()),
            optional(device.authenticated_at.map(timestamp)),
            escape(&timestamp(device.expiry_date)),
        );
    }
    body.push_str("</table>\n");
    if page.devices.iter().any(|device| !device.current) {
        body.push_str(
            r#"<form method="post" action="/sessions/revoke-others"><button type="submit">Log out my other devices</button></form>
"#,
        );
    }
    body.push_str(
        r#"<form method="post" action="/sessions/revoke-all"><button type="submit">Log out everywhere, here too</button></form>
"#,
    );
    layout("Your sessions", &body)
}

/// Every account with its number of live sessions.
pub fn admin(page: &Admin<'_>) -> Html<String> {
    let mut body = format!(
        r#"<h1>Sessions per user</h1>
<p class="note">Anyone can see this page: a real app would let administrators only.</p>
<p>{} live session(s) in all.</p>
<table>
<tr><th>user</th><th>login</th><th>live sessions</th></tr>
"#,
        page.total,
    );
    for user in page.users {
        let _ = writeln!(
            body,
            "<tr><td>#{}</td><td>{}</td><td>{}</td></tr>",
            user.id,
            escape(&user.login),
            user.sessions,
        );
    }
    body.push_str("</table>\n<p><a href=\"/\">Home</a></p>\n");
    body.push_str(&footer(page.backend));
    layout("Sessions per user", &body)
}

/// The page after a successful registration.
pub fn registered(login: &str) -> Html<String> {
    let body = format!(
        "<h1>Account created</h1>\n<p>Welcome, <strong>{}</strong>. Log in to start a session.</p>\n{}\n<p><a href=\"/\">Home</a></p>",
        escape(login),
        credentials_form("/login", "Log in", login),
    );
    layout("Account created", &body)
}

/// A page that explains a refused request.
pub fn error(status: StatusCode, message: &str) -> Response {
    let body = format!(
        "<h1>{}</h1>\n<p class=\"error\">{}</p>\n<p><a href=\"/\">Back</a></p>",
        escape(status.canonical_reason().unwrap_or("Error")),
        escape(message),
    );
    (status, layout("Error", &body)).into_response()
}
