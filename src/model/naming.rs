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
    fn env_and_puppet_names() {
        assert_eq!(env_name("apim-db-password"), "APIM_DB_PASSWORD");
        assert_eq!(env_name("1.key"), "SECRET_1_KEY");
        assert_eq!(puppet_name("control-plane"), "control_plane");
        assert_eq!(puppet_name("9x"), "x_9x");
    }
}
