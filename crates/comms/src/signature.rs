//! Twilio's webhook signature (`X-Twilio-Signature`): HMAC-SHA1, keyed
//! with the account's auth token, over the full URL Twilio requested
//! followed by every POST parameter sorted by name, each as name then value
//! with no separator; base64. Twilio may have requested the URL with or
//! without the scheme's default port, so both forms are tried. Compared in
//! constant time.

use base64::Engine;
use hmac::{Hmac, Mac};
use sha1::Sha1;

type HmacSha1 = Hmac<Sha1>;

/// The signature Twilio would send for `url` and form `params`.
pub fn compute(auth_token: &str, url: &str, params: &[(String, String)]) -> String {
    base64::engine::general_purpose::STANDARD
        .encode(mac(auth_token, url, params).finalize().into_bytes())
}

fn mac(auth_token: &str, url: &str, params: &[(String, String)]) -> HmacSha1 {
    // Any key length is valid for HMAC.
    let mut m = <HmacSha1 as Mac>::new_from_slice(auth_token.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    m.update(url.as_bytes());
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    // Sorted by name, and a repeated name's values sorted too.
    sorted.sort();
    for (k, v) in sorted {
        m.update(k.as_bytes());
        m.update(v.as_bytes());
    }
    m
}

/// Whether `signature` is Twilio's for `url` (or its other port form).
pub fn verify(auth_token: &str, url: &str, params: &[(String, String)], signature: &str) -> bool {
    let Ok(given) = base64::engine::general_purpose::STANDARD.decode(signature.trim()) else {
        return false;
    };
    url_forms(url)
        .iter()
        .any(|u| mac(auth_token, u, params).verify_slice(&given).is_ok())
}

/// `url` as given and with the default port added or removed.
fn url_forms(url: &str) -> Vec<String> {
    let mut forms = vec![url.to_string()];
    let Some((scheme, rest)) = url.split_once("://") else {
        return forms;
    };
    let default = match scheme.to_ascii_lowercase().as_str() {
        "https" => "443",
        "http" => "80",
        _ => return forms,
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(end);
    // Userinfo never appears in a webhook URL; a bracketed IPv6 host keeps
    // its colons inside the brackets.
    let host_end = authority.rfind(']').map_or(0, |i| i + 1);
    match authority[host_end..].rfind(':') {
        Some(i) => {
            let (host, port) = authority.split_at(host_end + i);
            if &port[1..] == default {
                forms.push(format!("{scheme}://{host}{path}"));
            }
        }
        None => forms.push(format!("{scheme}://{authority}:{default}{path}")),
    }
    forms
}

#[cfg(test)]
mod tests {
    use super::*;

    fn published() -> (String, Vec<(String, String)>) {
        let params = [
            ("CallSid", "CA1234567890ABCDE"),
            ("Caller", "+14158675309"),
            ("Digits", "1234"),
            ("From", "+14158675309"),
            ("To", "+18005551212"),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .to_vec();
        ("https://mycompany.com/myapp.php?foo=1&bar=2".into(), params)
    }

    #[test]
    fn the_published_vector() {
        let (url, params) = published();
        assert_eq!(
            compute("12345", &url, &params),
            "RSOYDt4T1cUTdK1PDd93/VVr8B8="
        );
        assert!(verify(
            "12345",
            &url,
            &params,
            "RSOYDt4T1cUTdK1PDd93/VVr8B8="
        ));
    }

    #[test]
    fn parameter_order_does_not_matter_but_every_byte_does() {
        let (url, mut params) = published();
        params.reverse();
        assert!(verify(
            "12345",
            &url,
            &params,
            "RSOYDt4T1cUTdK1PDd93/VVr8B8="
        ));
        params[0].1.push('0');
        assert!(!verify(
            "12345",
            &url,
            &params,
            "RSOYDt4T1cUTdK1PDd93/VVr8B8="
        ));
        let (url, params) = published();
        assert!(!verify(
            "12346",
            &url,
            &params,
            "RSOYDt4T1cUTdK1PDd93/VVr8B8="
        ));
        assert!(!verify(
            "12345",
            &format!("{url}&x=1"),
            &params,
            "RSOYDt4T1cUTdK1PDd93/VVr8B8="
        ));
        assert!(!verify("12345", &url, &params, ""));
        assert!(!verify("12345", &url, &params, "not base64 at all!"));
    }

    #[test]
    fn the_url_with_or_without_its_default_port() {
        let (url, params) = published();
        let with_port = "https://mycompany.com:443/myapp.php?foo=1&bar=2";
        let sig = compute("12345", &url, &params);
        // Twilio signed without the port; we were configured with it.
        assert!(verify("12345", with_port, &params, &sig));
        // Twilio signed with it; we were configured without.
        let sig = compute("12345", with_port, &params);
        assert!(verify("12345", &url, &params, &sig));
        // Another port is another URL.
        let other = compute(
            "12345",
            "https://mycompany.com:8443/myapp.php?foo=1&bar=2",
            &params,
        );
        assert!(!verify("12345", &url, &params, &other));
        assert_eq!(
            url_forms("http://[::1]:80/x"),
            vec![
                "http://[::1]:80/x".to_string(),
                "http://[::1]/x".to_string()
            ]
        );
    }

    #[test]
    fn repeated_names_sign_each_value_in_order() {
        let url = "https://example.org/hook";
        let p = |a: &str, b: &str| {
            vec![
                ("A".to_string(), a.to_string()),
                ("A".to_string(), b.to_string()),
            ]
        };
        assert_eq!(
            compute("t", url, &p("1", "2")),
            compute("t", url, &p("2", "1"))
        );
    }
}
