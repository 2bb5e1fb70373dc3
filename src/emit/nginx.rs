//! nginx.conf of a datacenter's load balancers, for the targets that run
//! nginx themselves (Compose and Puppet): the same routes as the
//! Kubernetes Ingresses.

use serde::Serialize;

use super::{BuildError, Context};
use crate::deployment::*;
use crate::model::HaMode;

/// The nginx.conf template's view of a load balancer.
#[derive(Serialize)]
struct NginxServer {
    name: String,
    hostname: String,
    /// Names the TLS certificate files.
    label: String,
    upstreams: Vec<NginxUpstreamGroup>,
    locations: Vec<NginxLocation>,
    /// The gateways' WebSocket listeners, on the gateways' own ports so
    /// that the `ws_endpoint` and `wss_endpoint` the gateways advertise
    /// reach them.
    websockets: Vec<NginxWebsocket>,
}

#[derive(Serialize)]
struct NginxWebsocket {
    /// The gateways' port, which the load balancer listens on too.
    port: u16,
    /// TLS on both sides (wss) or on neither (ws).
    tls: bool,
    upstream: String,
}

#[derive(Serialize)]
struct NginxUpstreamGroup {
    name: String,
    affinity: bool,
    backups: bool,
    servers: Vec<NginxUpstream>,
}

#[derive(Serialize)]
struct NginxLocation {
    path: &'static str,
    upstream: String,
    affinity: bool,
    /// The Publisher's, DevPortal's and console's: `lb.sh read-only`
    /// refuses writes here (and only here: API calls and token requests
    /// go on).
    portal: bool,
}

#[derive(Serialize, Clone)]
struct NginxUpstream {
    address: String,
    port: u16,
    backup: bool,
    /// The temporary node of the upgrade runbooks: written commented out
    /// (its host exists only during a runbook), `lb.sh add` enables it.
    surge: bool,
}

#[derive(Serialize)]
struct NginxContext {
    describes: String,
    servers: Vec<NginxServer>,
}

