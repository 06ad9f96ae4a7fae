//! Navigator's Elasticsearch and OpenSearch pilot: the Elasticsearch adapter of the pilot
//! runtime (`navigator-pilot`) and the `pilot-elasticsearch` binary. docs/pilot.md, section
//! "pilot-elasticsearch", describes it whole.
//!
//! - Pure decisions, table-tested: [`flavor`] (the dialect per flavour and major), [`config`]
//!   (the node's `<flavor>.yml`), [`bootstrap`] (form a new cluster or join one), [`heap`],
//!   [`exclusions`] (the leader's `cluster.routing.allocation.exclude._name`), [`voting`] (the
//!   leader's voting configuration exclusions), [`allocation`] (replica allocation paused
//!   around a data node's restart, resumed by the leader), [`drain`] (a node's progress towards
//!   its requested state), [`stuck`] (shard copies that can never leave a drained node: when
//!   they may stay behind), [`wake`] (which changes of the cluster's Pilots wake the leader
//!   before its next round), [`replies`] (REST paths and reply parsers), [`roles`].
//! - Thin I/O: [`home`] (the writable home built from the read-only image, plugin bookkeeping),
//!   [`rest`] (HTTP/JSON client of a node), [`leader`] (the Lease election, the watch of the
//!   cluster's Pilots and the leader's reconcile), [`adapter`] (the runtime's `DatabaseAdapter`), [`options`] (the CLI).
//!
//! # The pod contract
//!
//! The database container runs the database image with `pilot-elasticsearch` as its command
//! (PID 1). From the downward API: `POD_NAME`, `POD_NAMESPACE`, `POD_IP`, optionally
//! `MEMORY_LIMIT`; flags (or `ELASTICSEARCH_*` variables): `--cluster-name`,
//! `--discovery-service` (required), `--flavor`, `--version`, `--home`, `--roles`,
//! `--node-pool`, `--initial-master-nodes`, `--plugin`, ...; the runtime's `--data-dir` (the data
//! volume, `path.data`) and `--config-dir` (the writable home, may be an emptyDir). Ports: HTTP
//! 9200 and transport 9300 on every address, the pilot's probes on 12000/12001. The Pilots carry
//! `navigator.jetstack.io/elasticsearch-cluster-name=<cluster-name>`; the ServiceAccount may
//! get/list/watch `pilots`, patch its own Pilot (the cluster-UUID annotation) and
//! `pilots/status`, and get/create/update `leases`.

pub mod adapter;
pub mod allocation;
pub mod bootstrap;
pub mod config;
pub mod drain;
pub mod exclusions;
pub mod flavor;
pub mod heap;
pub mod home;
pub mod leader;
pub mod options;
pub mod replies;
pub mod rest;
pub mod roles;
pub mod stuck;
pub mod voting;
pub mod wake;

pub use adapter::ElasticsearchAdapter;
pub use options::ElasticsearchOptions;
