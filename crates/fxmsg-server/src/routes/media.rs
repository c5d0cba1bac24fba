//! `/media/upload/message`, `/media/upload`, `/media/download` and `/media/delete`.

use axum::body::Body;
use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use fxmsg_api::envelope::{Empty, UploadResult};
use fxmsg_api::{Envelope, ErrorCode};
use fxmsg_store::{MediaKind, MediaRecord, StoreError};
use object_store::path::Path as ObjectPath;
use object_store::WriteMultipart;

use crate::auth::{Call, Caller, Uploader};
use crate::error::CompatError;
use crate::extract::CompatJson;
use crate::media::{
    attachment_disposition, clean_file_name, document_content_type, sniff_image,
    MAX_DOCUMENT_BYTES, MAX_IMAGE_BYTES, SNIFF_BYTES,
};
use crate::state::AppState;
use crate::trace::current_trace_id;

/// `POST /media/upload/message`: an image for message covers (multipart field `media`).
#[utoipa::path(post, path = "/media/upload/message", tag = "fxiaoke", request_body(content = crate::routes::schema::UploadForm, content_type = "multipart/form-data"), params(crate::routes::schema::UploadQuery),
    responses((status = 200, description = "The envelope: `errorCode` 0 with the fields below, or an error code with its description", body = fxmsg_api::Envelope<fxmsg_api::envelope::UploadResult>)))]
pub async fn upload_message_media(
    State(state): State<AppState>,
    Uploader { caller, .. }: Uploader,
    request: Request,
) -> Result<Json<Envelope<UploadResult>>, CompatError> {
    upload(&state, &caller, MediaKind::Image, request).await
}

/// `POST /media/upload?type=image|document`: a CRM material.
#[utoipa::path(post, path = "/media/upload", tag = "fxiaoke", request_body(content = crate::routes::schema::UploadForm, content_type = "multipart/form-data"), params(crate::routes::schema::UploadQuery),
    responses((status = 200, description = "The envelope: `errorCode` 0 with the fields below, or an error code with its description", body = fxmsg_api::Envelope<fxmsg_api::envelope::UploadResult>)))]
pub async fn upload_media(
    State(state): State<AppState>,
    Uploader { caller, query }: Uploader,
    request: Request,
) -> Result<Json<Envelope<UploadResult>>, CompatError> {
    let kind = match query.kind.as_deref() {
        Some("image") => MediaKind::Image,
        Some("document") => MediaKind::Document,
        _ => {
            return Err(CompatError::invalid(
                "type",
                "the query parameter must be image or document",
            ))
        }
    };
    upload(&state, &caller, kind, request).await
}

async fn upload(
    state: &AppState,
    caller: &Caller,
    kind: MediaKind,
    request: Request,
) -> Result<Json<Envelope<UploadResult>>, CompatError> {
    let mut multipart = Multipart::from_request(request, state).await.map_err(|e| {
        CompatError::invalid(
            "media",
            format!("send multipart/form-data with a file field named media ({e})"),
        )
    })?;
    loop {
        let field = multipart.next_field().await.map_err(truncated)?;
        let Some(field) = field else {
            return Err(CompatError::invalid(
                "media",
                "is required: a multipart file field named media",
            ));
        };
        if field.name() == Some("media") {
            let media_id = uuid::Uuid::new_v4().to_string();
            let file_name = clean_file_name(field.file_name(), &media_id);
            let declared = field.content_type().map(str::to_owned);
            let used = match state.media_quota {
                Some(_) => state.store.media_bytes(&caller.corp_id).await?,
                None => 0,
            };
            let (content_type, size, object_key) =
                store_stream(state, kind, field, declared, used).await?;
            let record = MediaRecord {
                media_id: media_id.clone(),
                corp_id: caller.corp_id.clone(),
                app_id: caller.app_id.clone(),
                kind,
                content_type,
                file_name,
                size: size as i64,
                object_key: object_key.to_string(),
                created_at: state.now(),
            };
            if let Err(e) = state.store.insert_media(&record, state.media_quota).await {
                let _ = state.media.delete(&object_key).await;
                return Err(match e {
                    StoreError::QuotaExceeded { used } => quota_exhausted(state, used),
                    e => e.into(),
                });
            }
            return Ok(Json(Envelope::ok(
                current_trace_id(),
                UploadResult { media_id },
            )));
        }
    }
}

/// `30003`: the corp's media would not fit in its storage quota.
fn quota_exhausted(state: &AppState, used: u64) -> CompatError {
    CompatError::new(
        ErrorCode::QuotaExhausted,
        format!(
            "media: the corp's storage quota of {} bytes would be exceeded ({used} bytes in \
             use); delete media or raise --media-quota-bytes",
            state.media_quota.unwrap_or(u64::MAX)
        ),
    )
}