/// The nginx.conf of a site's load balancers.
pub fn config(ctx: &Context, site: &Site) -> Result<String, BuildError> {
    let servers = site
        .load_balancers
        .iter()
        .map(|lb| {
            let routes = lb.routes(site);
            let mut upstreams = Vec::new();
            let mut locations = Vec::new();
            let mut websockets = Vec::new();
            for route in &routes {
                let name = route.name.clone();
                let mut servers = Vec::new();
                for cluster in &route.clusters {
                    for node in cluster.nodes.iter().chain([&cluster.surge]) {
                        servers.push(NginxUpstream {
                            address: node.fqdn.clone(),
                            port: route.port,
                            backup: cluster.ha == HaMode::ActivePassive
                                && node.role == NodeRole::Passive,
                            surge: node.name == cluster.surge.name,
                        });
                    }
                }
                locations.extend(route.paths.iter().map(|&path| NginxLocation {
                    path,
                    upstream: name.clone(),
                    affinity: route.affinity,
                    portal: route.kind == RouteKind::Portal,
                }));
                let mut websocket_upstreams = Vec::new();
                if route.kind == RouteKind::Api {
                    for (suffix, tls, port) in [("wss", true, WSS_PORT), ("ws", false, WS_PORT)] {
                        let upstream = format!("{}-{suffix}", lb.label);
                        websocket_upstreams.push(NginxUpstreamGroup {
                            name: upstream.clone(),
                            affinity: false,
                            backups: false,
                            servers: servers
                                .iter()
                                .map(|s| NginxUpstream { port, ..s.clone() })
                                .collect(),
                        });
                        websockets.push(NginxWebsocket {
                            port,
                            tls,
                            upstream,
                        });
                    }
                }
                upstreams.push(NginxUpstreamGroup {
                    name,
                    affinity: route.affinity,
                    backups: servers.iter().any(|u| u.backup && !u.surge),
                    servers,
                });
                upstreams.extend(websocket_upstreams);
            }
            // nginx picks the longest matching prefix; `/` last reads best.
            locations.sort_by_key(|l| l.path == "/");
            NginxServer {
                name: lb.name.clone(),
                hostname: lb.hostname.clone(),
                label: lb.label.clone(),
                upstreams,
                locations,
                websockets,
            }
        })
        .collect();
    Ok(ctx.templates.render(
        "compose/nginx.conf.j2",
        &NginxContext {
            describes: format!(
                "datacenter `{}` of topology `{}`",
                site.name, ctx.deployment.topology
            ),
            servers,
        },
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emit::Target;
    use crate::emit::testing::{PAIR, deployment, file, get, render};

    /// One nginx directive: its name and arguments (quotes removed), and
    /// its block.
    #[derive(Debug, Clone, PartialEq)]
    struct Directive {
        name: String,
        args: Vec<String>,
        block: Vec<Directive>,
    }

    impl Directive {
        fn all<'a>(&'a self, name: &str) -> impl Iterator<Item = &'a Directive> + 'a {
            let name = name.to_string();
            self.block.iter().filter(move |d| d.name == name)
        }

        fn one(&self, name: &str, args: &[&str]) -> &Directive {
            self.all(name)
                .find(|d| d.args == args)
                .unwrap_or_else(|| panic!("no `{name} {args:?}` in {:?}", self.block))
        }

        fn arg(&self, name: &str) -> Vec<&str> {
            let found: Vec<_> = self.all(name).collect();
            assert_eq!(found.len(), 1, "`{name}` in {:?}", self.block);
            found[0].args.iter().map(String::as_str).collect()
        }
    }

    /// nginx.conf as directives (comments dropped): enough of nginx's
    /// syntax for what the template writes.
    fn parse(text: &str) -> Directive {
        let mut tokens = Vec::new();
        let mut chars = text.chars().peekable();
        while let Some(&c) = chars.peek() {
            match c {
                '#' => {
                    while chars.peek().is_some_and(|&c| c != '\n') {
                        chars.next();
                    }
                }
                c if c.is_whitespace() => {
                    chars.next();
                }
                '{' | '}' | ';' => {
                    tokens.push(c.to_string());
                    chars.next();
                }
                '"' => {
                    chars.next();
                    let mut word = String::new();
                    for c in chars.by_ref() {
                        if c == '"' {
                            break;
                        }
                        word.push(c);
                    }
                    tokens.push(format!("\"{word}"));
                }
                _ => {
                    let mut word = String::new();
                    while let Some(&c) = chars.peek() {
                        if c.is_whitespace() || "{};".contains(c) {
                            break;
                        }
                        word.push(c);
                        chars.next();
                    }
                    tokens.push(word);
                }
            }
        }
        fn block(tokens: &mut std::vec::IntoIter<String>) -> Vec<Directive> {
            let mut out = Vec::new();
            let mut words: Vec<String> = Vec::new();
            while let Some(token) = tokens.next() {
                match token.as_str() {
                    ";" | "{" => {
                        let mut words = std::mem::take(&mut words).into_iter();
                        let name = words.next().expect("a directive name");
                        let args = words
                            .map(|w| w.strip_prefix('"').map(str::to_string).unwrap_or(w))
                            .collect();
                        let block = if token == "{" {
                            block(tokens)
                        } else {
                            Vec::new()
                        };
                        out.push(Directive { name, args, block });
                    }
                    "}" => {
                        assert!(words.is_empty(), "{words:?} before a `}}`");
                        return out;
                    }
                    _ => words.push(token),
                }
            }
            assert!(words.is_empty(), "{words:?} at the end");
            out
        }
        Directive {
            name: String::new(),
            args: Vec::new(),
            block: block(&mut tokens.into_iter()),
        }
    }

    fn nginx_conf(d: &Deployment, site: &str) -> Directive {
        let artifacts = render(d, &[Target::Compose]);
        parse(get(&artifacts, &format!("compose/{site}/nginx/nginx.conf")))
    }

    #[test]
    fn a_passive_node_is_a_backup_and_the_temporary_node_waits_commented_out() {
        let conf = nginx_conf(&deployment(PAIR), "main");
        let http = conf.one("http", &[]);
        let portal = http.one("upstream", &["edge-lb-portal"]);
        let servers: Vec<Vec<&str>> = portal
            .all("server")
            .map(|s| s.args.iter().map(String::as_str).collect())
            .collect();
        assert_eq!(
            servers,
            [
                vec![
                    "cp-1.apim.shop.example:9443",
                    "max_fails=3",
                    "fail_timeout=10s"
                ],
                vec![
                    "cp-2.apim.shop.example:9443",
                    "max_fails=3",
                    "fail_timeout=10s",
                    "backup"
                ],
            ]
        );
        // With a backup, no hash: the standby takes traffic only when the
        // active node is down.
        assert_eq!(portal.all("hash").count(), 0);
        let api = http.one("upstream", &["edge-lb"]);
        let gateways: Vec<&str> = api.all("server").map(|s| s.args[0].as_str()).collect();
        assert_eq!(
            gateways,
            ["gw-1.apim.shop.example:8243", "gw-2.apim.shop.example:8243"]
        );
        let text = get(
            &render(&deployment(PAIR), &[Target::Compose]),
            "compose/main/nginx/nginx.conf",
        )
        .to_string();
        assert!(text.contains(
            "# topoc surge server \"gw-surge.apim.shop.example:8243\" max_fails=3 fail_timeout=10s;"
        ));
    }

    #[test]
    fn each_path_goes_to_its_upstream_and_everything_else_to_the_first() {
        let conf = nginx_conf(&deployment(PAIR), "main");
        let http = conf.one("http", &[]);
        let tls = http
            .all("server")
            .find(|s| s.all("listen").any(|l| l.args == ["443", "ssl"]))
            .expect("the TLS server");
        assert_eq!(tls.arg("server_name"), ["edge-lb.apim.shop.example"]);
        assert_eq!(tls.arg("ssl_certificate"), ["/etc/nginx/tls/edge-lb.crt"]);
        let locations: Vec<&Directive> = tls.all("location").collect();
        assert_eq!(locations.last().unwrap().args, ["/"], "`/` comes last");
        assert_eq!(
            locations.last().unwrap().arg("proxy_pass"),
            ["https://edge-lb"]
        );
        let publisher = tls.one("location", &["/publisher"]);
        assert_eq!(publisher.arg("proxy_pass"), ["https://edge-lb-portal"]);
        assert_eq!(publisher.arg("proxy_cookie_flags"), ["~", "secure"]);
        // Plain HTTP is redirected, the method kept.
        let plain = http
            .all("server")
            .find(|s| s.all("listen").any(|l| l.args == ["80"]))
            .expect("the HTTP server");
        assert_eq!(plain.arg("return"), ["308", "https://$host$request_uri"]);
    }

    #[test]
    fn websockets_listen_on_the_gateways_own_ports() {
        let conf = nginx_conf(&deployment(PAIR), "main");
        let http = conf.one("http", &[]);
        for (listen, upstream) in [
            (
                vec![WSS_PORT.to_string(), "ssl".to_string()],
                "https://edge-lb-wss",
            ),
            (vec![WS_PORT.to_string()], "http://edge-lb-ws"),
        ] {
            let server = http
                .all("server")
                .find(|s| s.all("listen").any(|l| l.args == listen))
                .unwrap_or_else(|| panic!("no server on {listen:?}"));
            assert_eq!(server.one("location", &["/"]).arg("proxy_pass"), [upstream]);
        }
        let wss = http.one("upstream", &["edge-lb-wss"]);
        assert!(
            wss.all("server")
                .all(|s| s.args[0].ends_with(&format!(":{WSS_PORT}")))
        );
    }

    #[test]
    fn active_active_portals_keep_their_sessions() {
        let conf = nginx_conf(&file("examples/all-in-one-3.2.topo"), "main");
        let http = conf.one("http", &[]);
        let with_hash: Vec<&Directive> = http
            .all("upstream")
            .filter(|u| u.all("hash").count() == 1)
            .collect();
        assert!(!with_hash.is_empty());
        for upstream in with_hash {
            assert_eq!(upstream.arg("hash"), ["$cookie_JSESSIONID", "consistent"]);
            assert!(
                upstream
                    .all("server")
                    .all(|s| !s.args.contains(&"backup".to_string()))
            );
        }
    }
}
