//! Media: streamed uploads with optional progress, streamed downloads, delete.

use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::{StreamExt, TryStreamExt};
use fxmsg_api::envelope::{Empty, UploadResult};
use reqwest::multipart::{Form, Part};
use serde_json::json;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio_util::io::ReaderStream;

use fxmsg_api::media::{sniff_image, MAX_DOCUMENT_BYTES, MAX_IMAGE_BYTES, SNIFF_BYTES};
use fxmsg_api::{ErrorCode, FieldError};
use tokio::io::AsyncReadExt;

use crate::client::{decode, decode_value};
use crate::{Client, Error};

/// Called with (bytes sent so far, total bytes) as an upload streams.
pub type Progress = Arc<dyn Fn(u64, u64) + Send + Sync>;

/// Where an upload goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaKind {
    /// `/media/upload/message`: a message cover image (JPG, PNG, GIF, BMP; ≤ 5 MB).
    MessageImage,
    /// `/media/upload?type=image`.
    Image,
    /// `/media/upload?type=document` (≤ 20 MB).
    Document,
}

impl MediaKind {
    /// Checks what the server would refuse, before anything is sent: the size limit, an empty
    /// file, and (given the first bytes) whether an image really is a JPG, PNG, GIF or BMP.
    pub fn check(self, len: u64, head: Option<&[u8]>) -> Result<(), FieldError> {
        let refuse = |reason: String| {
            Err(FieldError::new(
                ErrorCode::InvalidParameter,
                "media",
                reason,
            ))
        };
        let (limit, what) = match self {
            MediaKind::Document => (MAX_DOCUMENT_BYTES, "documents"),
            MediaKind::MessageImage | MediaKind::Image => (MAX_IMAGE_BYTES, "images"),
        };
        if len == 0 {
            return refuse("the file is empty".into());
        }
        if len > limit {
            return refuse(format!(
                "{what} are limited to {limit} bytes; this file has {len}"
            ));
        }
        match head {
            Some(head) if self != MediaKind::Document && sniff_image(head).is_none() => {
                refuse("is not a JPG, PNG, GIF or BMP image (judged by its bytes)".into())
            }
            _ => Ok(()),
        }
    }

    /// [`MediaKind::check`] on a file: opens it, reads its size and first bytes, and returns the
    /// size. A missing file is an [`Error::Io`]; a file the server would refuse is
    /// [`Error::Invalid`].
    pub async fn check_path(self, path: &Path) -> Result<u64, Error> {
        let file = tokio::fs::File::open(path).await?;
        let len = file.metadata().await?.len();
        let mut head = Vec::with_capacity(SNIFF_BYTES);
        file.take(SNIFF_BYTES as u64).read_to_end(&mut head).await?;
        self.check(len, Some(&head))?;
        Ok(len)
    }

    fn path(self) -> &'static str {
        match self {
            MediaKind::MessageImage => "/media/upload/message",
            MediaKind::Image => "/media/upload?type=image",
            MediaKind::Document => "/media/upload?type=document",
        }
    }
}

impl Client {
    /// Uploads a file from disk, streamed (never read whole into memory). The size limit and the
    /// image check run before anything is sent; retried uploads reopen the file.
    ///
    /// ```no_run
    /// # async fn run(client: fxmsg_client::Client) -> Result<(), fxmsg_client::Error> {
    /// use fxmsg_client::MediaKind;
    /// let media_id = client.upload_path(MediaKind::MessageImage, "cover.png".as_ref(), None).await?;
    /// # Ok(()) }
    /// ```
    pub async fn upload_path(
        &self,
        kind: MediaKind,
        path: &Path,
        progress: Option<Progress>,
    ) -> Result<String, Error> {
        let name = path
            .file_name()
            .map_or_else(|| "upload".into(), |n| n.to_string_lossy().into_owned());
        kind.check_path(path).await?;
        let trace = uuid::Uuid::new_v4().to_string();
        self.with_auth(|token| {
            let (name, progress, trace) = (name.clone(), progress.clone(), trace.clone());
            async move {
                let file = tokio::fs::File::open(path).await?;
                let len = file.metadata().await?.len();
                let part = streamed_part(file, len, progress).file_name(name);
                self.send_upload(kind, &trace, &token, part).await
            }
        })
        .await
    }

