//! Where media bytes are kept, chosen by one setting (`--media`): a directory (the default,
//! `media/` in the data directory) or an S3-compatible bucket. Everything else holds an
//! `Arc<dyn ObjectStore>` and streams through `put_multipart`, so an upload is written part by
//! part and an aborted one leaves nothing, on either.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;

use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::prefix::PrefixStore;
use object_store::ObjectStore;

/// Where the media are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MediaLocation {
    /// A directory: `file:PATH`.
    Directory(PathBuf),
    /// A bucket, and a prefix inside it (may be empty): `s3://BUCKET/PREFIX`.
    S3 { bucket: String, prefix: String },
}

/// How to reach an S3-compatible service. Credentials come from the standard `AWS_*`
/// environment variables (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`),
/// never from flags.
#[derive(Debug, Clone, Default)]
pub struct S3Settings {
    /// The service's URL (MinIO, moto, …); AWS's own when unset.
    pub endpoint: Option<String>,
    /// The bucket's region.
    pub region: Option<String>,
}

/// An opened media store and the part size its multipart uploads take.
pub struct Media {
    pub store: Arc<dyn ObjectStore>,
    /// Bytes per uploaded part: what one upload buffers. S3 refuses parts below 5 MiB (but the
    /// last), a directory takes any.
    pub part_bytes: usize,
}

impl MediaLocation {
    /// The default: `media/` in the data directory.
    pub fn in_data_dir(data_dir: &std::path::Path) -> MediaLocation {
        MediaLocation::Directory(data_dir.join("media"))
    }

    /// Opens the store (creating the directory) and checks that it answers.
    pub async fn open(&self, s3: &S3Settings) -> Result<Media, String> {
        match self {
            MediaLocation::Directory(path) => {
                std::fs::create_dir_all(path).map_err(|e| e.to_string())?;
                let store = LocalFileSystem::new_with_prefix(path).map_err(|e| e.to_string())?;
                Ok(Media {
                    store: Arc::new(store),
                    part_bytes: 1024 * 1024,
                })
            }
            MediaLocation::S3 { bucket, prefix } => {
                let mut builder = AmazonS3Builder::from_env().with_bucket_name(bucket);
                if let Some(region) = &s3.region {
                    builder = builder.with_region(region);
                }
                if let Some(endpoint) = &s3.endpoint {
                    builder = builder
                        .with_endpoint(endpoint)
                        .with_allow_http(endpoint.starts_with("http://"));
                }
                let bucket_store = builder.build().map_err(|e| e.to_string())?;
                let store: Arc<dyn ObjectStore> = if prefix.is_empty() {
                    Arc::new(bucket_store)
                } else {
                    Arc::new(PrefixStore::new(bucket_store, prefix.as_str()))
                };
                // A listing (empty or not) is an answer; a missing bucket, refused credentials or
                // an unreachable endpoint are not, and are better told at start than at the
                // first upload. (A `HEAD` cannot tell a missing bucket from a missing object.)
                let probe = object_store::path::Path::from("fxmsg-start-probe");
                store
                    .list_with_delimiter(Some(&probe))
                    .await
                    .map_err(|e| e.to_string())?;
                Ok(Media {
                    store,
                    part_bytes: 5 * 1024 * 1024,
                })
            }
        }
    }
}

impl FromStr for MediaLocation {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if let Some(rest) = s.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                return Err("s3:// needs a bucket, as in s3://fxmsg-media/prod".into());
            }
            return Ok(MediaLocation::S3 {
                bucket: bucket.to_owned(),
                prefix: prefix.trim_matches('/').to_owned(),
            });
        }
        match s.strip_prefix("file:") {
            Some("") => Err("file: needs a directory, as in file:/var/lib/fxmsg/media".into()),
            Some(path) => Ok(MediaLocation::Directory(PathBuf::from(
                path.strip_prefix("//").unwrap_or(path),
            ))),
            None => Err(format!(
                "unsupported media location {s:?}: use file:PATH or s3://BUCKET/PREFIX (the default is media/ in the data directory)"
            )),
        }
    }
}

impl fmt::Display for MediaLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MediaLocation::Directory(path) => write!(f, "file:{}", path.display()),
            MediaLocation::S3 { bucket, prefix } if prefix.is_empty() => write!(f, "s3://{bucket}"),
            MediaLocation::S3 { bucket, prefix } => write!(f, "s3://{bucket}/{prefix}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_parse_and_print_back() {
        for text in ["file:/srv/media", "s3://bucket", "s3://bucket/fxmsg/prod"] {
            assert_eq!(text.parse::<MediaLocation>().unwrap().to_string(), text);
        }
        assert_eq!(
            "s3://b/p/".parse::<MediaLocation>().unwrap(),
            MediaLocation::S3 {
                bucket: "b".into(),
                prefix: "p".into()
            }
        );
        assert!("s3://"
            .parse::<MediaLocation>()
            .unwrap_err()
            .contains("bucket"));
        assert!("gs://x"
            .parse::<MediaLocation>()
            .unwrap_err()
            .contains("unsupported"));
    }
}
