//! The shape shared by every top-level navigator object of every served version: `apiVersion`,
//! `kind`, `metadata`, `spec`, `status`, plus the `k8s_openapi` resource traits that let kube-rs
//! and other clients use the types directly.

/// Declares a served top-level kind: the struct, its serialisation with `apiVersion`/`kind`, the
/// `k8s_openapi` resource traits, and a schema carrying `x-kubernetes-group-version-kind`.
macro_rules! navigator_object {
    (
        $(#[$doc:meta])*
        $name:ident {
            version: $version:literal,
            plural: $plural:literal,
            spec: $spec:ty,
            status: $status:ty,
            description: $description:literal $(,)?
        }
    ) => {
        $(#[$doc])*
        #[derive(Clone, Debug, Default, PartialEq)]
        pub struct $name {
            /// Standard object metadata.
            pub metadata: k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
            /// The desired state.
            pub spec: $spec,
            /// The observed state.
            pub status: $status,
        }

        impl k8s_openapi::Resource for $name {
            const API_VERSION: &'static str = concat!("navigator.jetstack.io/", $version);
            const GROUP: &'static str = "navigator.jetstack.io";
            const KIND: &'static str = stringify!($name);
            const VERSION: &'static str = $version;
            const URL_PATH_SEGMENT: &'static str = $plural;
            type Scope = k8s_openapi::NamespaceResourceScope;
        }

        impl k8s_openapi::ListableResource for $name {
            const LIST_KIND: &'static str = concat!(stringify!($name), "List");
        }

        impl k8s_openapi::Metadata for $name {
            type Ty = k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
            fn metadata(&self) -> &Self::Ty {
                &self.metadata
            }
            fn metadata_mut(&mut self) -> &mut Self::Ty {
                &mut self.metadata
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                use serde::ser::SerializeStruct;
                let mut s = serializer.serialize_struct(stringify!($name), 5)?;
                s.serialize_field("apiVersion", <Self as k8s_openapi::Resource>::API_VERSION)?;
                s.serialize_field("kind", <Self as k8s_openapi::Resource>::KIND)?;
                s.serialize_field("metadata", &self.metadata)?;
                s.serialize_field("spec", &self.spec)?;
                s.serialize_field("status", &self.status)?;
                s.end()
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                /// `apiVersion` and `kind` are checked by the API server, not by the type.
                #[derive(serde::Deserialize)]
                struct Shadow {
                    #[serde(default, rename = "apiVersion")]
                    _api_version: Option<String>,
                    #[serde(default, rename = "kind")]
                    _kind: Option<String>,
                    #[serde(default)]
                    metadata: k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
                    #[serde(default)]
                    spec: $spec,
                    #[serde(default)]
                    status: $status,
                }
                let shadow = Shadow::deserialize(deserializer)?;
                Ok(Self { metadata: shadow.metadata, spec: shadow.spec, status: shadow.status })
            }
        }

        impl schemars::JsonSchema for $name {
            fn schema_name() -> std::borrow::Cow<'static, str> {
                concat!("io.jetstack.navigator.", $version, ".", stringify!($name)).into()
            }

            fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
                let metadata = generator
                    .subschema_for::<k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta>();
                let spec = generator.subschema_for::<$spec>();
                let status = generator.subschema_for::<$status>();
                schemars::json_schema!({
                    "description": $description,
                    "type": "object",
                    "properties": {
                        "apiVersion": {
                            "description": crate::object::API_VERSION_DESCRIPTION,
                            "type": "string",
                        },
                        "kind": {
                            "description": crate::object::KIND_DESCRIPTION,
                            "type": "string",
                        },
                        "metadata": metadata,
                        "spec": spec,
                        "status": status,
                    },
                    "x-kubernetes-group-version-kind": [{
                        "group": "navigator.jetstack.io",
                        "kind": stringify!($name),
                        "version": $version,
                    }],
                })
            }
        }
    };
}

pub(crate) use navigator_object;

/// The description Kubernetes gives `apiVersion` in every schema.
pub(crate) const API_VERSION_DESCRIPTION: &str = "APIVersion defines the versioned schema of this representation of an object. Servers should convert recognized schemas to the latest internal value, and may reject unrecognized values. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources";

/// The description Kubernetes gives `kind` in every schema.
pub(crate) const KIND_DESCRIPTION: &str = "Kind is a string value representing the REST resource this object represents. Servers may infer this from the endpoint the client submits requests to. Cannot be updated. In CamelCase. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds";
