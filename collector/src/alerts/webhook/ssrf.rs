//! Server-side request forgery protection for webhook URLs.
//!
//! A webhook URL is resolved before use, and the request goes only to addresses that pass
//! [`is_public`]. Unless the operator allows private webhooks, every address in these
//! ranges is rejected: IPv4 private (10/8, 172.16/12, 192.168/16), shared (100.64/10),
//! loopback (127/8), link-local (169.254/16), unspecified, broadcast and multicast; IPv6
//! loopback, unspecified, unique-local (fc00::/7), link-local (fe80::/10), multicast and
//! the local-use NAT64 prefix (64:ff9b:1::/48). An IPv6 address that carries an IPv4
//! address is judged as that IPv4 address: IPv4-mapped (`::ffff:127.0.0.1`),
//! IPv4-compatible (`::127.0.0.1`) and NAT64 well-known-prefix (`64:ff9b::7f00:1`) forms.
//!
//! `localhost` and names under it, with or without a trailing dot, are loopback without a
//! lookup (RFC 6761 reserves them for loopback, and resolvers differ on whether they look
//! them up). Names under `.invalid` never resolve (RFC 6761), so they fail without a lookup.
//!
//! Link-local addresses, where cloud metadata services listen (169.254.169.254,
//! fd00:ec2::254), and the unspecified, broadcast and multicast ranges are rejected even
//! when private webhooks are allowed, because no webhook receiver runs there.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use reqwest::Url;

/// Time limit of the DNS lookup that checks a URL when a rule is saved.
const CHECK_LOOKUP_TIMEOUT: Duration = Duration::from_secs(3);

/// Reason a webhook URL is rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlRejection {
    /// The text is not an absolute http or https URL with a host.
    #[error("invalid webhook url: {0}")]
    Invalid(String),
    /// The host resolves to an address in a refused range.
    #[error(
        "webhook host {host} resolves to the non-public address {address}; \
         start the collector with --allow-private-webhooks to allow it"
    )]
    Private {
        /// Host of the URL.
        host: String,
        /// The refused address.
        address: IpAddr,
    },
    /// The host resolves to a link-local or otherwise reserved address, refused even when
    /// private webhooks are allowed.
    #[error(
        "webhook host {host} resolves to {address}, a link-local or reserved address such as \
         a cloud metadata endpoint; webhooks are never sent there, so point the rule at the \
         receiver's own address"
    )]
    Reserved {
        /// Host of the URL.
        host: String,
        /// The refused address.
        address: IpAddr,
    },
    /// The host could not be resolved.
    #[error("cannot resolve webhook host {host}: {reason}; check the host name")]
    Unresolved {
        /// Host of the URL.
        host: String,
        /// Resolver error.
        reason: String,
    },
}

/// A checked webhook target: the parsed URL and the addresses to connect to.
#[derive(Debug, Clone)]
pub struct Target {
    /// The URL.
    pub url: Url,
    /// Host name as written in the URL, without IPv6 brackets.
    pub host: String,
    /// Addresses the host resolved to, all allowed.
    pub addresses: Vec<SocketAddr>,
}

/// Returns true when `address` is outside every refused range. An IPv6 address that
/// carries an IPv4 address ([`embedded_ipv4`]) is judged as that IPv4 address.
pub fn is_public(address: IpAddr) -> bool {
    match address {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => match embedded_ipv4(v6) {
            Some(v4) => is_public_v4(v4),
            None => is_public_v6(v6),
        },
    }
}

/// Returns the IPv4 address that an IPv6 address carries, or `None` for other addresses:
///
/// - the last 32 bits of an IPv4-mapped (`::ffff:0:0/96`), IPv4-translated
///   (`::ffff:0:0:0/96`, RFC 2765), IPv4-compatible (`::/96`, deprecated by RFC 4291) or
///   NAT64 well-known-prefix (`64:ff9b::/96`, RFC 6052) address;
/// - bits 16 to 48 of a 6to4 address (`2002::/16`, RFC 3056);
/// - the client address of a Teredo address (`2001::/32`, RFC 4380): the last 32 bits,
///   inverted.
///
/// `::` and `::1` are the IPv6 unspecified and loopback addresses, not IPv4-compatible
/// ones.
pub fn embedded_ipv4(address: Ipv6Addr) -> Option<Ipv4Addr> {
    if let Some(v4) = address.to_ipv4_mapped() {
        return Some(v4);
    }
    let segments = address.segments();
    let octets = address.octets();
    let [.., a, b, c, d] = octets;
    let last = Ipv4Addr::new(a, b, c, d);
    let prefix = &segments[..6];
    let compatible = prefix == [0; 6] && !address.is_unspecified() && !address.is_loopback();
    let translated = prefix == [0, 0, 0, 0, 0xffff, 0];
    let nat64 = prefix == [0x64, 0xff9b, 0, 0, 0, 0];
    if compatible || translated || nat64 {
        return Some(last);
    }
    if segments[0] == 0x2002 {
        return Some(Ipv4Addr::new(octets[2], octets[3], octets[4], octets[5]));
    }
    if segments[..2] == [0x2001, 0] {
        return Some(Ipv4Addr::from(!u32::from(last)));
    }
    None
}

