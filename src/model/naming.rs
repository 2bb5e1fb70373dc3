//! Names of generated objects. Topology names are identifiers
//! (`[a-z_][a-z0-9_-]*`); Kubernetes objects, container services and host
//! names need DNS labels (`[a-z]([-a-z0-9]*[a-z0-9])?`, at most 63
//! characters). The mapping lives here, once, so that lowering can report
//! two names that would collide and every emitter agrees on every name.

/// Longest label a cluster may map to, leaving room for `-NNNN` node
/// suffixes within the 63 characters of a DNS label.
const CLUSTER_LABEL_MAX: usize = 56;

/// The DNS label for a topology name: `control_plane` -> `control-plane`.
pub fn dns_label(name: &str) -> String {
    label_within(name, 63)
}

/// The DNS label of a cluster (short enough for node suffixes).
pub fn cluster_label(name: &str) -> String {
    label_within(name, CLUSTER_LABEL_MAX)
}

/// The name of node `index` (1-based) of a cluster: `gateway-2`.
pub fn node_name(cluster: &str, index: u32) -> String {
    format!("{}-{index}", cluster_label(cluster))
}

/// The temporary node the upgrade runbooks may add to a cluster:
/// `gateway-surge`.
pub fn surge_name(cluster: &str) -> String {
    format!("{}-surge", cluster_label(cluster))
}

/// The name of a datacenter's load balancer host (Puppet) and Compose
/// service.
pub const LOAD_BALANCER: &str = "load-balancer";

/// The label of a load balancer: `edge` -> `edge-lb`, its Service, nginx
/// upstream and default host name.
pub fn load_balancer_label(name: &str) -> String {
    format!("{}-lb", dns_label(name))
}

/// A name in a datacenter's domain: `gateway-2` in `apim.example` ->
/// `gateway-2.apim.example`.
pub fn host_name(name: &str, domain: &str) -> String {
    format!("{name}.{domain}")
}

/// The host name of node `index` of a cluster: `gateway-2.<domain>`.
pub fn node_host(cluster: &str, index: u32, domain: &str) -> String {
    host_name(&node_name(cluster, index), domain)
}

/// The host name of a cluster's temporary node: `gateway-surge.<domain>`.
pub fn surge_host(cluster: &str, domain: &str) -> String {
    host_name(&surge_name(cluster), domain)
}

/// The address of a cluster as a whole on hosts: `gateway.<domain>`.
pub fn cluster_host(cluster: &str, domain: &str) -> String {
    host_name(&cluster_label(cluster), domain)
}

/// The load balancer host of a datacenter: `load-balancer.<domain>`.
pub fn load_balancer_host(domain: &str) -> String {
    host_name(LOAD_BALANCER, domain)
}

/// An image reference, `[registry[:port]/]path[:tag][@digest]`, split
/// once for every reader: a `:` before the last `/` is a registry's port,
/// never a tag (`registry.example:5000/wso2/wso2am:4.2.0`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageRef<'a> {
    /// Everything before the tag and digest:
    /// `registry.example:5000/wso2/wso2am`.
    pub repository: &'a str,
    /// The tag, without its `:`.
    pub tag: Option<&'a str>,
    /// The digest, without its `@`: `sha256:<hex>`.
    pub digest: Option<&'a str>,
}

impl<'a> ImageRef<'a> {
    pub fn parse(text: &'a str) -> ImageRef<'a> {
        let (name, digest) = match text.split_once('@') {
            Some((name, digest)) => (name, Some(digest)),
            None => (text, None),
        };
        let last_start = name.rfind('/').map_or(0, |i| i + 1);
        let (repository, tag) = match name[last_start..].find(':') {
            Some(i) => (&name[..last_start + i], Some(&name[last_start + i + 1..])),
            None => (name, None),
        };
        ImageRef {
            repository,
            tag,
            digest,
        }
    }

    /// The last segment of the repository: `wso2am`.
    pub fn name(&self) -> &'a str {
        self.repository
            .rsplit('/')
            .next()
            .unwrap_or(self.repository)
    }

    /// The tag a container engine pulls: the given one, else `latest`.
    pub fn tag_or_latest(&self) -> &'a str {
        self.tag.unwrap_or("latest")
    }

    /// Whether the reference always names the same image: a digest, or a
    /// tag other than `latest` (which moves by definition).
    pub fn pinned(&self) -> bool {
        self.digest.is_some() || self.tag.is_some_and(|t| t != "latest")
    }

    /// The same repository with another tag (no digest).
    pub fn with_tag(&self, tag: &str) -> String {
        format!("{}:{tag}", self.repository)
    }
}

impl std::fmt::Display for ImageRef<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.repository)?;
        if let Some(tag) = self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

