//! `remote::s3`: uploaded files in an S3 bucket, their metadata in a SQL store.
#![doc = include_str!("../README.md")]

mod config;
mod error;
mod objects;
mod provider;

pub use config::{DEFAULT_PART_SIZE_BYTES, DEFAULT_REGION, MAX_PART_SIZE_BYTES, MIN_PART_SIZE_BYTES, S3FilesConfig};
pub use lls_files_catalog::{Clock, DEFAULT_MAX_FILE_SIZE_BYTES, DEFAULT_TTL_SECS};
pub use objects::S3Objects;
pub use provider::S3Files;

pub const PROVIDER_TYPE: &str = "remote::s3";

/// The run.yaml `config:` block `list-providers` and the docs show (the Red Hat distribution's
/// variables).
pub const SAMPLE_CONFIG: &str = "\
bucket_name: ${env.S3_BUCKET_NAME:=}
region: ${env.AWS_DEFAULT_REGION:=us-east-1}
aws_access_key_id: ${env.AWS_ACCESS_KEY_ID:=}
aws_secret_access_key: ${env.AWS_SECRET_ACCESS_KEY:=}
endpoint_url: ${env.S3_ENDPOINT_URL:=}
auto_create_bucket: ${env.S3_AUTO_CREATE_BUCKET:=false}
metadata_store:
  table_name: s3_files_metadata
  backend: sql_default
";

lls_api_files::register_provider! {
    provider_type: PROVIDER_TYPE,
    description: "Uploaded files in an S3 bucket (AWS S3 or an S3-compatible store such as MinIO), their metadata in a SQL store.",
    sample_config: SAMPLE_CONFIG,
    config: S3FilesConfig,
    build: S3Files::build,
}

#[cfg(test)]
mod tests {
    use super::*;
    use lls_api_common::provider::{descriptors, parse_config};

    #[test]
    fn registered_once_for_files() {
        let mine: Vec<_> = descriptors().into_iter().filter(|d| d.provider_type == PROVIDER_TYPE).collect();
        assert_eq!(mine.len(), 1);
        assert_eq!(mine[0].api, lls_api_common::Api::Files);
        assert!(mine[0].api_dependencies.is_empty());
    }

    #[test]
    fn sample_config_expands_to_a_valid_config_once_a_bucket_is_named() {
        let unset = lls_testkit::expand_sample_config(SAMPLE_CONFIG, &|_| None);
        let err = parse_config::<S3FilesConfig>(&unset).unwrap_err();
        assert!(err.message().contains("config.bucket_name: required"), "{}", err.message());
        let env = |name: &str| match name {
            "S3_BUCKET_NAME" => Some("llama-files".to_owned()),
            "AWS_DEFAULT_REGION" => Some("eu-west-1".to_owned()),
            "AWS_ACCESS_KEY_ID" => Some("AKIA1".to_owned()),
            "AWS_SECRET_ACCESS_KEY" => Some("s3cr3t".to_owned()),
            "S3_ENDPOINT_URL" => Some("http://minio:9000".to_owned()),
            "S3_AUTO_CREATE_BUCKET" => Some("true".to_owned()),
            _ => None,
        };
        let c: S3FilesConfig = parse_config(&lls_testkit::expand_sample_config(SAMPLE_CONFIG, &env)).unwrap();
        assert_eq!((c.bucket_name.as_str(), c.region.as_str(), c.endpoint()), ("llama-files", "eu-west-1", Some("http://minio:9000")));
        assert_eq!((c.credentials(), c.auto_create_bucket), (Some(("AKIA1", "s3cr3t")), true));
        assert_eq!(c.metadata_store.table_name, "s3_files_metadata");
        let only_bucket = |name: &str| (name == "S3_BUCKET_NAME").then(|| "llama-files".to_owned());
        let c: S3FilesConfig = parse_config(&lls_testkit::expand_sample_config(SAMPLE_CONFIG, &only_bucket)).unwrap();
        assert_eq!((c.region.as_str(), c.credentials(), c.endpoint(), c.auto_create_bucket), ("us-east-1", None, None, false));
    }
}
