//! Takes the parameters the store reads itself (the TLS ones) out of a
//! connection URL, and leaves the rest, as written, for a driver that
//! refuses parameters it does not know.

/// The parameters taken out of a URL, by name, in the order written.
pub(crate) type Taken = Vec<(&'static str, String)>;

/// `url` without the query parameters named in `names`, and the values of
/// those it had, by name (the last one wins, as in libpq), percent-decoded.
///
/// `url` is a URL (`scheme://…?key=value&…`) or, for PostgreSQL, libpq's
/// `key=value key='quoted value'` form.
pub(crate) fn take_parameters(
    url: &str,
    names: &[&'static str],
) -> Result<(String, Taken), String> {
    if url.contains("://") {
        Ok(take_from_query(url, names))
    } else {
        take_from_key_values(url, names)
    }
}

/// The name in `names` that `key` is, if any.
fn canonical(names: &[&'static str], key: &str) -> Option<&'static str> {
    names.iter().copied().find(|name| *name == key)
}

fn take_from_query(url: &str, names: &[&'static str]) -> (String, Taken) {
    let Some((base, query)) = url.split_once('?') else {
        return (url.to_owned(), Vec::new());
    };
    let (query, fragment) = match query.split_once('#') {
        Some((query, fragment)) => (query, Some(fragment)),
        None => (query, None),
    };
    let mut kept = Vec::new();
    let mut taken = Vec::new();
    for pair in query.split('&').filter(|pair| !pair.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        match canonical(names, &percent_decode(key)) {
            Some(name) => taken.push((name, percent_decode(value))),
            None => kept.push(pair),
        }
    }
    let mut rest = base.to_owned();
    if !kept.is_empty() {
        rest.push('?');
        rest.push_str(&kept.join("&"));
    }
    if let Some(fragment) = fragment {
        rest.push('#');
        rest.push_str(fragment);
    }
    (rest, taken)
}

/// libpq's `key = value` form: values are bare words or single-quoted,
/// with `\` escaping the next character in both.
fn take_from_key_values(text: &str, names: &[&'static str]) -> Result<(String, Taken), String> {
    let mut kept = Vec::new();
    let mut taken = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        if chars.peek().is_none() {
            break;
        }
        let mut key = String::new();
        while let Some(c) = chars.next_if(|c| *c != '=' && !c.is_whitespace()) {
            key.push(c);
        }
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        if chars.next() != Some('=') {
            return Err(format!("connection string: `{key}` has no `=value`"));
        }
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let mut value = String::new();
        if chars.next_if_eq(&'\'').is_some() {
            loop {
                match chars.next() {
                    Some('\'') => break,
                    Some('\\') => value.extend(chars.next()),
                    Some(c) => value.push(c),
                    None => {
                        return Err(format!(
                            "connection string: the value of `{key}` is not closed"
                        ))
                    }
                }
            }
        } else {
            while let Some(c) = chars.next_if(|c| !c.is_whitespace()) {
                if c == '\\' {
                    value.extend(chars.next());
                } else {
                    value.push(c);
                }
            }
        }
        match canonical(names, &key) {
            Some(name) => taken.push((name, value)),
            None => kept.push(format!(
                "{key}='{}'",
                value.replace('\\', "\\\\").replace('\'', "\\'")
            )),
        }
    }
    Ok((kept.join(" "), taken))
}

/// `%XX` escapes decoded; anything else (a stray `%`, invalid UTF-8) is
/// kept as it was written.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        let escaped = (bytes[index] == b'%')
            .then(|| bytes.get(index + 1..index + 3))
            .flatten()
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escaped {
            Some(byte) => {
                decoded.push(byte);
                index += 3;
            }
            None => {
                decoded.push(bytes[index]);
                index += 1;
            }
        }
    }
    String::from_utf8(decoded).unwrap_or_else(|_| text.to_owned())
}

/// The value of `name` among `taken`, the last one given.
pub(crate) fn last<'a>(taken: &'a [(&'static str, String)], name: &str) -> Option<&'a str> {
    taken
        .iter()
        .rev()
        .find(|(taken, _)| *taken == name)
        .map(|(_, value)| value.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    const PG: &[&str] = &["sslmode", "sslrootcert"];

    #[test]
    fn it_takes_the_named_parameters_and_keeps_the_rest_as_written() {
        let (rest, taken) = take_parameters(
            "postgres://u:p%40ss@h1:5432,h2/db?sslmode=verify-full&target_session_attrs=read-write&sslrootcert=%2Ftmp%2Fca.pem",
            PG,
        )
        .unwrap();
        assert_eq!(
            rest,
            "postgres://u:p%40ss@h1:5432,h2/db?target_session_attrs=read-write"
        );
        assert_eq!(
            taken,
            [
                ("sslmode", "verify-full".to_owned()),
                ("sslrootcert", "/tmp/ca.pem".to_owned())
            ]
        );
    }

    #[test]
    fn a_url_with_only_taken_parameters_loses_its_question_mark() {
        let (rest, taken) = take_parameters(
            "mysql://root@h/db?ssl-mode=REQUIRED",
            &["ssl-mode", "ssl-ca"],
        )
        .unwrap();
        assert_eq!(rest, "mysql://root@h/db");
        assert_eq!(last(&taken, "ssl-mode"), Some("REQUIRED"));
        let (rest, taken) = take_parameters("mysql://root@h/db", &["ssl-mode"]).unwrap();
        assert_eq!(rest, "mysql://root@h/db");
        assert!(taken.is_empty());
    }

    #[test]
    fn parameters_not_asked_for_stay() {
        let (rest, taken) = take_parameters("mysql://h/db?sslmode=require", &["ssl-mode"]).unwrap();
        assert_eq!(rest, "mysql://h/db?sslmode=require");
        assert!(taken.is_empty());
    }

    #[test]
    fn the_key_value_form_is_read_with_its_quotes() {
        // `''` is no escape in libpq: what follows the closing quote is
        // a key without `=`.
        let error = take_parameters("password='it''s' sslmode=require", PG).unwrap_err();
        assert!(error.contains("no `=value`"), "{error}");
        let (rest, taken) = take_parameters(
            r"host=localhost sslmode = require password='it\'s' sslrootcert='/a b/ca.pem' dbname=x",
            PG,
        )
        .unwrap();
        assert_eq!(rest, r"host='localhost' password='it\'s' dbname='x'");
        assert_eq!(last(&taken, "sslrootcert"), Some("/a b/ca.pem"));
        assert_eq!(last(&taken, "sslmode"), Some("require"));
    }

    #[test]
    fn the_last_value_wins() {
        let (_, taken) =
            take_parameters("postgres://h/d?sslmode=disable&sslmode=require", PG).unwrap();
        assert_eq!(last(&taken, "sslmode"), Some("require"));
    }
}