/// Returns true for `localhost` and names under it, with or without the trailing dot of a
/// fully qualified name.
fn is_localhost_name(host: &str) -> bool {
    let name = host.strip_suffix('.').unwrap_or(host).to_ascii_lowercase();
    name == "localhost" || name.ends_with(".localhost")
}

/// Returns true for `invalid` and names under it, with or without a trailing dot.
fn is_invalid_name(host: &str) -> bool {
    let name = host.strip_suffix('.').unwrap_or(host).to_ascii_lowercase();
    name == "invalid" || name.ends_with(".invalid")
}

/// Returns true when `address` is refused even with private webhooks allowed: link-local
/// (where metadata services listen), the AWS IPv6 metadata address, unspecified, broadcast
/// and multicast. So is the local-use NAT64 prefix (`64:ff9b:1::/48`, RFC 8215), because
/// where it carries an IPv4 address depends on the network's own prefix length.
pub fn is_reserved(address: IpAddr) -> bool {
    match address {
        IpAddr::V4(v4) => is_reserved_v4(v4),
        IpAddr::V6(v6) => match embedded_ipv4(v6) {
            Some(v4) => is_reserved_v4(v4),
            None => {
                let link_local = v6.segments()[0] & 0xffc0 == 0xfe80;
                let aws_metadata = v6 == Ipv6Addr::new(0xfd00, 0x0ec2, 0, 0, 0, 0, 0, 0x0254);
                let local_nat64 = v6.segments()[..3] == [0x64, 0xff9b, 1];
                link_local
                    || aws_metadata
                    || local_nat64
                    || v6.is_unspecified()
                    || v6.is_multicast()
            }
        },
    }
}

fn is_reserved_v4(address: Ipv4Addr) -> bool {
    address.is_link_local()
        || address.is_unspecified()
        || address.is_broadcast()
        || address.is_multicast()
}

fn is_public_v4(address: Ipv4Addr) -> bool {
    let [first, second, ..] = address.octets();
    let shared = first == 100 && (64..128).contains(&second);
    // Network benchmarking (198.18.0.0/15, RFC 2544) and the reserved 240.0.0.0/4.
    let benchmarking = first == 198 && (second == 18 || second == 19);
    let reserved = first >= 240;
    !(address.is_private()
        || benchmarking
        || reserved
        || address.is_loopback()
        || address.is_link_local()
        || address.is_unspecified()
        || address.is_broadcast()
        || address.is_multicast()
        || shared
        || first == 0)
}

fn is_public_v6(address: Ipv6Addr) -> bool {
    let first = address.segments()[0];
    let unique_local = first & 0xfe00 == 0xfc00;
    let link_local = first & 0xffc0 == 0xfe80;
    let local_nat64 = address.segments()[..3] == [0x64, 0xff9b, 1];
    // Site-local (`fec0::/10`), deprecated by RFC 3879 but still routed by some networks.
    let site_local = first & 0xffc0 == 0xfec0;
    !(address.is_loopback()
        || site_local
        || address.is_unspecified()
        || address.is_multicast()
        || unique_local
        || link_local
        || local_nat64)
}

