//! What the OpenAPI document says of the compat requests the handlers parse by hand (the contract's
//! fields, for both auth styles), and of the responses that are not a `fxmsg-api` type.

use utoipa::{IntoParams, ToSchema};

/// `POST /cgi/corpAccessToken/get/V2`.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct CorpTokenRequest {
    /// `FSAID_…`.
    pub app_id: String,
    /// The app's secret.
    pub app_secret: String,
    /// The corp's authorization of the app.
    pub permanent_code: String,
}

/// `POST /oauth2.0/token`.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct OAuthTokenRequest {
    /// `app_secret` (default) or `refresh_token`.
    pub grant_type: Option<String>,
    /// `FSAID_…`, for `app_secret`.
    pub app_id: Option<String>,
    /// For `app_secret`.
    pub app_secret: Option<String>,
    /// For `app_secret`.
    pub permanent_code: Option<String>,
    /// For `refresh_token`: single use.
    pub refresh_token: Option<String>,
}

/// `POST /cgi/appAccessToken/get`.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct AppTokenRequest {
    /// `FSAID_…`.
    pub app_id: String,
    /// The app's secret.
    pub app_secret: String,
}

/// `POST /cgi/message/send` and `/cgi/app/message/send`. Legacy auth puts `corpAccessToken` and
/// `corpId` here; the new style sends `authorization: Bearer` and `x-fs-ea` instead.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct SendRequest {
    /// Legacy auth: the corp token.
    pub corp_access_token: Option<String>,
    /// Legacy auth: `FSCID_…`.
    pub corp_id: Option<String>,
    /// 1..500 recipients: `FSUID_…` open user ids or employee numbers.
    pub to_user: Vec<String>,
    /// `text`, `composite` or `articles`.
    pub msg_type: String,
    /// For `text`: `{"content": "…"}`.
    #[schema(value_type = Option<Object>)]
    pub text: Option<serde_json::Value>,
    /// For `composite`: `head`, `first`, `form`, `remark`, `link`.
    #[schema(value_type = Option<Object>)]
    pub composite: Option<serde_json::Value>,
    /// For `articles`: 1..7 items.
    pub articles: Option<Vec<Article>>,
    /// On `/cgi/app/message/send`: the service account, `FSAID_…`.
    pub service_id: Option<String>,
}

/// One item of an `articles` message.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct Article {
    /// At most 45 characters.
    pub title: String,
    /// At most 8 characters.
    pub author: Option<String>,
    /// At most 140 characters.
    pub description: Option<String>,
    /// A `mediaId` of an uploaded image.
    pub cover_image: String,
    /// Only meaningful for `TEXT`; default false.
    pub cover_image_in_content: Option<bool>,
    /// `TEXT` or `URL`.
    #[schema(rename = "type")]
    pub kind: String,
    /// The body text (`TEXT`) or the link (`URL`).
    pub content: String,
}

/// `POST /cgi/app/message/revoke`.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct RevokeRequest {
    /// Legacy auth: the corp token.
    pub corp_access_token: Option<String>,
    /// Legacy auth: `FSCID_…`.
    pub corp_id: Option<String>,
    /// The service account that sent it.
    pub service_id: String,
    /// The send's `messageId`.
    pub message_id: String,
}

/// `POST /media/download` and `/media/delete`.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct MediaRequest {
    /// Legacy auth: the corp token.
    pub corp_access_token: Option<String>,
    /// Legacy auth: `FSCID_…`.
    pub corp_id: Option<String>,
    /// The upload's `mediaId` (`/media/delete` also takes the manual's `media`).
    pub media_id: String,
}

/// A multipart upload: one file in the field `media`.
#[derive(ToSchema)]
pub struct UploadForm {
    /// The file: an image (JPG, PNG, GIF, BMP; ≤ 5 MB) or a document (≤ 20 MB).
    #[schema(value_type = String, format = Binary)]
    pub media: Vec<u8>,
}

/// The query of a send.
#[derive(IntoParams)]
#[into_params(parameter_in = Query, rename_all = "camelCase")]
pub struct SendQuery {
    /// Idempotency key: a retry with the same key within 24 h answers the first response.
    pub third_trace_id: Option<String>,
}

/// The query of an upload: legacy auth goes here, as the manual's curl shows.
#[derive(IntoParams)]
#[into_params(parameter_in = Query, rename_all = "camelCase")]
pub struct UploadQuery {
    /// Legacy auth: the corp token.
    pub corp_access_token: Option<String>,
    /// Legacy auth: `FSCID_…`.
    pub corp_id: Option<String>,
    /// On `/media/upload`: `image` or `document`.
    #[param(rename = "type")]
    pub kind: Option<String>,
}

/// `POST /cgi/department/list`: only the credentials.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct CorpRequest {
    /// Legacy auth: the corp token.
    pub corp_access_token: Option<String>,
    /// Legacy auth: `FSCID_…`.
    pub corp_id: Option<String>,
}

/// `POST /cgi/department/detail`.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct DepartmentRequest {
    /// Legacy auth: the corp token.
    pub corp_access_token: Option<String>,
    /// Legacy auth: `FSCID_…`.
    pub corp_id: Option<String>,
    /// `0..=2147483647`; `0` is the corp itself.
    pub department_id: i64,
}

/// `POST /cgi/user/simpleList` and `/cgi/user/list`.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct DepartmentMembersRequest {
    /// Legacy auth: the corp token.
    pub corp_access_token: Option<String>,
    /// Legacy auth: `FSCID_…`.
    pub corp_id: Option<String>,
    /// `0..=2147483647`; `0` is the corp itself.
    pub department_id: i64,
    /// Also the employees of every department below it.
    pub fetch_child: Option<bool>,
}

/// `POST /cgi/user/get`.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct UserRequest {
    /// Legacy auth: the corp token.
    pub corp_access_token: Option<String>,
    /// Legacy auth: `FSCID_…`.
    pub corp_id: Option<String>,
    /// `FSUID_…`.
    pub open_user_id: String,
    /// Add `mainDepartmentId` and `attachingDepartmentIds`.
    pub show_department_ids_detail: Option<bool>,
}

/// `POST /cgi/user/getByMobile`.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct MobileRequest {
    /// Legacy auth: the corp token.
    pub corp_access_token: Option<String>,
    /// Legacy auth: `FSCID_…`.
    pub corp_id: Option<String>,
    /// The mobile number, as stored.
    pub mobile: String,
}
