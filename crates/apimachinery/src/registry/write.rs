//! create, update, patch and apply: one guarded write loop (Go's `GuaranteedUpdate`) around
//! pure preparation steps, with admission between preparing and validating (see
//! [`super::admission`] for the order).

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ManagedFieldsEntry;
use serde_json::{Map, Value};

use super::admission::Operation;
use super::managed::{self, Manager, Scope};
use super::meta;
use super::unknown_fields::{self, Verb};
use super::write_admission::Target;
use super::{Current, Inner, PatchType, RequestContext, Response, Strategy, Subresource};
use crate::patch;
use crate::resource_version::{ResourceVersionError, parse_resource_version};
use crate::status::{ApiError, FieldError, GroupKind};
use crate::store::{Preconditions, Storage, StoreError};

/// How the managed fields of a write are computed.
enum Tracking {
    /// A non-apply write; `client` is what the body sent in `metadata.managedFields`.
    Update {
        client: Option<Vec<ManagedFieldsEntry>>,
    },
    /// Server-side apply already computed them.
    Apply(Vec<Manager>),
}

/// How a write is finished once the mutating admission phase has run.
enum Finish {
    /// A new object (apply creating it).
    Create(Tracking),
    /// A change to the stored object through `sub`; `errs` are [`Inner::before_update`]'s.
    Update {
        sub: Subresource,
        errs: Vec<FieldError>,
        tracking: Tracking,
    },
}

/// What one attempt of a write decided before admission.
struct Step<O> {
    /// Decoded, defaulted and prepared; admission and validation are still to come.
    object: O,
    finish: Finish,
    /// The resourceVersion came from the client: a lost race is a 409, not a retry.
    client_revision: bool,
    warnings: Vec<String>,
}

fn scope(sub: Subresource) -> Scope {
    match sub {
        Subresource::Main => Scope::Main,
        Subresource::Status => Scope::Status,
    }
}

fn is_reset(entries: &[ManagedFieldsEntry]) -> bool {
    entries.is_empty() || (entries.len() == 1 && entries[0] == ManagedFieldsEntry::default())
}

fn random16() -> [u8; 16] {
    *uuid::Uuid::new_v4().as_bytes()
}

impl<S: Strategy, St: Storage> Inner<S, St> {
    fn invalid(&self, name: &str, errors: Vec<FieldError>) -> ApiError {
        ApiError::Invalid {
            kind: self.kind.clone(),
            name: name.to_owned(),
            errors,
        }
    }

    /// A uid in a PUT body or a patch is a precondition (Go's `defaultUpdatedObjectInfo`), with
    /// the storage layer's conflict message.
    fn uid_precondition(
        &self,
        current: &S::Object,
        uid: Option<&str>,
        name: &str,
    ) -> Result<(), ApiError> {
        let actual = self
            .strategy
            .metadata(current)
            .uid
            .clone()
            .unwrap_or_default();
        match uid.filter(|u| !u.is_empty()) {
            Some(expected) if expected != actual => Err(self.store_err(
                StoreError::UidConflict {
                    key: self.key(self.strategy.metadata(current).namespace.as_deref(), name),
                    expected: expected.to_owned(),
                    actual,
                },
                name,
            )),
            _ => Ok(()),
        }
    }

    /// Decodes a body and applies `fieldValidation` to what the decoder dropped.
    fn decode_body(
        &self,
        ctx: &RequestContext,
        body: Value,
        verb: Verb,
    ) -> Result<(S::Object, Vec<String>), ApiError> {
        let decoded = self.strategy.decode(&ctx.version, body.clone())?;
        let again = self.encode_out(&decoded.object, &ctx.version)?;
        let mut unknown = unknown_fields::unknown_fields(&body, &again);
        unknown.retain(|path| !decoded.dropped_fields.contains(path));
        let mut warnings = unknown_fields::enforce(
            &ctx.duplicate_fields,
            &unknown,
            ctx.field_validation,
            verb,
            &self.descriptor().kind,
            &ctx.version,
        )?;
        warnings.extend(decoded.warnings);
        Ok((decoded.object, warnings))
    }

