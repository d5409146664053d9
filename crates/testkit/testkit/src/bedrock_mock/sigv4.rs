//! SigV4 verification as AWS does it: the `Authorization` header parsed, the access key looked
//! up, the request time checked against a 5-minute skew, the credential scope checked, and the
//! signature recomputed over the headers the client signed (with AWS's own signer) and compared.
//! Each refusal carries AWS's error type and message.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use axum::http::{HeaderMap, Method, Uri};

use super::AwsError;

/// Largest difference between the request's time and ours that AWS accepts.
const SKEW: Duration = Duration::from_secs(300);

/// The parts of `AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...`.
struct Authorization<'a> {
    access_key: &'a str,
    date: &'a str,
    region: &'a str,
    service: &'a str,
    signed_headers: Vec<&'a str>,
    signature: &'a str,
}

fn parse(header: &str) -> Option<Authorization<'_>> {
    let rest = header.strip_prefix("AWS4-HMAC-SHA256 ")?;
    let (mut credential, mut signed, mut signature) = (None, None, None);
    for part in rest.split(',') {
        let (k, v) = part.trim().split_once('=')?;
        match k {
            "Credential" => credential = Some(v),
            "SignedHeaders" => signed = Some(v),
            "Signature" => signature = Some(v),
            _ => return None,
        }
    }
    let mut scope = credential?.split('/');
    let (access_key, date, region, service, terminator) = (scope.next()?, scope.next()?, scope.next()?, scope.next()?, scope.next()?);
    (terminator == "aws4_request").then_some(())?;
    Some(Authorization { access_key, date, region, service, signed_headers: signed?.split(';').collect(), signature: signature? })
}

/// `YYYYMMDDTHHMMSSZ` as a time.
pub fn parse_amz_date(text: &str) -> Option<SystemTime> {
    let b = text.as_bytes();
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| text.get(r)?.parse::<i64>().ok();
    let (y, m, d, hh, mm, ss) = (num(0..4)?, num(4..6)?, num(6..8)?, num(9..11)?, num(11..13)?, num(13..15)?);
    // Howard Hinnant's days-from-civil.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = u64::try_from(days * 86_400 + hh * 3600 + mm * 60 + ss).ok()?;
    Some(UNIX_EPOCH + Duration::from_secs(secs))
}

/// `YYYYMMDDTHHMMSSZ` of a time.
pub fn amz_date(t: SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()) as i64;
    let (days, rest) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Howard Hinnant's civil-from-days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}{month:02}{day:02}T{:02}{:02}{:02}Z", rest / 3600, rest % 3600 / 60, rest % 60)
}

fn invalid_signature() -> AwsError {
    AwsError::new(
        403,
        "InvalidSignatureException",
        "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.",
    )
}

/// Checks a request's signature against the known keys (`(access key, secret)`); `region` is
/// the one the mock serves.
pub(crate) fn verify(keys: &[(String, String)], region: &str, method: &Method, uri: &Uri, headers: &HeaderMap, body: &[u8]) -> Result<(), AwsError> {
    let Some(header) = headers.get("authorization").and_then(|v| v.to_str().ok()) else {
        return Err(AwsError::new(403, "MissingAuthenticationTokenException", "Missing Authentication Token"));
    };
    let Some(auth) = parse(header) else {
        return Err(AwsError::new(
            403,
            "IncompleteSignatureException",
            format!("Authorization header requires 'Credential', 'Signature' and 'SignedHeaders' parameters. Authorization={header}"),
        ));
    };
    let Some((_, secret)) = keys.iter().find(|(id, _)| id == auth.access_key) else {
        return Err(AwsError::new(403, "UnrecognizedClientException", "The security token included in the request is invalid."));
    };
    let date_text = headers.get("x-amz-date").and_then(|v| v.to_str().ok()).unwrap_or_default();
    let Some(date) = parse_amz_date(date_text) else {
        return Err(AwsError::new(403, "IncompleteSignatureException", "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."));
    };
    let now = SystemTime::now();
    if date + SKEW < now {
        return Err(AwsError::new(
            403,
            "InvalidSignatureException",
            format!("Signature expired: {date_text} is now earlier than {} ({} - 5 min.)", amz_date(now - SKEW), amz_date(now)),
        ));
    }
    if date > now + SKEW {
        return Err(AwsError::new(
            403,
            "InvalidSignatureException",
            format!("Signature not yet current: {date_text} is still later than {} ({} + 5 min.)", amz_date(now + SKEW), amz_date(now)),
        ));
    }
    if !date_text.starts_with(auth.date) {
        return Err(AwsError::new(403, "InvalidSignatureException", format!("Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '{}' != '{}'", auth.date, &date_text[..8])));
    }
    if auth.service != "bedrock" {
        return Err(AwsError::new(403, "InvalidSignatureException", "Credential should be scoped to correct service: 'bedrock'. "));
    }
    if auth.region != region {
        return Err(AwsError::new(403, "InvalidSignatureException", format!("Credential should be scoped to a valid region, not '{}'. ", auth.region)));
    }
    let token = headers.get("x-amz-security-token").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let signed: Vec<(&str, &str)> = auth
        .signed_headers
        .iter()
        .filter_map(|name| headers.get(*name).and_then(|v| v.to_str().ok()).map(|v| (*name, v)))
        .collect();
    if signed.len() != auth.signed_headers.len() || !auth.signed_headers.contains(&"host") {
        return Err(invalid_signature());
    }
    let host = headers.get("host").and_then(|v| v.to_str().ok()).unwrap_or("localhost");
    let url = format!("http://{host}{}", uri.path_and_query().map_or("/", |p| p.as_str()));
    let identity: Identity = Credentials::new(auth.access_key, secret.clone(), token, None, "lls-mock-bedrock").into();
    let mut settings = SigningSettings::default();
    settings.excluded_headers = None;
    let params = v4::SigningParams::builder().identity(&identity).region(region).name("bedrock").time(date).settings(settings).build();
    let expected = params.ok().and_then(|params| {
        let params = params.into();
        let request = SignableRequest::new(method.as_str(), url, signed.into_iter(), SignableBody::Bytes(body)).ok()?;
        sign(request, &params).ok().map(|out| out.signature().to_owned())
    });
    match expected {
        Some(s) if s == auth.signature => Ok(()),
        _ => Err(invalid_signature()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amz_dates_round_trip() {
        let t = parse_amz_date("20240229T235959Z").unwrap();
        assert_eq!(t.duration_since(UNIX_EPOCH).unwrap().as_secs(), 1_709_251_199);
        assert_eq!(amz_date(t), "20240229T235959Z");
        assert!(parse_amz_date("2024-02-29").is_none());
    }

    #[test]
    fn authorization_headers_parse() {
        let a = parse("AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/bedrock/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc").unwrap();
        assert_eq!((a.access_key, a.date, a.region, a.service, a.signature), ("AKID", "20240101", "us-east-1", "bedrock", "abc"));
        assert_eq!(a.signed_headers, ["host", "x-amz-date"]);
        assert!(parse("Bearer x").is_none());
    }
}