fn label_within(name: &str, max: usize) -> String {
    let mut label: String = name
        .chars()
        .map(|c| match c {
            'a'..='z' | '0'..='9' => c,
            'A'..='Z' => c.to_ascii_lowercase(),
            _ => '-',
        })
        .collect();
    // Collapse runs of '-' and trim them from both ends.
    let mut collapsed = String::with_capacity(label.len());
    for c in label.chars() {
        if !(c == '-' && collapsed.ends_with('-')) {
            collapsed.push(c);
        }
    }
    label = collapsed.trim_matches('-').to_string();
    if !label.starts_with(|c: char| c.is_ascii_lowercase()) {
        label = format!("x-{label}").trim_end_matches('-').to_string();
    }
    if label.len() > max {
        let hash = format!("{:08x}", fnv1a(name.as_bytes()) as u32);
        label.truncate(max - hash.len() - 1);
        label = format!("{}-{hash}", label.trim_end_matches('-'));
    }
    label
}

/// FNV-1a: a small, stable hash for name suffixes (stable across builds and
/// platforms, unlike the standard library's hasher).
pub fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

/// The environment variable that carries a secret: `apim-db-password` ->
/// `APIM_DB_PASSWORD`.
pub fn env_name(secret: &str) -> String {
    let mut name: String = secret
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    if name.starts_with(|c: char| c.is_ascii_digit()) {
        name.insert_str(0, "SECRET_");
    }
    name
}

/// A Puppet class or variable name for an identifier: `control-plane` ->
/// `control_plane`.
pub fn puppet_name(name: &str) -> String {
    let mut out: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    if !out.starts_with(|c: char| c.is_ascii_lowercase()) {
        out.insert_str(0, "x_");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_dns_safe() {
        assert_eq!(dns_label("control_plane"), "control-plane");
        assert_eq!(dns_label("gw__1_"), "gw-1");
        assert_eq!(dns_label("_1x"), "x-1x");
        assert_eq!(dns_label("yes"), "yes");
        assert_eq!(node_name("gateway", 2), "gateway-2");
        let long = "a".repeat(100);
        let label = cluster_label(&long);
        assert!(label.len() <= CLUSTER_LABEL_MAX, "{label}");
        assert_ne!(
            cluster_label(&"a".repeat(101)),
            label,
            "long names stay distinct"
        );
        for name in ["a", "a-b", "a_b", "_", "__", "x9", "9", "-"] {
            let label = dns_label(name);
            assert!(
                label.starts_with(|c: char| c.is_ascii_lowercase()),
                "{name} -> {label}"
            );
            assert!(!label.ends_with('-'), "{name} -> {label}");
        }
    }

    #[test]
    fn host_names_are_the_labels_in_the_domain() {
        assert_eq!(
            node_host("Gate_way", 2, "apim.example"),
            "gate-way-2.apim.example"
        );
        assert_eq!(
            surge_host("gateway", "apim.example"),
            "gateway-surge.apim.example"
        );
        assert_eq!(
            cluster_host("control_plane", "a.example"),
            "control-plane.a.example"
        );
        assert_eq!(load_balancer_host("a.example"), "load-balancer.a.example");
        assert_eq!(load_balancer_label("edge_1"), "edge-1-lb");
        // A long cluster name keeps its hashed label in every host name.
        let long = "g".repeat(80);
        assert_eq!(
            node_host(&long, 1, "d.example"),
            format!("{}-1.d.example", cluster_label(&long))
        );
    }

    #[test]
    fn image_references_split_at_their_tag_not_a_registry_port() {
        let image = ImageRef::parse("registry.example:5000/wso2/wso2am:4.2.0.12");
        assert_eq!(image.repository, "registry.example:5000/wso2/wso2am");
        assert_eq!(image.tag, Some("4.2.0.12"));
        assert_eq!(image.digest, None);
        assert_eq!(image.name(), "wso2am");
        assert!(image.pinned());
        assert_eq!(
            image.with_tag("4.2.0.13"),
            "registry.example:5000/wso2/wso2am:4.2.0.13"
        );
        // A port and no tag: the tag is `latest`, which moves.
        let untagged = ImageRef::parse("registry.example:5000/wso2/wso2am");
        assert_eq!(untagged.repository, "registry.example:5000/wso2/wso2am");
        assert_eq!(untagged.tag, None);
        assert_eq!(untagged.tag_or_latest(), "latest");
        assert!(!untagged.pinned());
        assert!(!ImageRef::parse("wso2am:latest").pinned());
        let digest = format!("sha256:{}", "a".repeat(64));
        let text = format!("host:5000/img:1.0@{digest}");
        let pinned = ImageRef::parse(&text);
        assert_eq!(pinned.repository, "host:5000/img");
        assert_eq!(pinned.tag, Some("1.0"));
        assert_eq!(pinned.digest, Some(digest.as_str()));
        assert!(pinned.pinned());
        assert_eq!(pinned.name(), "img");
        let bare = format!("img@{digest}");
        assert_eq!(ImageRef::parse(&bare).name(), "img");
        assert_eq!(ImageRef::parse(&bare).tag, None);
        for text in [text.as_str(), bare.as_str(), "a/b:c", "a:1/b", "plain"] {
            assert_eq!(ImageRef::parse(text).to_string(), text);
        }
    }

    #[test]
    fn env_and_puppet_names() {
        assert_eq!(env_name("apim-db-password"), "APIM_DB_PASSWORD");
        assert_eq!(env_name("1.key"), "SECRET_1_KEY");
        assert_eq!(puppet_name("control-plane"), "control_plane");
        assert_eq!(puppet_name("9x"), "x_9x");
    }
}