    fn manager(ctx: &RequestContext) -> String {
        meta::manager_name(ctx.field_manager.as_deref(), ctx.user_agent.as_deref())
    }

    /// The managed view of an object in the request's version.
    fn view(
        &self,
        ctx: &RequestContext,
        obj: &S::Object,
        sub: Subresource,
    ) -> Result<Value, ApiError> {
        Ok(managed::managed_view(
            &self.encode_out(obj, &ctx.version)?,
            scope(sub),
        ))
    }

    /// Create-time policy before admission: namespace, no resourceVersion, the strategy's
    /// `prepare_for_create`.
    fn before_create(
        &self,
        ctx: &RequestContext,
        mut obj: S::Object,
    ) -> Result<S::Object, ApiError> {
        let namespace = self.namespace(ctx).map(str::to_owned);
        let m = self.strategy.metadata_mut(&mut obj);
        meta::check_namespace(m, namespace.as_deref())?;
        if !m.resource_version.as_deref().unwrap_or("").is_empty() {
            return Err(ApiError::bad_request(
                "resourceVersion should not be set on objects to be created",
            ));
        }
        self.strategy.prepare_for_create(&mut obj);
        Ok(obj)
    }

    /// The mutating admission phase of a create; a changed object is prepared again.
    async fn admit_create(
        &self,
        ctx: &RequestContext,
        name: &str,
        obj: S::Object,
    ) -> Result<S::Object, ApiError> {
        let target = self.create_target(ctx, name);
        match self.admit(ctx, target, obj, None).await? {
            (obj, true) => self.before_create(ctx, obj),
            (obj, false) => Ok(obj),
        }
    }

    fn create_target<'a>(&self, ctx: &'a RequestContext, name: &'a str) -> Target<'a> {
        Target {
            operation: Operation::Create,
            sub: Subresource::Main,
            namespace: self.namespace(ctx),
            name,
        }
    }

    /// Create-time policy after mutating admission: name generation, system fields,
    /// validation, managed fields.
    fn finish_create(
        &self,
        ctx: &RequestContext,
        mut obj: S::Object,
        tracking: Tracking,
    ) -> Result<(S::Object, Vec<String>), ApiError> {
        let m = self.strategy.metadata_mut(&mut obj);
        if m.name.as_deref().unwrap_or("").is_empty()
            && let Some(g) = m.generate_name.clone().filter(|g| !g.is_empty())
        {
            m.name = Some(meta::generate_name(&g, random16()));
        }
        let client_mf = m.managed_fields.take();
        meta::fill_create_fields(m, uuid::Uuid::new_v4().to_string(), meta::now());
        let name = m.name.clone().unwrap_or_default();
        let mut errs = self.strategy.validate_create(&obj);
        if errs.is_empty() {
            errs = crate::object_meta::validate_object_meta(
                self.strategy.metadata(&obj),
                self.descriptor().namespaced,
                crate::object_meta::NameRule::PathSegment,
            );
        }
        if !errs.is_empty() {
            return Err(self.invalid(&name, errs));
        }
        let managers = match tracking {
            Tracking::Apply(ms) => ms,
            Tracking::Update { .. } => {
                let base = client_mf
                    .filter(|c| !is_reset(c))
                    .map(|c| managed::decode_managers(&c))
                    .unwrap_or_default();
                let view = self.view(ctx, &obj, Subresource::Main)?;
                managed::update(
                    base,
                    &Value::Object(Map::new()),
                    &view,
                    self.strategy.field_schema(&ctx.version),
                    &Self::manager(ctx),
                    &self.api_version(&ctx.version),
                    "",
                    meta::now(),
                )
                .map_err(managed::ManagedError::into_api_error)?
            }
        };
        self.strategy.metadata_mut(&mut obj).managed_fields =
            Some(managed::encode_managers(&managers)).filter(|v| !v.is_empty());
        let warnings = self.strategy.warnings(&obj);
        Ok((obj, warnings))
    }

