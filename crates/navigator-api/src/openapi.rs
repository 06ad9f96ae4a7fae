//! OpenAPI documents generated from the types.
