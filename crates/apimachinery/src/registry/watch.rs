//! watch: the start plan, initial events, selector-filtered changes (with ADDED/DELETED
//! transitions), bookmarks, timeouts, and errors as `ERROR` events.

use std::sync::Arc;

use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio::time::{Instant, sleep_until};

use super::table::{self, ListMeta};
use super::{
    IncludeObject, Inner, ListOptions, Representation, RequestContext, Selectors, Strategy,
    WatchStream,
};
use crate::resource_version::{self, ListQuery, Read, WatchStart};
use crate::status::ApiError;
use crate::store::{Storage, StoreError};

/// The annotation marking the end of a watch-list's initial events.
pub const INITIAL_EVENTS_END: &str = "k8s.io/initial-events-end";

/// A watch whose options have been validated.
struct Plan {
    ctx: RequestContext,
    start: WatchStart,
    end_bookmark: bool,
    bookmarks: bool,
    deadline: Option<Instant>,
    sel: Selectors,
    prefix: String,
}

/// Validates a watch and starts its task.
pub(crate) async fn start<S: Strategy, St: Storage>(
    inner: Arc<Inner<S, St>>,
    ctx: &RequestContext,
    opts: &ListOptions,
) -> Result<WatchStream, ApiError> {
    let sel = inner.selectors(opts)?;
    let start = resource_version::plan_watch(
        &ListQuery {
            resource_version: opts.resource_version.as_deref(),
            resource_version_match: opts.resource_version_match.as_deref(),
            limit: None,
            continue_token: opts.continue_token.as_deref(),
            send_initial_events: opts.send_initial_events,
        },
        &inner.resource,
        inner.config.watch_list,
    )?;
    let end_bookmark = match start {
        // With WatchList on, Go defaults legacy watches from "" / "0" to watch-list.
        WatchStart::InitialState {
            initial_events_end_bookmark,
            ..
        } => {
            opts.allow_watch_bookmarks
                && (initial_events_end_bookmark
                    || (opts.send_initial_events.is_none() && inner.config.watch_list))
        }
        WatchStart::Now | WatchStart::After(_) => false,
    };
    let plan = Plan {
        ctx: ctx.clone(),
        start,
        end_bookmark,
        bookmarks: opts.allow_watch_bookmarks,
        // `timeoutSeconds=0` means the server's default, as in Go.
        deadline: opts
            .timeout_seconds
            .filter(|s| *s > 0)
            .map(|s| Instant::now() + std::time::Duration::from_secs(s)),
        sel,
        prefix: inner.prefix(inner.namespace(ctx)),
    };
    let (tx, rx) = mpsc::channel::<Value>(64);
    tokio::spawn(async move {
        let mut w = Watcher {
            inner: &inner,
            plan: &plan,
            tx: &tx,
            first_table: true,
        };
        // An error here means the client went away.
        let _ = w.run().await;
    });
    Ok(Box::pin(futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|v| (v, rx))
    })))
}

/// The receiver is gone.
struct Closed;

/// What woke a watch up.
enum Tick {
    Event(Option<Result<crate::store::WatchEvent, StoreError>>),
    Bookmark,
    Deadline,
    Closed,
}

struct Watcher<'a, S: Strategy, St: Storage> {
    inner: &'a Inner<S, St>,
    plan: &'a Plan,
    tx: &'a mpsc::Sender<Value>,
    first_table: bool,
}