    /// Uploads bytes already in memory, after the same checks as [`Client::upload_path`].
    pub async fn upload_bytes(
        &self,
        kind: MediaKind,
        file_name: &str,
        bytes: Bytes,
    ) -> Result<String, Error> {
        kind.check(
            bytes.len() as u64,
            Some(&bytes[..bytes.len().min(SNIFF_BYTES)]),
        )?;
        let trace = uuid::Uuid::new_v4().to_string();
        self.with_auth(|token| {
            let part = Part::stream_with_length(bytes.clone(), bytes.len() as u64)
                .file_name(file_name.to_owned());
            let trace = trace.clone();
            async move { self.send_upload(kind, &trace, &token, part).await }
        })
        .await
    }

    /// Uploads `len` bytes from an async reader, streamed. The size limit is checked first (the
    /// server checks the bytes). A reader cannot be rewound, so this call is not retried.
    pub async fn upload_reader<R>(
        &self,
        kind: MediaKind,
        file_name: &str,
        reader: R,
        len: u64,
        progress: Option<Progress>,
    ) -> Result<String, Error>
    where
        R: AsyncRead + Send + Sync + 'static,
    {
        kind.check(len, None)?;
        let trace = uuid::Uuid::new_v4().to_string();
        let token = self.token().await?;
        let part = streamed_part(reader, len, progress).file_name(file_name.to_owned());
        self.send_upload(kind, &trace, &token, part).await
    }

    async fn send_upload(
        &self,
        kind: MediaKind,
        trace: &str,
        token: &crate::client::Token,
        part: Part,
    ) -> Result<String, Error> {
        let request = self
            .authorized(self.post(kind.path(), trace), token, None)
            .multipart(Form::new().part("media", part));
        let uploaded: UploadResult = decode(request.send().await?).await?;
        Ok(uploaded.media_id)
    }

    /// Streams a media file into `out`; returns the number of bytes written.
    ///
    /// ```no_run
    /// # async fn run(client: fxmsg_client::Client) -> Result<(), fxmsg_client::Error> {
    /// let mut file = tokio::fs::File::create("cover.png").await?;
    /// let bytes = client.download("07e9312c-253a-4c5c-8915-b7e384ae6534", &mut file).await?;
    /// # Ok(()) }
    /// ```
    pub async fn download<W: AsyncWrite + Unpin>(
        &self,
        media_id: &str,
        out: &mut W,
    ) -> Result<u64, Error> {
        let trace = uuid::Uuid::new_v4().to_string();
        let response = self
            .with_auth(|token| {
                let request = self.authorized(
                    self.post("/media/download", &trace),
                    &token,
                    Some(json!({"mediaId": media_id})),
                );
                async move {
                    let response = request.send().await?;
                    // A file always comes as an attachment; anything else is the JSON envelope.
                    if response
                        .headers()
                        .contains_key(reqwest::header::CONTENT_DISPOSITION)
                    {
                        Ok(response)
                    } else {
                        let value = response
                            .json()
                            .await
                            .map_err(|e| Error::Decode(e.to_string()))?;
                        Err(decode_value::<Empty>(value).err().unwrap_or_else(|| {
                            Error::Decode("a success envelope instead of a file".into())
                        }))
                    }
                }
            })
            .await?;
        let mut written = 0u64;
        let mut stream = response.bytes_stream();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk?;
            out.write_all(&chunk).await?;
            written += chunk.len() as u64;
        }
        out.flush().await?;
        Ok(written)
    }

    /// Deletes a media file.
    pub async fn delete_media(&self, media_id: &str) -> Result<(), Error> {
        let _: Empty = self
            .call("/media/delete", json!({"mediaId": media_id}))
            .await?;
        Ok(())
    }
}

fn streamed_part<R: AsyncRead + Send + Sync + 'static>(
    reader: R,
    len: u64,
    progress: Option<Progress>,
) -> Part {
    let mut sent = 0u64;
    let stream = ReaderStream::new(reader).inspect_ok(move |chunk: &Bytes| {
        sent += chunk.len() as u64;
        if let Some(report) = &progress {
            report(sent, len);
        }
    });
    Part::stream_with_length(reqwest::Body::wrap_stream(stream), len)
}
