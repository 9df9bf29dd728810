//! The HTML of every page, as plain strings. Every value that came from a
//! user or the database goes through [`escape`].

use std::fmt::Write as _;

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use session_runtime::SessionDigest;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::database::{DeviceSession, StoredSession};
use crate::users::User;

/// What the home page shows about the current session.
#[derive(Debug)]
pub struct Home<'a> {
    /// The backend's name.
    pub backend: &'a str,
    /// The logged-in account, if any.
    pub user: Option<&'a User>,
    /// The session's values as the handler sees them.
    pub values: SessionValues<'a>,
    /// The row as stored before this request.
    pub stored: Option<&'a StoredSession>,
    /// The logged-in user's sessions.
    pub devices: &'a [DeviceSession],
    /// The current session's row, to mark it in `devices`.
    pub current: Option<SessionDigest>,
}

/// The session's values through the `tower_sessions::Session` handle.
#[derive(Debug)]
pub struct SessionValues<'a> {
    /// `user_id`.
    pub user_id: Option<i64>,
    /// `user_agent`.
    pub user_agent: Option<&'a str>,
    /// `created_at`.
    pub created_at: Option<OffsetDateTime>,
    /// `views`, counting this request.
    pub views: u64,
    /// When the session expires if left idle.
    pub expiry_date: OffsetDateTime,
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

/// The home page.
pub fn home(page: &Home<'_>) -> Html<String> {
    let mut body = String::from("<h1>Session demo</h1>\n");
    match page.user {
        Some(user) => {
            let _ = write!(
                body,
                r#"<p>Logged in as <strong>{}</strong> (user #{}).</p>
<form method="post" action="/logout"><button type="submit">Log out</button></form>
"#,
                escape(&user.login),
                user.id
            );
            body.push_str(&devices(page));
        }
        None => body.push_str(&anonymous_forms("")),
    }
    body.push_str(&session_tables(page));
    let _ = write!(
        body,
        "<p><small>Sessions are stored on {}.</small></p>",
        escape(page.backend)
    );
    layout("Session demo", &body)
}

fn devices(page: &Home<'_>) -> String {
    let mut html = String::from(
        "<h2>Your sessions</h2>\n<table>\n<tr><th>session</th><th>browser</th><th>logged in</th></tr>\n",
    );
    for device in page.devices {
        let this = device.digest.is_some() && device.digest == page.current;
        // A prefix of the digest is enough to tell rows apart; the digest
        // is not the cookie, so showing it gives nothing away.
        let name = device
            .digest
            .map_or_else(String::new, |digest| digest.to_string()[..12].to_owned());
        let _ = writeln!(
            html,
            "<tr><td><code>{name}</code>{}</td><td>{}</td><td>{}</td></tr>",
            if this { " (this one)" } else { "" },
            optional(device.user_agent.as_deref()),
            optional(device.created_at.map(timestamp)),
        );
    }
    html.push_str("</table>\n");
    if page.devices.len() > 1 {
        html.push_str(
            r#"<form method="post" action="/logout-others"><button type="submit">Log out my other sessions</button></form>
"#,
        );
    }
    html
}

fn session_tables(page: &Home<'_>) -> String {
    let values = &page.values;
    let mut html = format!(
        r#"<h2>This session</h2>
<p>Through the <code>Session</code> handle, in this request:</p>
<table>
<tr><th>user_id</th><td>{}</td></tr>
<tr><th>user_agent</th><td>{}</td></tr>
<tr><th>created_at</th><td>{}</td></tr>
<tr><th>views</th><td>{}</td></tr>
<tr><th>expires if idle until</th><td>{}</td></tr>
</table>
"#,
        optional(values.user_id),
        optional(values.user_agent),
        optional(values.created_at.map(timestamp)),
        values.views,
        escape(&timestamp(values.expiry_date)),
    );
    match page.stored {
        Some(row) => {
            let data = serde_json::to_string_pretty(&row.data).unwrap_or_default();
            let _ = write!(
                html,
                r#"<p>As the <code>demo_sessions</code> row held it before this request (typed columns, joined to <code>demo_users</code>):</p>
<table>
<tr><th>user_id</th><td>{}</td></tr>
<tr><th>demo_users.login</th><td>{}</td></tr>
<tr><th>user_agent</th><td>{}</td></tr>
<tr><th>created_at</th><td>{}</td></tr>
<tr><th>data</th><td><pre>{}</pre></td></tr>
</table>
"#,
                optional(row.user_id),
                optional(row.login.as_deref()),
                optional(row.user_agent.as_deref()),
                optional(row.created_at.map(timestamp)),
                escape(&data),
            );
        }
        None => html.push_str(
            "<p>No row is stored for this session yet: it is written when this response is sent.</p>\n",
        ),
    }
    html
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
