//! The compat response envelope every Fxiaoke endpoint answers with, and the token responses.

use serde::{Deserialize, Serialize};

use crate::ErrorCode;

/// `{traceId, errorDescription, errorMessage, errorCode}` plus fxmsg's additions, flattened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Envelope<T = Empty> {
    /// Unique id of the request, e.g. `E-O.1b2c…`.
    #[serde(default)]
    pub trace_id: String,
    /// Human description: `"success"`, or which field is wrong and why.
    #[serde(default)]
    pub error_description: String,
    /// Short message; clients must not branch on it.
    #[serde(default)]
    pub error_message: String,
    /// `0` on success.
    #[cfg_attr(feature = "openapi", schema(value_type = i64))]
    pub error_code: ErrorCode,
    /// Endpoint-specific fields, present on success.
    #[serde(flatten)]
    pub data: T,
}

/// No endpoint-specific fields.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Empty {}

impl<T> Envelope<T> {
    /// A success envelope around `data`.
    pub fn ok(trace_id: impl Into<String>, data: T) -> Self {
        Envelope {
            trace_id: trace_id.into(),
            error_description: "success".into(),
            error_message: ErrorCode::Ok.message().into(),
            error_code: ErrorCode::Ok,
            data,
        }
    }
}

/// Fields added to a successful `/cgi/message/send` or `/cgi/app/message/send` (fxmsg extension).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct SendResult {
    /// Id to pass to `/cgi/app/message/revoke`.
    #[serde(default)]
    pub message_id: String,
    /// Recipients that are not active employees of the corp and were not delivered to.
    #[serde(default)]
    pub invalid_users: Vec<String>,
}

/// Fields added to a successful upload.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct UploadResult {
    /// Reusable id of the stored file.
    #[serde(default)]
    pub media_id: String,
}

/// `/cgi/corpAccessToken/get/V2` response fields.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct CorpAccessToken {
    /// The token, 32 upper hex.
    #[serde(default)]
    pub corp_access_token: String,
    /// The corp, `FSCID_…`.
    #[serde(default)]
    pub corp_id: String,
    /// Seconds until the token expires.
    #[serde(default)]
    pub expires_in: i64,
}

/// `/oauth2.0/token` response fields.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct OAuthToken {
    /// Bearer token for the `authorization` header.
    #[serde(default)]
    pub access_token: String,
    /// Single-use token for the `refresh_token` grant.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub refresh_token: String,
    /// Seconds until `access_token` expires.
    #[serde(default)]
    pub expires_in: i64,
    /// The app.
    #[serde(default)]
    pub app_id: String,
    /// Enterprise account, for the `x-fs-ea` header.
    #[serde(default)]
    pub ea: String,
    /// The app's operator, if any.
    #[serde(default)]
    pub open_user_id: String,
}

/// `/cgi/appAccessToken/get` response fields.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct AppAccessToken {
    /// The app token.
    #[serde(default)]
    pub app_access_token: String,
    /// Seconds until it expires.
    #[serde(default)]
    pub expires_in: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn success_envelope_has_the_documented_shape() {
        let json = serde_json::to_value(Envelope::ok("E-O.1", Empty {})).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"traceId":"E-O.1","errorDescription":"success","errorMessage":"OK","errorCode":0})
        );
    }

    #[test]
    fn unknown_response_fields_are_tolerated() {
        let raw = r#"{"errorCode":0,"messageId":"m","invalidUsers":[],"somethingNew":1}"#;
        let env: Envelope<SendResult> = serde_json::from_str(raw).unwrap();
        assert_eq!(env.data.message_id, "m");
    }
}
