//! Who is asking, as the edge of the deployment saw it. Behind a reverse proxy every connection
//! comes from the proxy, and the client's address, the host it named and the scheme it used arrive
//! in `Forwarded` (RFC 7239) or `X-Forwarded-For/-Host/-Proto`. Those headers are honoured only
//! from the proxies the operator names (`--trusted-proxies`): anyone else could send them to pick
//! the address a rate limit counts or the host the cross-site check compares with.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, Request};
use axum::http::HeaderMap;

/// Addresses and networks whose forwarding headers are believed.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Vec<ipnet::IpNet>);

impl TrustedProxies {
    /// Parses a comma-separated list of addresses and networks (`10.0.0.0/8, 127.0.0.1`).
    pub fn parse(list: &str) -> Result<TrustedProxies, String> {
        let mut nets = Vec::new();
        for item in list.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            let net = item
                .parse::<ipnet::IpNet>()
                .or_else(|_| item.parse::<IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| format!("\"{item}\" is not an IP address or network (like 10.0.0.0/8)"))?;
            nets.push(net);
        }
        Ok(TrustedProxies(nets))
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|net| net.contains(&ip))
    }
}

/// The client as the deployment's edge saw it; put on every request by `edge`.
#[derive(Debug, Clone)]
pub struct Client {
    /// The client's address (the connection's peer, or what a trusted proxy forwarded).
    pub address: String,
    /// The host the client named (`Host`, or a trusted proxy's forwarded host).
    pub host: Option<String>,
    /// `https` when a trusted proxy says the client used it, else `http`.
    pub scheme: &'static str,
}

impl Client {
    pub fn of(request: &Request, proxies: &TrustedProxies) -> Client {
        let peer = request.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
        let headers = request.headers();
        let own_host = headers
            .get(axum::http::header::HOST)
            .and_then(|v| v.to_str().ok())
            .or_else(|| request.uri().authority().map(|a| a.as_str()))
            .map(str::to_string);
        let Some(peer) = peer else {
            // Called in-process (tests, benchmarks): no connection to speak of.
            return Client {
                address: "local".to_string(),
                host: own_host,
                scheme: "http",
            };
        };
        if !proxies.trusts(peer) {
            return Client {
                address: peer.to_string(),
                host: own_host,
                scheme: "http",
            };
        }
        let forwarded = Forwarded::read(headers);
        // The client is the nearest hop that is not one of ours, reading from the right.
        let address = forwarded
            .chain
            .iter()
            .rev()
            .find(|ip| !proxies.trusts(**ip))
            .or(forwarded.chain.first())
            .copied()
            .unwrap_or(peer);
        Client {
            address: address.to_string(),
            host: forwarded.host.or(own_host),
            scheme: if forwarded.https { "https" } else { "http" },
        }
    }
}

/// What the forwarding headers say: the chain of addresses (client first), the original host and
/// whether the client used HTTPS. `Forwarded` wins over the `X-Forwarded-*` headers.
struct Forwarded {
    chain: Vec<IpAddr>,
    host: Option<String>,
    https: bool,
}

impl Forwarded {
    fn read(headers: &HeaderMap) -> Forwarded {
        let all = |name: &str| -> Vec<String> {
            headers
                .get_all(name)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(','))
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
                .collect()
        };
        let standard = all("forwarded");
        if !standard.is_empty() {
            let mut out = Forwarded {
                chain: Vec::new(),
                host: None,
                https: false,
            };
            for (i, element) in standard.iter().enumerate() {
                for pair in element.split(';') {
                    let Some((key, value)) = pair.split_once('=') else {
                        continue;
                    };
                    let value = value.trim().trim_matches('"');
                    match key.trim().to_ascii_lowercase().as_str() {
                        "for" => {
                            if let Some(ip) = parse_node(value) {
                                out.chain.push(ip);
                            }
                        }
                        "host" if i == 0 => out.host = Some(value.to_string()),
                        "proto" if i == 0 => out.https = value.eq_ignore_ascii_case("https"),
                        _ => {}
                    }
                }
            }
            return out;
        }
        Forwarded {
            chain: all("x-forwarded-for").iter().filter_map(|v| parse_node(v)).collect(),
            host: all("x-forwarded-host").into_iter().next(),
            https: all("x-forwarded-proto")
                .first()
                .is_some_and(|p| p.eq_ignore_ascii_case("https")),
        }
    }
}

/// An address as forwarding headers write it: `203.0.113.7`, `203.0.113.7:4711`,
/// `[2001:db8::1]:4711` or `2001:db8::1`.
fn parse_node(value: &str) -> Option<IpAddr> {
    if let Ok(ip) = value.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Ok(socket) = value.parse::<SocketAddr>() {
        return Some(socket.ip());
    }
    value.trim_start_matches('[').split(']').next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(peer: &str, headers: &[(&str, &str)]) -> Request {
        let mut builder = axum::http::Request::builder()
            .uri("/login")
            .header("host", "app.internal:8080");
        for (k, v) in headers {
            builder = builder.header(*k, *v);
        }
        let mut request = builder.body(axum::body::Body::empty()).unwrap();
        request
            .extensions_mut()
            .insert(ConnectInfo(peer.parse::<SocketAddr>().unwrap()));
        request
    }

    #[test]
    fn forwarding_headers_count_only_from_trusted_proxies() {
        let proxies = TrustedProxies::parse("10.0.0.0/8, 192.0.2.1").unwrap();
        let forwarded = [
            ("x-forwarded-for", "203.0.113.9, 10.1.1.1"),
            ("x-forwarded-host", "clients.firm.example"),
            ("x-forwarded-proto", "https"),
        ];
        let behind = Client::of(&request("10.0.0.5:5000", &forwarded), &proxies);
        assert_eq!(behind.address, "203.0.113.9");
        assert_eq!(behind.host.as_deref(), Some("clients.firm.example"));
        assert_eq!(behind.scheme, "https");
        // The same headers from anyone else are ignored.
        let direct = Client::of(&request("198.51.100.4:5000", &forwarded), &proxies);
        assert_eq!(direct.address, "198.51.100.4");
        assert_eq!(direct.host.as_deref(), Some("app.internal:8080"));
        assert_eq!(direct.scheme, "http");
        // A client cannot pick its address by prepending to the header: the nearest untrusted hop counts.
        let spoofed = [("x-forwarded-for", "1.2.3.4, 203.0.113.9")];
        assert_eq!(
            Client::of(&request("10.0.0.5:5000", &spoofed), &proxies).address,
            "203.0.113.9"
        );
    }

    #[test]
    fn the_standard_forwarded_header_is_read_too() {
        let proxies = TrustedProxies::parse("192.0.2.1").unwrap();
        let headers = [(
            "forwarded",
            "for=\"[2001:db8::7]:4711\";host=clients.firm.example;proto=https, for=192.0.2.1",
        )];
        let client = Client::of(&request("192.0.2.1:443", &headers), &proxies);
        assert_eq!(client.address, "2001:db8::7");
        assert_eq!(client.host.as_deref(), Some("clients.firm.example"));
        assert_eq!(client.scheme, "https");
        assert!(TrustedProxies::parse("not-an-ip").is_err());
    }
}