/// Parses `text` as an absolute http or https URL with a host.
///
/// # Errors
///
/// Returns [`UrlRejection::Invalid`] otherwise.
pub fn parse(text: &str) -> Result<(Url, String), UrlRejection> {
    let url = Url::parse(text).map_err(|error| UrlRejection::Invalid(error.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(UrlRejection::Invalid(format!(
            "scheme {:?} is not http or https",
            url.scheme()
        )));
    }
    let host = match url.host_str() {
        Some(host) if !host.is_empty() => host.trim_start_matches('[').trim_end_matches(']'),
        _ => return Err(UrlRejection::Invalid("the url has no host".to_owned())),
    };
    let host = host.to_owned();
    Ok((url, host))
}

/// Resolves the URL's host and checks every address.
///
/// With `allow_private`, every address passes except the reserved ones of
/// [`is_reserved`]. `localhost` names resolve to 127.0.0.1 and ::1 without a lookup, and
/// `.invalid` names fail without one.
///
/// # Errors
///
/// Returns [`UrlRejection`] for an invalid URL, a failed lookup, or a refused address.
pub async fn resolve(text: &str, allow_private: bool) -> Result<Target, UrlRejection> {
    let (url, host) = parse(text)?;
    let port = url.port_or_known_default().unwrap_or(443);
    let addresses: Vec<SocketAddr> = if is_localhost_name(&host) {
        vec![
            SocketAddr::new(Ipv4Addr::LOCALHOST.into(), port),
            SocketAddr::new(Ipv6Addr::LOCALHOST.into(), port),
        ]
    } else if is_invalid_name(&host) {
        return Err(UrlRejection::Unresolved {
            host,
            reason: "names under .invalid never resolve".to_owned(),
        });
    } else if let Ok(ip) = host.parse::<IpAddr>() {
        vec![SocketAddr::new(ip, port)]
    } else {
        tokio::net::lookup_host((host.as_str(), port))
            .await
            .map_err(|error| UrlRejection::Unresolved {
                host: host.clone(),
                reason: error.to_string(),
            })?
            .collect()
    };
    if addresses.is_empty() {
        return Err(UrlRejection::Unresolved {
            host,
            reason: "no addresses".to_owned(),
        });
    }
    if let Some(refused) = addresses.iter().find(|address| is_reserved(address.ip())) {
        return Err(UrlRejection::Reserved {
            host,
            address: refused.ip(),
        });
    }
    if !allow_private {
        if let Some(refused) = addresses.iter().find(|address| !is_public(address.ip())) {
            return Err(UrlRejection::Private {
                host,
                address: refused.ip(),
            });
        }
    }
    Ok(Target {
        url,
        host,
        addresses,
    })
}

/// Checks a URL when a rule is saved with the rule of [`resolve`], so a rule is stored
/// only when its host resolves now, within a few seconds, to addresses that delivery would
/// accept. Delivery resolves and checks the host again before every attempt.
///
/// # Errors
///
/// Returns [`UrlRejection`] for an invalid URL, a failed or timed-out lookup, or a refused
/// address.
pub async fn check_for_rule(text: &str, allow_private: bool) -> Result<(), UrlRejection> {
    let (_, host) = parse(text)?;
    match tokio::time::timeout(CHECK_LOOKUP_TIMEOUT, resolve(text, allow_private)).await {
        Ok(result) => result.map(|_| ()),
        Err(_) => Err(UrlRejection::Unresolved {
            host,
            reason: format!(
                "the lookup timed out after {} s",
                CHECK_LOOKUP_TIMEOUT.as_secs()
            ),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refused_ranges_are_not_public() {
        let refused = [
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "127.0.0.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "::1",
            "::",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
        ];
        for text in refused {
            assert!(!is_public(text.parse().unwrap()), "{text}");
        }
    }

    #[test]
    fn public_addresses_pass() {
        for text in [
            "93.184.216.34",
            "2606:4700::1111",
            "172.32.0.1",
            "100.128.0.1",
        ] {
            assert!(is_public(text.parse().unwrap()), "{text}");
        }
    }

    #[tokio::test]
    async fn private_literal_is_rejected() {
        let rejection = resolve("http://127.0.0.1:9/hook", false).await.unwrap_err();
        assert!(matches!(rejection, UrlRejection::Private { .. }));
        assert!(resolve("http://127.0.0.1:9/hook", true).await.is_ok());
    }

    #[tokio::test]
    async fn metadata_address_rejected_with_private_allowed() {
        for url in [
            "http://169.254.169.254/latest/meta-data",
            "http://[fd00:ec2::254]/latest",
            "http://[fe80::1]:9/hook",
            "http://[::ffff:169.254.169.254]/",
            "http://0.0.0.0:9/hook",
        ] {
            let rejection = resolve(url, true).await.unwrap_err();
            assert!(
                matches!(rejection, UrlRejection::Reserved { .. }),
                "{url}: {rejection:?}"
            );
            let rejection = check_for_rule(url, true).await.unwrap_err();
            assert!(
                matches!(rejection, UrlRejection::Reserved { .. }),
                "{url}: {rejection:?}"
            );
        }
        assert!(check_for_rule("http://10.0.0.5/hook", true).await.is_ok());
    }

    #[test]
    fn embedded_ipv4_judged_as_ipv4() {
        let cases = [
            ("::ffff:127.0.0.1", "127.0.0.1"),
            ("::127.0.0.1", "127.0.0.1"),
            ("64:ff9b::7f00:1", "127.0.0.1"),
            ("::10.0.0.1", "10.0.0.1"),
            ("64:ff9b::a9fe:a9fe", "169.254.169.254"),
            ("64:ff9b::5db8:d822", "93.184.216.34"),
            ("::ffff:0:127.0.0.1", "127.0.0.1"),
            ("::ffff:0:a9fe:a9fe", "169.254.169.254"),
            ("2002:7f00:1::", "127.0.0.1"),
            ("2002:a9fe:a9fe::", "169.254.169.254"),
            ("2001:0:4136:e378:8000:63bf:80ff:fffe", "127.0.0.1"),
        ];
        for (v6, v4) in cases {
            let v6: Ipv6Addr = v6.parse().unwrap();
            let v4: Ipv4Addr = v4.parse().unwrap();
            assert_eq!(embedded_ipv4(v6), Some(v4), "{v6}");
            assert_eq!(is_public(v6.into()), is_public(v4.into()), "{v6}");
            assert_eq!(is_reserved(v6.into()), is_reserved(v4.into()), "{v6}");
        }
        assert!(!is_public("::127.0.0.1".parse().unwrap()));
        assert!(!is_public("64:ff9b::7f00:1".parse().unwrap()));
        assert!(is_reserved("::169.254.169.254".parse().unwrap()));
        assert!(is_public("64:ff9b::5db8:d822".parse().unwrap()));
    }

    #[test]
    fn special_ranges_are_not_public() {
        for address in ["198.18.0.1", "198.19.255.255", "240.0.0.1", "fec0::1"] {
            let address: IpAddr = address.parse().unwrap();
            assert!(!is_public(address), "{address}");
        }
        assert!(is_public("198.20.0.1".parse().unwrap()));
    }

    #[test]
    fn local_nat64_is_refused_even_when_private_allowed() {
        assert!(is_reserved("64:ff9b:1::a9fe:a9fe".parse().unwrap()));
        assert!(is_reserved("64:ff9b:1:fea9:fe:a900::".parse().unwrap()));
    }

    #[test]
    fn ipv6_loopback_is_not_ipv4_compatible() {
        assert_eq!(embedded_ipv4(Ipv6Addr::LOCALHOST), None);
        assert_eq!(embedded_ipv4(Ipv6Addr::UNSPECIFIED), None);
        assert_eq!(embedded_ipv4("2606:4700::1111".parse().unwrap()), None);
        assert!(!is_reserved("::1".parse().unwrap()));
        assert!(!is_public("64:ff9b:1::a00:1".parse().unwrap()));
    }

    #[tokio::test]
    async fn embedded_loopback_rejected_at_rule_check() {
        for url in [
            "http://[::127.0.0.1]:9/hook",
            "http://[64:ff9b::7f00:1]:9/hook",
            "http://[::ffff:127.0.0.1]:9/hook",
        ] {
            let rejection = check_for_rule(url, false).await.unwrap_err();
            assert!(
                matches!(rejection, UrlRejection::Private { .. }),
                "{url}: {rejection:?}"
            );
        }
    }

    #[tokio::test]
    async fn localhost_names_are_loopback() {
        for url in [
            "http://localhost./hook",
            "http://LOCALHOST:9/hook",
            "http://hooks.localhost./hook",
        ] {
            let rejection = check_for_rule(url, false).await.unwrap_err();
            assert!(
                matches!(rejection, UrlRejection::Private { .. }),
                "{url}: {rejection:?}"
            );
            let target = resolve(url, true).await.unwrap();
            let addresses: Vec<IpAddr> = target.addresses.iter().map(|a| a.ip()).collect();
            assert_eq!(
                addresses,
                [
                    IpAddr::from(Ipv4Addr::LOCALHOST),
                    Ipv6Addr::LOCALHOST.into()
                ],
                "{url}"
            );
        }
        assert!(!is_localhost_name("localhost.example.com"));
        assert!(!is_localhost_name("notlocalhost"));
    }

    #[tokio::test]
    async fn unresolvable_host_rejected_at_rule_check() {
        for allow_private in [false, true] {
            for url in ["https://example.invalid/hook", "http://hooks.INVALID./x"] {
                let rejection = check_for_rule(url, allow_private).await.unwrap_err();
                assert!(
                    matches!(rejection, UrlRejection::Unresolved { .. }),
                    "{url}: {rejection:?}"
                );
            }
        }
    }

    #[test]
    fn non_http_scheme_is_invalid() {
        assert!(matches!(
            parse("ftp://example.com/x"),
            Err(UrlRejection::Invalid(_))
        ));
    }
}