    /// Update-time policy before admission (the first half of Go's `BeforeUpdate`): fields an
    /// update may not change restored, the strategy's `prepare_for_*`; the errors of what could
    /// not be restored silently are reported with validation's.
    fn before_update(
        &self,
        sub: Subresource,
        old: &S::Object,
        mut new: S::Object,
    ) -> (S::Object, Vec<FieldError>) {
        let old_meta = self.strategy.metadata(old);
        let errs = meta::restore_update_fields(self.strategy.metadata_mut(&mut new), old_meta);
        match sub {
            Subresource::Main => self.strategy.prepare_for_update(&mut new, old),
            Subresource::Status => {
                self.strategy.prepare_for_status_update(&mut new, old);
                meta::reset_meta_for_status(self.strategy.metadata_mut(&mut new), old_meta);
            }
        }
        (new, errs)
    }

    /// Update-time policy after mutating admission: generation, validation, the field manager.
    fn finish_update(
        &self,
        ctx: &RequestContext,
        sub: Subresource,
        old: &S::Object,
        mut new: S::Object,
        mut errs: Vec<FieldError>,
        tracking: Tracking,
    ) -> Result<(S::Object, Vec<String>), ApiError> {
        let old_meta = self.strategy.metadata(old);
        let name = old_meta.name.clone().unwrap_or_default();
        let spec_changed = !self.strategy.spec_equal(&new, old);
        self.strategy.metadata_mut(&mut new).generation = meta::next_generation(
            old_meta.generation,
            spec_changed,
            sub == Subresource::Status,
        );
        self.strategy
            .metadata_mut(&mut new)
            .resource_version
            .clone_from(&old_meta.resource_version);
        for e in
            crate::object_meta::validate_object_meta_update(self.strategy.metadata(&new), old_meta)
        {
            if !errs.contains(&e) {
                errs.push(e);
            }
        }
        errs.extend(match sub {
            Subresource::Main => self.strategy.validate_update(&new, old),
            Subresource::Status => self.strategy.validate_status_update(&new, old),
        });
        if !errs.is_empty() {
            return Err(self.invalid(&name, errs));
        }
        let managed_fields = match tracking {
            Tracking::Apply(ms) => Some(managed::encode_managers(&ms)),
            Tracking::Update { client } => {
                let stored = old_meta.managed_fields.clone().unwrap_or_default();
                let (base, reset) = match (sub, client) {
                    (Subresource::Main, Some(c)) if is_reset(&c) => (Vec::new(), true),
                    (Subresource::Main, Some(c)) => (c, false),
                    (Subresource::Main | Subresource::Status, _) => (stored, false),
                };
                if reset || base.is_empty() {
                    // Untracked objects stay untracked until the first apply (Go's
                    // `skipNonAppliedManager`); a reset clears them.
                    None
                } else {
                    let old_view = self.view(ctx, old, sub)?;
                    let new_view = self.view(ctx, &new, sub)?;
                    let ms = managed::update(
                        managed::decode_managers(&base),
                        &old_view,
                        &new_view,
                        self.strategy.field_schema(&ctx.version),
                        &Self::manager(ctx),
                        &self.api_version(&ctx.version),
                        if sub == Subresource::Status {
                            "status"
                        } else {
                            ""
                        },
                        meta::now(),
                    )
                    .map_err(managed::ManagedError::into_api_error)?;
                    Some(managed::encode_managers(&ms))
                }
            }
        };
        self.strategy.metadata_mut(&mut new).managed_fields =
            managed_fields.filter(|v| !v.is_empty());
        let warnings = self.strategy.warnings(&new);
        Ok((new, warnings))
    }

    /// Admission and the rest of the policy for one attempt: mutating phase, the prepare step
    /// again if a plugin changed the object, validation and managed fields, validating phase.
    async fn admit_and_finish(
        &self,
        ctx: &RequestContext,
        name: &str,
        object: S::Object,
        old: Option<&S::Object>,
        finish: Finish,
    ) -> Result<(S::Object, Vec<String>), ApiError> {
        match finish {
            Finish::Create(tracking) => {
                let object = self.admit_create(ctx, name, object).await?;
                let (object, warnings) = self.finish_create(ctx, object, tracking)?;
                let target = self.create_target(ctx, name);
                self.validate_admission(ctx, target, Some(&object), None)
                    .await?;
                Ok((object, warnings))
            }
            Finish::Update {
                sub,
                errs,
                tracking,
            } => {
                let old = old.ok_or_else(|| self.not_found(name))?;
                let target = Target {
                    operation: Operation::Update,
                    sub,
                    namespace: self.namespace(ctx),
                    name,
                };
                let (object, errs) = match self.admit(ctx, target, object, Some(old)).await? {
                    (object, true) => self.before_update(sub, old, object),
                    (object, false) => (object, errs),
                };
                let (object, warnings) =
                    self.finish_update(ctx, sub, old, object, errs, tracking)?;
                self.validate_admission(ctx, target, Some(&object), Some(old))
                    .await?;
                Ok((object, warnings))
            }
        }
    }

