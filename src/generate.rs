//! Synthetic topologies for benchmarks and scale tests: one primary
//! datacenter and read-only datacenters, each with its own key manager,
//! traffic managers and a row of gateway clusters. The result is lint-clean.

use std::fmt::Write;

/// A topology of `datacenters` datacenters with `gateways` gateway clusters
/// each (plus a control plane or key manager and a traffic manager pair per
/// datacenter).
pub fn large_topology(datacenters: usize, gateways: usize) -> String {
    let mut out = String::with_capacity(datacenters * gateways * 260);
    out.push_str(
        "# Generated: a scale test topology.\ntopology scale {\n  product = wso2-apim\n  version = \"4.2.0\"\n  peak_load = 1000rps\n  update_level = 1\n  keystore = \"apim.p12\"\n  truststore = \"truststore.p12\"\n  allow = [\"DC006\", \"ST004\"]\n}\n\nartifact_server artifacts {\n  url = \"https://artifacts.scale.example/apim\"\n}\n",
    );
    for dc in 0..datacenters {
        let primary = dc == 0;
        let _ = write!(out, "\ndatacenter dc{dc:03} {{\n");
        if primary {
            out.push_str("  role = primary\n");
        } else {
            out.push_str(
                "  role = read-only\n  replicates = dc000\n  artifact_source = artifacts\n",
            );
        }
        let _ = write!(
            out,
            "  region = \"region-{dc}\"\n  domain = \"dc{dc:03}.scale.example\"\n\n"
        );
        for purpose in ["apim", "shared"] {
            if primary {
                let _ = write!(
                    out,
                    "  datasource {purpose}_db_{dc:03} {{\n    purpose = {purpose}\n    engine = mysql\n    host = \"db.dc{dc:03}.scale.example\"\n    database = \"{purpose}_db\"\n    password = secret(\"{purpose}-db-password\")\n    driver = \"mysql-connector-j-8.4.0.jar\"\n  }}\n\n"
                );
            } else {
                let _ = write!(
                    out,
                    "  datasource {purpose}_db_{dc:03} {{\n    replica_of = {purpose}_db_000\n    host = \"db.dc{dc:03}.scale.example\"\n  }}\n\n"
                );
            }
        }
        let key_manager = if primary {
            let _ = write!(
                out,
                "  cluster cp_{dc:03} {{\n    profile = control-plane\n    nodes = 2\n    ha = active-passive\n    standby = hot\n    manager = passive\n    node_capacity = 1000rps\n    datasources = [apim_db_{dc:03}, shared_db_{dc:03}]\n  }}\n\n"
            );
            format!("cp_{dc:03}")
        } else {
            let _ = write!(
                out,
                "  cluster km_{dc:03} {{\n    profile = key-manager\n    nodes = 2\n    ha = active-active\n    node_capacity = 1000rps\n    datasources = [apim_db_{dc:03}, shared_db_{dc:03}]\n  }}\n\n"
            );
            format!("km_{dc:03}")
        };
        let _ = write!(
            out,
            "  cluster tm_{dc:03} {{\n    profile = traffic-manager\n    nodes = 2\n    ha = active-active\n    node_capacity = 1000rps\n    datasources = [apim_db_{dc:03}, shared_db_{dc:03}]\n  }}\n"
        );
        for gw in 0..gateways {
            let _ = write!(
                out,
                "\n  cluster gw_{dc:03}_{gw:02} {{\n    profile = gateway-worker\n    nodes = 2\n    ha = active-active\n    node_capacity = 800rps\n    key_manager = {key_manager}\n    traffic_manager = tm_{dc:03}\n    datasources = [shared_db_{dc:03}]\n  }}\n"
            );
        }
        out.push_str("}\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostics::SeverityConfig;
    use crate::load::DiskFs;

    #[test]
    fn generated_topologies_are_clean() {
        let text = large_topology(3, 4);
        let checked = crate::check_text(
            "scale.topo".as_ref(),
            &text,
            &DiskFs,
            &SeverityConfig::default(),
        );
        assert!(checked.diagnostics.is_empty(), "{:#?}", checked.diagnostics);
        assert_eq!(checked.topology.clusters.len(), 3 * (4 + 2));
    }
}
