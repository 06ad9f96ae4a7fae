//! get and list: resourceVersion plans, selectors, pages with Go-compatible continue tokens.

use serde_json::Value;

use super::table::{self, ListMeta};
use super::{GetOptions, Inner, ListOptions, RequestContext, Response, Selectors, Strategy};
use crate::resource_version::{self, ListQuery, Read};
use crate::status::ApiError;
use crate::store::{ListRequest, Operation, Storage, StoreError, encode_continue};

/// The message of a 410 for a continue token whose revision has been compacted.
const CONTINUE_EXPIRED: &str = "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.";

/// One read page of matching objects.
pub(crate) struct Listed<O> {
    pub(crate) items: Vec<O>,
    pub(crate) meta: ListMeta,
    pub(crate) revision: u64,
}

impl<S: Strategy, St: Storage> Inner<S, St> {
    pub(crate) async fn get(
        &self,
        ctx: &RequestContext,
        name: &str,
        opts: &GetOptions,
    ) -> Result<Response, ApiError> {
        let read = resource_version::plan_get(opts.resource_version.as_deref())?;
        if let Read::NotOlderThan(_) = read {
            let current = self
                .store
                .current_revision()
                .await
                .map_err(|e| self.store_err(e, name))?;
            resource_version::check_not_older_than(read, current)?;
        }
        let key = self.key(self.namespace(ctx), name);
        let kv = self
            .store
            .get(&key, None)
            .await
            .map_err(|e| self.store_err(e, name))?
            .ok_or_else(|| self.not_found(name))?;
        let obj = self.decode_stored(&kv.value, kv.mod_revision)?;
        Ok(Response {
            code: 200,
            body: self.render(ctx, &obj)?,
            warnings: Vec::new(),
        })
    }

    /// Reads matching objects for a list: one page when `opts.limit` is set, else everything.
    pub(crate) async fn list_objects(
        &self,
        namespace: Option<&str>,
        opts: &ListOptions,
        sel: &Selectors,
    ) -> Result<Listed<S::Object>, ApiError> {
        let prefix = self.prefix(namespace);
        let plan = resource_version::plan_list(
            &ListQuery {
                resource_version: opts.resource_version.as_deref(),
                resource_version_match: opts.resource_version_match.as_deref(),
                limit: opts.limit,
                continue_token: opts.continue_token.as_deref(),
                send_initial_events: opts.send_initial_events,
            },
            &prefix,
        )?;
        let continuing = plan.start.is_some();
        let map_err = |e: StoreError| match e {
            StoreError::Compacted { .. } if continuing => ApiError::Expired {
                message: CONTINUE_EXPIRED.to_owned(),
            },
            e => e.into_api_error(
                if continuing {
                    Operation::ContinueList
                } else {
                    Operation::List
                },
                &self.resource,
                "",
            ),
        };
        let mut revision = match plan.read {
            Read::Latest | Read::Any => None,
            Read::NotOlderThan(_) => {
                let current = self.store.current_revision().await.map_err(map_err)?;
                resource_version::check_not_older_than(plan.read, current)?;
                None
            }
            Read::Exact(n) => Some(n),
        };
        let limit = opts
            .limit
            .filter(|l| *l > 0)
            .and_then(|l| usize::try_from(l).ok());
        let mut start = plan.start;
        let mut items = Vec::new();
        let mut last_key = None::<String>;
        let (mut remaining, mut read_rev);
        loop {
            let want = limit.map(|l| l.saturating_sub(items.len()).max(1));
            let page = self
                .store
                .list(ListRequest {
                    prefix: prefix.clone(),
                    revision,
                    limit: want,
                    start: start.clone(),
                })
                .await
                .map_err(map_err)?;
            revision = Some(page.revision);
            read_rev = page.revision;
            remaining = page.remaining;
            for kv in &page.items {
                let obj = self.decode_stored(&kv.value, kv.mod_revision)?;
                if self.matches(&obj, sel) {
                    items.push(obj);
                }
            }
            if let Some(last) = page.items.last() {
                last_key = Some(last.key.clone());
            }
            let full = limit.is_some_and(|l| items.len() >= l);
            if remaining == 0 || full || page.items.is_empty() {
                break;
            }
            start = last_key.as_ref().map(|k| format!("{k}\u{0}"));
        }
        let continue_token = match (&last_key, remaining > 0 && limit.is_some()) {
            (Some(k), true) => {
                let rv = i64::try_from(read_rev).map_err(ApiError::internal)?;
                Some(
                    encode_continue(&format!("{k}\u{0}"), &prefix, rv)
                        .map_err(ApiError::internal)?,
                )
            }
            _ => None,
        };
        let remaining_item_count =
            (continue_token.is_some() && sel.is_empty()).then_some(remaining);
        Ok(Listed {
            items,
            meta: ListMeta {
                resource_version: read_rev.to_string(),
                continue_token,
                remaining_item_count,
            },
            revision: read_rev,
        })
    }

    pub(crate) async fn list(
        &self,
        ctx: &RequestContext,
        opts: &ListOptions,
    ) -> Result<Response, ApiError> {
        let sel = self.selectors(opts)?;
        let listed = self.list_objects(self.namespace(ctx), opts, &sel).await?;
        Ok(Response {
            code: 200,
            body: self.render_list(ctx, &listed)?,
            warnings: Vec::new(),
        })
    }

    pub(crate) fn render_list(
        &self,
        ctx: &RequestContext,
        listed: &Listed<S::Object>,
    ) -> Result<Value, ApiError> {
        let objects = listed
            .items
            .iter()
            .map(|o| {
                let cells = match ctx.representation {
                    super::Representation::Table { .. } => self.strategy.table_cells(o),
                    _ => Vec::new(),
                };
                self.encode_out(o, &ctx.version).map(|v| (v, cells))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(table::list(
            objects,
            ctx.representation,
            &self.api_version(&ctx.version),
            &self.descriptor().list_kind,
            &self.strategy.table_columns(),
            &listed.meta,
        ))
    }
}