    /// The guarded write loop: read, decide with `step`, admit and finish, compare-and-swap; a
    /// lost race re-runs `step` (and admission) on the fresh object unless the client pinned
    /// the resourceVersion.
    async fn write<F>(
        &self,
        ctx: &RequestContext,
        name: &str,
        mut step: F,
    ) -> Result<Response, ApiError>
    where
        F: FnMut(Option<&Current<S::Object>>) -> Result<Step<S::Object>, ApiError> + Send,
    {
        let key = self.key(self.namespace(ctx), name);
        for _ in 0..self.config.max_write_retries {
            let current = match self.store.get(&key, None).await {
                Ok(Some(kv)) => Some(self.current(kv)?),
                Ok(None) => None,
                Err(e) => return Err(self.store_err(e, name)),
            };
            let Step {
                object,
                finish,
                client_revision,
                mut warnings,
            } = step(current.as_ref())?;
            let create = matches!(finish, Finish::Create(_));
            let (mut object, w) = self
                .admit_and_finish(
                    ctx,
                    name,
                    object,
                    current.as_ref().map(|c| &c.object),
                    finish,
                )
                .await?;
            warnings.extend(w);
            let bytes = self.encode_stored(&object)?;
            let respond = |obj: &S::Object, code: u16, warnings: Vec<String>| {
                Ok(Response {
                    code,
                    body: self.render(ctx, obj)?,
                    warnings,
                })
            };
            let Some(cur) = current else {
                if !create {
                    return Err(self.not_found(name));
                }
                if ctx.dry_run {
                    self.strategy.metadata_mut(&mut object).resource_version = None;
                    return respond(&object, 201, warnings);
                }
                match self.store.create(&key, bytes).await {
                    Ok(kv) => {
                        self.strategy.metadata_mut(&mut object).resource_version =
                            Some(kv.mod_revision.to_string());
                        return respond(&object, 201, warnings);
                    }
                    Err(StoreError::AlreadyExists { .. }) => continue,
                    Err(e) => return Err(self.store_err(e, name)),
                }
            };
            if bytes == cur.bytes {
                return respond(&cur.object, 200, warnings);
            }
            let guard = Preconditions {
                mod_revision: Some(cur.revision),
                uid: None,
            };
            if meta::should_delete_now(self.strategy.metadata(&object)) {
                if ctx.dry_run {
                    return respond(&object, 200, warnings);
                }
                match self.store.delete(&key, &guard).await {
                    Ok((_, rev)) => {
                        self.strategy.metadata_mut(&mut object).resource_version =
                            Some(rev.to_string());
                        return respond(&object, 200, warnings);
                    }
                    Err(StoreError::RevisionConflict { .. }) if !client_revision => continue,
                    Err(e) => return Err(self.store_err(e, name)),
                }
            }
            if ctx.dry_run {
                self.strategy.metadata_mut(&mut object).resource_version =
                    Some(cur.revision.to_string());
                return respond(&object, 200, warnings);
            }
            match self.store.update(&key, bytes, &guard).await {
                Ok(kv) => {
                    self.strategy.metadata_mut(&mut object).resource_version =
                        Some(kv.mod_revision.to_string());
                    return respond(&object, 200, warnings);
                }
                Err(StoreError::RevisionConflict { .. }) if !client_revision => {}
                Err(e) => return Err(self.store_err(e, name)),
            }
        }
        Err(ApiError::optimistic_lock(self.resource.clone(), name))
    }

