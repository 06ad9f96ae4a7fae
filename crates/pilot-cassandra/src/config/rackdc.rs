//! `cassandra-rackdc.properties`: the node's datacenter and rack, which
//! GossipingPropertyFileSnitch announces to the other nodes.

use super::NodeConfig;

/// The contents of `cassandra-rackdc.properties` for `c` (dc and rack validated by the caller).
pub fn render(c: &NodeConfig) -> String {
    format!(
        "# Rendered by pilot-cassandra for this pod.\ndc={}\nrack={}\nprefer_local=true\n",
        c.datacenter, c.rack
    )
}
