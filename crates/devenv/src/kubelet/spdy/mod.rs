//! A small SPDY/3.1 server, what Kubernetes' `exec`, `attach` and `port-forward` streams use
//! between kube-apiserver and a kubelet (`Upgrade: SPDY/3.1`): [`frame`] (wire format),
//! [`dictionary`] and [`headers`] (header blocks and their zlib compression), [`session`] (the
//! connection's tasks). Only what those peers use: no server push, no flow control, no
//! priorities.

pub mod dictionary;
pub mod frame;
pub mod headers;
pub mod session;
