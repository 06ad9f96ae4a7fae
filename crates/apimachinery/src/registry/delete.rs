//! delete and deletecollection: preconditions, admission, finalizers and propagation,
//! compare-and-delete.

use serde_json::{Value, json};

use super::meta::{self, Propagation};
use super::{DeleteOptions, Inner, ListOptions, RequestContext, Response, Strategy};
use crate::status::ApiError;
use crate::store::{Preconditions, Storage, StoreError};

impl<S: Strategy, St: Storage> Inner<S, St> {
    fn precondition_failed(&self, name: &str, reason: String) -> ApiError {
        ApiError::Conflict {
            resource: self.resource.clone(),
            name: name.to_owned(),
            reason,
        }
    }

    fn success_status(&self, name: &str, uid: &str) -> Value {
        json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Success",
            "details": {
                "name": name,
                "group": self.descriptor().group,
                "kind": self.descriptor().plural,
                "uid": uid,
            }
        })
    }

    /// Deletes one object in `namespace`.
    pub(crate) async fn delete_in(
        &self,
        ctx: &RequestContext,
        namespace: Option<&str>,
        name: &str,
        opts: &DeleteOptions,
    ) -> Result<Response, ApiError> {
        let policy = Propagation::parse(opts.propagation_policy.as_deref())?;
        let key = self.key(namespace, name);
        for _ in 0..self.config.max_write_retries {
            let kv = self
                .store
                .get(&key, None)
                .await
                .map_err(|e| self.store_err(e, name))?
                .ok_or_else(|| self.not_found(name))?;
            let cur = self.current(kv)?;
            let mut obj = cur.object;
            let m = self.strategy.metadata(&obj);
            let uid = m.uid.clone().unwrap_or_default();
            if let Some(want) = opts.precondition_uid.as_deref()
                && want != uid
            {
                return Err(self.precondition_failed(
                    name,
                    format!(
                        "the UID in the precondition ({want}) does not match the UID in record ({uid}). The object might have been deleted and then recreated"
                    ),
                ));
            }
            if let Some(want) = opts.precondition_resource_version.as_deref()
                && want != cur.revision.to_string()
            {
                return Err(self.precondition_failed(
                    name,
                    format!(
                        "the ResourceVersion in the precondition ({want}) does not match the ResourceVersion in record ({}). The object might have been modified",
                        cur.revision
                    ),
                ));
            }
            self.admit_delete(ctx, namespace, name, &obj).await?;
            let m = self.strategy.metadata_mut(&mut obj);
            let mut changed = false;
            if self.config.garbage_collection
                && let Some(f) =
                    meta::deletion_finalizers(m.finalizers.as_deref().unwrap_or(&[]), policy)
            {
                m.finalizers = Some(f).filter(|f| !f.is_empty());
                changed = true;
            }
            let guard = Preconditions {
                mod_revision: Some(cur.revision),
                uid: None,
            };
            if !m.finalizers.as_deref().unwrap_or(&[]).is_empty() {
                changed |= meta::mark_deleting(m, meta::now());
                if !changed || ctx.dry_run {
                    return Ok(Response {
                        code: 200,
                        body: self.render(ctx, &obj)?,
                        warnings: Vec::new(),
                    });
                }
                match self
                    .store
                    .update(&key, self.encode_stored(&obj)?, &guard)
                    .await
                {
                    Ok(kv) => {
                        self.strategy.metadata_mut(&mut obj).resource_version =
                            Some(kv.mod_revision.to_string());
                        return Ok(Response {
                            code: 200,
                            body: self.render(ctx, &obj)?,
                            warnings: Vec::new(),
                        });
                    }
                    Err(StoreError::RevisionConflict { .. }) => continue,
                    Err(e) => return Err(self.store_err(e, name)),
                }
            }
            if !ctx.dry_run {
                match self.store.delete(&key, &guard).await {
                    Ok((_, rev)) => {
                        self.strategy.metadata_mut(&mut obj).resource_version =
                            Some(rev.to_string());
                    }
                    Err(StoreError::RevisionConflict { .. }) => continue,
                    Err(e) => return Err(self.store_err(e, name)),
                }
            }
            let body = if self.config.return_deleted_object {
                self.render(ctx, &obj)?
            } else {
                self.success_status(name, &uid)
            };
            return Ok(Response {
                code: 200,
                body,
                warnings: Vec::new(),
            });
        }
        Err(ApiError::optimistic_lock(self.resource.clone(), name))
    }

    pub(crate) async fn delete(
        &self,
        ctx: &RequestContext,
        name: &str,
        opts: &DeleteOptions,
    ) -> Result<Response, ApiError> {
        self.delete_in(ctx, self.namespace(ctx), name, opts).await
    }

    pub(crate) async fn delete_collection(
        &self,
        ctx: &RequestContext,
        list: &ListOptions,
        opts: &DeleteOptions,
    ) -> Result<Response, ApiError> {
        let sel = self.selectors(list)?;
        let mut all = list.clone();
        all.limit = None;
        all.continue_token = None;
        let listed = self.list_objects(self.namespace(ctx), &all, &sel).await?;
        for obj in &listed.items {
            let m = self.strategy.metadata(obj);
            let name = m.name.clone().unwrap_or_default();
            let ns = if self.descriptor().namespaced {
                m.namespace.clone()
            } else {
                None
            };
            match self.delete_in(ctx, ns.as_deref(), &name, opts).await {
                Ok(_) | Err(ApiError::NotFound { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(Response {
            code: 200,
            body: self.render_list(ctx, &listed)?,
            warnings: Vec::new(),
        })
    }
}
