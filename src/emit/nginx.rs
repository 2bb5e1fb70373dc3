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