/// Streams the field into the object store, enforcing the size limit, the corp's storage quota
/// (`used` bytes taken already) and the image check while reading. Nothing is left behind when
/// it fails.
async fn store_stream(
    state: &AppState,
    kind: MediaKind,
    mut field: axum::extract::multipart::Field<'_>,
    declared: Option<String>,
    used: u64,
) -> Result<(String, u64, ObjectPath), CompatError> {
    let limit = if kind == MediaKind::Image {
        MAX_IMAGE_BYTES
    } else {
        MAX_DOCUMENT_BYTES
    };
    let room = state
        .media_quota
        .map_or(u64::MAX, |q| q.saturating_sub(used));
    // The part being filled and the two being written.
    let part_bytes = state.media_part_bytes;
    let _room = state.bodies.reserve(3 * part_bytes).await;
    let pause = state.bodies.read_timeout();
    let stalled = || {
        CompatError::invalid(
            "media",
            format!(
                "the upload stalled: no bytes arrived for {} s",
                pause.as_secs()
            ),
        )
    };
    let key = ObjectPath::from(format!("media/{}", uuid::Uuid::new_v4().simple()));
    let upload = state.media.put_multipart(&key).await?;
    let mut writer = WriteMultipart::new_with_chunk_size(upload, part_bytes);
    let mut head = Vec::with_capacity(SNIFF_BYTES);
    let mut size = 0u64;
    let outcome = async {
        while let Some(chunk) = tokio::time::timeout(pause, field.chunk())
            .await
            .map_err(|_| stalled())?
            .map_err(truncated)?
        {
            size += chunk.len() as u64;
            if size > room && room < limit {
                return Err(quota_exhausted(state, used));
            }
            if size > limit {
                let what = if kind == MediaKind::Image {
                    "images"
                } else {
                    "documents"
                };
                return Err(CompatError::invalid(
                    "media",
                    format!("{what} are limited to {limit} bytes"),
                ));
            }
            if head.len() < SNIFF_BYTES {
                head.extend(chunk.iter().take(SNIFF_BYTES - head.len()));
            }
            writer.wait_for_capacity(2).await?;
            writer.write(&chunk);
        }
        if size == 0 {
            return Err(CompatError::invalid("media", "the file is empty"));
        }
        match kind {
            MediaKind::Image => sniff_image(&head).map(String::from).ok_or_else(|| {
                CompatError::invalid(
                    "media",
                    "is not a JPG, PNG, GIF or BMP image (judged by its bytes)",
                )
            }),
            MediaKind::Document => Ok(document_content_type(declared.as_deref())),
        }
    }
    .await;
    match outcome {
        Ok(content_type) => {
            writer.finish().await?;
            Ok((content_type, size, key))
        }
        Err(e) => {
            if let Err(abort) = writer.abort().await {
                tracing::warn!(error = %abort, "could not abort a refused upload");
            }
            Err(e)
        }
    }
}

fn truncated(e: axum::extract::multipart::MultipartError) -> CompatError {
    CompatError::invalid(
        "media",
        format!(
            "the multipart body is malformed or was cut off ({})",
            e.body_text()
        ),
    )
}

/// The `mediaId` of a download or delete body, which the manual also spells `media`.
fn media_id_of(body: &CompatJson) -> Result<&str, CompatError> {
    match body.str_field("mediaId")? {
        Some(id) => Ok(id),
        None => body
            .required("media", ErrorCode::InvalidParameter)
            .map_err(|_| CompatError::invalid("mediaId", "is required")),
    }
}

/// `POST /media/download`: the file's bytes, or the JSON envelope on failure.
#[utoipa::path(post, path = "/media/download", tag = "fxiaoke", request_body = crate::routes::schema::MediaRequest,
    responses((status = 200, description = "The file's bytes with its Content-Type and Content-Disposition; on failure the JSON envelope", content(
        (Vec<u8> = "application/octet-stream"),
        (fxmsg_api::Envelope<fxmsg_api::envelope::Empty> = "application/json")))))]
pub async fn download_media(
    State(state): State<AppState>,
    Call { caller, body, .. }: Call,
) -> Result<Response, CompatError> {
    let media_id = media_id_of(&body)?;
    if let Some(desc) = body.str_field("mediaTypeDesc")? {
        if desc != "IMAGE" && desc != "DOCUMENT" {
            return Err(CompatError::invalid(
                "mediaTypeDesc",
                "must be IMAGE or DOCUMENT",
            ));
        }
    }
    let media = state
        .store
        .media(&caller.corp_id, media_id)
        .await?
        .ok_or_else(|| {
            CompatError::invalid("mediaId", format!("no media {media_id:?} in this corp"))
        })?;
    let mut response = stored_file(&state, &media).await?;
    if let Ok(value) = HeaderValue::from_str(&attachment_disposition(&media.file_name)) {
        response
            .headers_mut()
            .insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}

/// A stored media file as a streamed answer with its type, length and `nosniff`: the compat
/// download's body, and the web pages' covers.
pub(crate) async fn stored_file(
    state: &AppState,
    media: &MediaRecord,
) -> Result<Response, object_store::Error> {
    let object = state
        .media
        .get(&ObjectPath::from(media.object_key.as_str()))
        .await?;
    let mut response = Body::from_stream(object.into_stream()).into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(&media.content_type)
            .unwrap_or_else(|_| HeaderValue::from_static("application/octet-stream")),
    );
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(media.size as u64));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    Ok(response)
}

/// `POST /media/delete`: removes the media; later sends and downloads no longer find it.
#[utoipa::path(post, path = "/media/delete", tag = "fxiaoke", request_body = crate::routes::schema::MediaRequest,
    responses((status = 200, description = "The envelope: `errorCode` 0 with the fields below, or an error code with its description", body = fxmsg_api::Envelope<fxmsg_api::envelope::Empty>)))]
pub async fn delete_media(
    State(state): State<AppState>,
    Call { caller, body, .. }: Call,
) -> Result<Json<Envelope<Empty>>, CompatError> {
    let media_id = media_id_of(&body)?;
    let media = state
        .store
        .delete_media(&caller.corp_id, media_id, state.now())
        .await?
        .ok_or_else(|| {
            CompatError::invalid("mediaId", format!("no media {media_id:?} in this corp"))
        })?;
    if let Err(e) = state
        .media
        .delete(&ObjectPath::from(media.object_key.as_str()))
        .await
    {
        // The row is already marked deleted, so the bytes are unreachable; log and move on.
        tracing::warn!(error = %e, "could not delete media bytes");
    }
    Ok(Json(Envelope::ok(current_trace_id(), Empty {})))
}