    pub(crate) async fn create(
        &self,
        ctx: &RequestContext,
        mut body: Value,
    ) -> Result<Response, ApiError> {
        meta::check_type_meta(&mut body, self.expected(ctx))?;
        let (obj, mut warnings) = self.decode_body(ctx, body, Verb::CreateOrUpdate)?;
        let obj = self.before_create(ctx, obj)?;
        let obj = self.admit_create(ctx, "", obj).await?;
        let generated = self
            .strategy
            .metadata(&obj)
            .name
            .as_deref()
            .unwrap_or("")
            .is_empty();
        let (mut obj, w) = self.finish_create(ctx, obj, Tracking::Update { client: None })?;
        warnings.extend(w);
        self.validate_admission(ctx, self.create_target(ctx, ""), Some(&obj), None)
            .await?;
        let ns = self.namespace(ctx).map(str::to_owned);
        const GENERATE_ATTEMPTS: usize = 8;
        for attempt in 0..GENERATE_ATTEMPTS {
            let name = self
                .strategy
                .metadata(&obj)
                .name
                .clone()
                .unwrap_or_default();
            if ctx.dry_run {
                return Ok(Response {
                    code: 201,
                    body: self.render(ctx, &obj)?,
                    warnings,
                });
            }
            let key = self.key(ns.as_deref(), &name);
            match self.store.create(&key, self.encode_stored(&obj)?).await {
                Ok(kv) => {
                    self.strategy.metadata_mut(&mut obj).resource_version =
                        Some(kv.mod_revision.to_string());
                    return Ok(Response {
                        code: 201,
                        body: self.render(ctx, &obj)?,
                        warnings,
                    });
                }
                Err(StoreError::AlreadyExists { .. }) if generated => {
                    if attempt + 1 == GENERATE_ATTEMPTS {
                        return Err(ApiError::GenerateNameConflict {
                            resource: self.resource.clone(),
                            name,
                            retry_after_seconds: 1,
                        });
                    }
                    let m = self.strategy.metadata_mut(&mut obj);
                    let g = m.generate_name.clone().unwrap_or_default();
                    m.name = Some(meta::generate_name(&g, random16()));
                }
                Err(e) => return Err(self.store_err(e, &name)),
            }
        }
        Err(ApiError::internal(
            "unreachable: generateName attempts exhausted",
        ))
    }

    pub(crate) async fn update(
        &self,
        ctx: &RequestContext,
        name: &str,
        sub: Subresource,
        mut body: Value,
    ) -> Result<Response, ApiError> {
        meta::check_type_meta(&mut body, self.expected(ctx))?;
        let (mut obj, warnings) = self.decode_body(ctx, body, Verb::CreateOrUpdate)?;
        let namespace = self.namespace(ctx).map(str::to_owned);
        let m = self.strategy.metadata_mut(&mut obj);
        meta::check_name(m, name)?;
        meta::check_namespace(m, namespace.as_deref())?;
        let body_rv = parse_resource_version(m.resource_version.as_deref().unwrap_or(""))
            .map_err(ResourceVersionError::into_bad_request)?;
        let client = m.managed_fields.clone();
        let body_uid = m.uid.clone();
        self.write(ctx, name, |current| {
            let cur = current.ok_or_else(|| self.not_found(name))?;
            self.uid_precondition(&cur.object, body_uid.as_deref(), name)?;
            if body_rv == 0 {
                return Err(self.invalid(
                    name,
                    vec![FieldError::new(
                        "metadata.resourceVersion",
                        crate::status::FieldErrorKind::Invalid {
                            value: None,
                            detail: "0x0: must be specified for an update".to_owned(),
                        },
                    )],
                ));
            }
            if body_rv != cur.revision {
                return Err(ApiError::optimistic_lock(self.resource.clone(), name));
            }
            let (object, errs) = self.before_update(sub, &cur.object, obj.clone());
            Ok(Step {
                object,
                finish: Finish::Update {
                    sub,
                    errs,
                    tracking: Tracking::Update {
                        client: client.clone(),
                    },
                },
                client_revision: true,
                warnings: warnings.clone(),
            })
        })
        .await
    }