impl<S: Strategy, St: Storage> Watcher<'_, S, St> {
    async fn send(&self, event_type: &str, object: Value) -> Result<(), Closed> {
        self.tx
            .send(json!({"type": event_type, "object": object}))
            .await
            .map_err(|_| Closed)
    }

    async fn error(&self, e: &ApiError) -> Result<(), Closed> {
        let status = serde_json::to_value(e.to_status()).unwrap_or(Value::Null);
        self.send("ERROR", status).await
    }

    /// An object in the watch's representation (Table events: one row, columns only first).
    fn render(&mut self, obj: &S::Object) -> Result<Value, ApiError> {
        let ctx = &self.plan.ctx;
        let v = self.inner.encode_out(obj, &ctx.version)?;
        Ok(match ctx.representation {
            Representation::Object => v,
            Representation::PartialObjectMetadata => table::partial_object_metadata(&v),
            Representation::Table { include_object } => {
                let cols = std::mem::take(&mut self.first_table)
                    .then(|| table::column_definitions(&self.inner.strategy.table_columns()));
                let rv = obj_rv(&v);
                let row = table::row(&v, self.inner.strategy.table_cells(obj), include_object);
                table::table(
                    cols,
                    vec![row],
                    &ListMeta {
                        resource_version: rv,
                        ..ListMeta::default()
                    },
                )
            }
        })
    }

    /// A bookmark object: the watched kind with only a resourceVersion (and the
    /// initial-events-end annotation); in a Table watch, a one-row Table whose row object keeps
    /// the metadata even under `includeObject=None` (so the annotation survives).
    fn bookmark(&mut self, revision: u64, end: bool) -> Value {
        let mut metadata =
            json!({"resourceVersion": revision.to_string(), "creationTimestamp": null});
        if end {
            metadata["annotations"] = json!({INITIAL_EVENTS_END: "true"});
        }
        let ctx = &self.plan.ctx;
        let partial = json!({
            "kind": "PartialObjectMetadata",
            "apiVersion": table::META_V1,
            "metadata": metadata,
        });
        match ctx.representation {
            Representation::Object => json!({
                "kind": self.inner.descriptor().kind,
                "apiVersion": self.inner.api_version(&ctx.version),
                "metadata": partial["metadata"],
            }),
            Representation::PartialObjectMetadata => partial,
            Representation::Table { include_object } => {
                let columns = self.inner.strategy.table_columns();
                let object = match include_object {
                    IncludeObject::None if !end => Value::Null,
                    IncludeObject::None | IncludeObject::Metadata | IncludeObject::Object => {
                        partial
                    }
                };
                let row = json!({"cells": vec![Value::Null; columns.len()], "object": object});
                let cols = std::mem::take(&mut self.first_table)
                    .then(|| table::column_definitions(&columns));
                table::table(
                    cols,
                    vec![row],
                    &ListMeta {
                        resource_version: revision.to_string(),
                        ..ListMeta::default()
                    },
                )
            }
        }
    }

    async fn run(&mut self) -> Result<(), Closed> {
        let inner = self.inner;
        let store = &inner.store;
        let mut last = match self.plan.start {
            WatchStart::InitialState { read, .. } => match self.initial(read).await {
                Ok(rev) => rev,
                Err(e) => return self.error(&e).await,
            },
            WatchStart::Now => match store.current_revision().await {
                Ok(r) => r,
                Err(e) => return self.error(&self.watch_error(e)).await,
            },
            WatchStart::After(n) => {
                match store.current_revision().await {
                    Ok(current) if n > current => {
                        return self
                            .error(&ApiError::TooLargeResourceVersion {
                                requested: n,
                                current,
                                retry_after_seconds: 1,
                            })
                            .await;
                    }
                    Ok(_) => {}
                    Err(e) => return self.error(&self.watch_error(e)).await,
                }
                n
            }
        };
        let mut watch = match store.watch(&self.plan.prefix, last).await {
            Ok(w) => w,
            Err(e) => return self.error(&self.watch_error(e)).await,
        };
        let interval = self.inner.config.bookmark_interval;
        let mut next_bookmark = Instant::now() + interval;
        let far = Instant::now() + std::time::Duration::from_secs(3600 * 24 * 365);
        let deadline = self.plan.deadline.unwrap_or(far);
        let tx = self.tx;
        loop {
            let bookmark_at = if self.plan.bookmarks {
                next_bookmark
            } else {
                far
            };
            let tick = tokio::select! {
                ev = watch.next() => Tick::Event(ev),
                () = sleep_until(bookmark_at) => Tick::Bookmark,
                () = sleep_until(deadline) => Tick::Deadline,
                () = tx.closed() => Tick::Closed,
            };
            match tick {
                Tick::Event(None) | Tick::Deadline => return Ok(()),
                Tick::Closed => return Err(Closed),
                Tick::Event(Some(Err(e))) => return self.error(&self.watch_error(e)).await,
                Tick::Event(Some(Ok(ev))) => {
                    last = ev.revision;
                    // Without selectors every object matches: no decode just to filter (it
                    // cost two decodes per event and watcher: the new and the previous value).
                    let everything = self.plan.sel.is_empty();
                    let delivered = ev.filter(|bytes| {
                        everything
                            || self
                                .inner
                                .decode_stored(bytes, ev.revision)
                                .is_ok_and(|o| self.inner.matches(&o, &self.plan.sel))
                    });
                    if let Some(d) = delivered {
                        let rendered = self
                            .inner
                            .decode_stored(d.object, d.revision)
                            .and_then(|o| self.render(&o));
                        match rendered {
                            Ok(v) => self.send(d.event_type, v).await?,
                            Err(e) => return self.error(&e).await,
                        }
                    }
                }
                Tick::Bookmark => {
                    next_bookmark = Instant::now() + interval;
                    let b = self.bookmark(last, false);
                    self.send("BOOKMARK", b).await?;
                }
            }
        }
    }

    fn watch_error(&self, e: StoreError) -> ApiError {
        match e {
            StoreError::Compacted {
                requested,
                compacted,
            } => ApiError::too_old_resource_version(requested, compacted),
            e => e.into_api_error(crate::store::Operation::Watch, &self.inner.resource, ""),
        }
    }

    /// Sends the initial state as ADDED events (and the end bookmark); returns its revision.
    async fn initial(&mut self, read: Read) -> Result<u64, ApiError> {
        let ns = self.inner.namespace(&self.plan.ctx).map(str::to_owned);
        let opts = ListOptions {
            resource_version: match read {
                Read::NotOlderThan(n) => Some(n.to_string()),
                Read::Latest | Read::Any | Read::Exact(_) => None,
            },
            ..ListOptions::default()
        };
        let listed = self
            .inner
            .list_objects(ns.as_deref(), &opts, &self.plan.sel)
            .await?;
        for obj in &listed.items {
            let v = self.render(obj)?;
            if self.send("ADDED", v).await.is_err() {
                return Ok(listed.revision);
            }
        }
        if self.plan.end_bookmark {
            let b = self.bookmark(listed.revision, true);
            let _ = self.send("BOOKMARK", b).await;
        }
        Ok(listed.revision)
    }
}

fn obj_rv(v: &Value) -> String {
    v.pointer("/metadata/resourceVersion")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned()
}