    pub(crate) async fn patch(
        &self,
        ctx: &RequestContext,
        name: &str,
        sub: Subresource,
        patch_type: PatchType,
        body: &[u8],
    ) -> Result<Response, ApiError> {
        if let PatchType::Apply { force } = patch_type {
            return self.apply(ctx, name, sub, force, body).await;
        }
        let namespace = self.namespace(ctx).map(str::to_owned);
        self.write(ctx, name, |current| {
            let cur = current.ok_or_else(|| self.not_found(name))?;
            let doc = self.encode_out(&cur.object, &ctx.version)?;
            let mut patched = match patch_type {
                PatchType::Json => patch::apply_json_patch(&doc, body),
                PatchType::Merge => patch::apply_merge_patch(&doc, body),
                PatchType::StrategicMerge | PatchType::Apply { .. } => {
                    patch::apply_strategic_merge_patch(
                        &doc,
                        body,
                        &MetaPatchSchema(self.strategy.patch_schema(&ctx.version)),
                    )
                }
            }
            .map_err(patch::PatchError::into_api_error)?;
            meta::check_type_meta(&mut patched, self.expected(ctx))?;
            let verb = Verb::Patch {
                patched: patched.to_string(),
            };
            let (mut obj, warnings) = self.decode_body(ctx, patched, verb)?;
            let m = self.strategy.metadata_mut(&mut obj);
            meta::check_name(m, name)?;
            meta::check_namespace(m, namespace.as_deref())?;
            let rv = parse_resource_version(m.resource_version.as_deref().unwrap_or(""))
                .map_err(ResourceVersionError::into_bad_request)?;
            if rv != 0 && rv != cur.revision {
                return Err(ApiError::optimistic_lock(self.resource.clone(), name));
            }
            self.uid_precondition(&cur.object, m.uid.as_deref(), name)?;
            let client = m.managed_fields.clone();
            let (object, errs) = self.before_update(sub, &cur.object, obj);
            Ok(Step {
                object,
                finish: Finish::Update {
                    sub,
                    errs,
                    tracking: Tracking::Update { client },
                },
                client_revision: false,
                warnings,
            })
        })
        .await
    }

    async fn apply(
        &self,
        ctx: &RequestContext,
        name: &str,
        sub: Subresource,
        force: bool,
        body: &[u8],
    ) -> Result<Response, ApiError> {
        let manager = ctx
            .field_manager
            .clone()
            .filter(|m| !m.is_empty())
            .ok_or_else(|| ApiError::Invalid {
                kind: GroupKind::new("meta.k8s.io", "PatchOptions"),
                name: String::new(),
                errors: vec![FieldError::required(
                    "fieldManager",
                    "is required for apply patch",
                )],
            })?;
        let mut config = parse_apply_body(body)?;
        meta::check_type_meta(&mut config, self.expected(ctx))?;
        let namespace = self.namespace(ctx).map(str::to_owned);
        {
            let Some(Value::Object(cm)) = config.get_mut("metadata") else {
                return Err(ApiError::bad_request(
                    "error decoding patch: metadata is required in an applied configuration",
                ));
            };
            match cm.get("name").and_then(Value::as_str) {
                Some(n) if n == name => {}
                other => {
                    return Err(ApiError::bad_request(format!(
                        "the name of the object ({}) does not match the name on the URL ({name})",
                        other.unwrap_or("")
                    )));
                }
            }
            match (
                cm.get("namespace").and_then(Value::as_str),
                namespace.as_deref(),
            ) {
                (None | Some(""), Some(ns)) => {
                    cm.insert("namespace".to_owned(), Value::String(ns.to_owned()));
                }
                (Some(a), Some(b)) if a != b => {
                    return Err(ApiError::bad_request(
                        "the namespace of the provided object does not match the namespace sent on the request",
                    ));
                }
                _ => {}
            }
            if cm.get("managedFields").is_some_and(|v| !v.is_null()) {
                return Err(ApiError::bad_request("metadata.managedFields must be nil"));
            }
        }
        let config_rv = parse_resource_version(
            config
                .pointer("/metadata/resourceVersion")
                .and_then(Value::as_str)
                .unwrap_or(""),
        )
        .map_err(ResourceVersionError::into_bad_request)?;
        let api_version = self.api_version(&ctx.version);
        self.write(ctx, name, |current| {
            if current.is_none() && sub == Subresource::Status {
                return Err(self.not_found(name));
            }
            if config_rv != 0 && current.is_none_or(|c| c.revision != config_rv) {
                return Err(ApiError::optimistic_lock(self.resource.clone(), name));
            }
            if let Some(c) = current {
                let uid = config.pointer("/metadata/uid").and_then(Value::as_str);
                self.uid_precondition(&c.object, uid, name)?;
            }
            let (live, managers) = match current {
                Some(c) => (
                    self.encode_out(&c.object, &ctx.version)?,
                    managed::decode_managers(
                        self.strategy
                            .metadata(&c.object)
                            .managed_fields
                            .as_deref()
                            .unwrap_or(&[]),
                    ),
                ),
                None => {
                    let mut md = Map::new();
                    md.insert("name".to_owned(), Value::String(name.to_owned()));
                    if let Some(ns) = &namespace {
                        md.insert("namespace".to_owned(), Value::String(ns.clone()));
                    }
                    let mut m = Map::new();
                    m.insert("apiVersion".to_owned(), Value::String(api_version.clone()));
                    m.insert(
                        "kind".to_owned(),
                        Value::String(self.descriptor().kind.clone()),
                    );
                    m.insert("metadata".to_owned(), Value::Object(md));
                    (Value::Object(m), Vec::new())
                }
            };
            let applied = managed::apply(
                managers,
                &live,
                &config,
                self.strategy.field_schema(&ctx.version),
                &manager,
                &api_version,
                scope(sub),
                force,
                meta::now(),
            )?;
            // Unknown fields: what the merge carried over from the configuration but the decoder
            // dropped (fields outside the write's scope, e.g. status on the main resource, are
            // not merged and so not reported).
            let merged = applied.object;
            let decoded = self.strategy.decode(&ctx.version, merged.clone())?;
            let again = self.encode_out(&decoded.object, &ctx.version)?;
            let mut unknown = unknown_fields::unknown_fields(&merged, &again);
            unknown.retain(|path| !decoded.dropped_fields.contains(path));
            let mut warnings = unknown_fields::enforce(
                &[],
                &unknown,
                ctx.field_validation,
                Verb::Apply,
                &self.descriptor().kind,
                &ctx.version,
            )?;
            warnings.extend(decoded.warnings);
            let tracking = Tracking::Apply(applied.managers);
            let (object, finish) = match current {
                None => (
                    self.before_create(ctx, decoded.object)?,
                    Finish::Create(tracking),
                ),
                Some(c) => {
                    let (object, errs) = self.before_update(sub, &c.object, decoded.object);
                    (
                        object,
                        Finish::Update {
                            sub,
                            errs,
                            tracking,
                        },
                    )
                }
            };
            Ok(Step {
                object,
                finish,
                client_revision: config_rv != 0,
                warnings,
            })
        })
        .await
    }
}

/// A resource's patch schema with `ObjectMeta`'s strategies guaranteed (`finalizers` merge as a
/// set, `ownerReferences` by `uid`): the garbage collector's `$patch: delete` of an owner
/// reference relies on them whatever the resource's schema says.
struct MetaPatchSchema<'a>(&'a dyn patch::PatchSchema);

impl patch::PatchSchema for MetaPatchSchema<'_> {
    fn patch_meta(&self, path: &[&str]) -> patch::PatchMeta {
        match path {
            ["metadata", "finalizers"] => patch::PatchMeta::merge_set(),
            ["metadata", "ownerReferences"] => patch::PatchMeta::merge_by("uid"),
            _ => self.0.patch_meta(path),
        }
    }
}

/// An applied configuration: JSON, or YAML (which JSON is a subset of).
fn parse_apply_body(body: &[u8]) -> Result<Value, ApiError> {
    let v = match serde_json::from_slice::<Value>(body) {
        Ok(v) => v,
        Err(_) => serde_yaml::from_slice::<Value>(body)
            .map_err(|e| ApiError::bad_request(format!("error decoding YAML: {e}")))?,
    };
    if v.is_object() {
        Ok(v)
    } else {
        Err(ApiError::bad_request(
            "error decoding YAML: the applied configuration must be an object",
        ))
    }
}
