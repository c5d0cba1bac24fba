//! The Fxiaoke error-code catalogue: every code fxmsg produces or a client may meet, in one table.

use serde::{Deserialize, Serialize};

/// A Fxiaoke `errorCode`. Unknown numbers survive a round trip through [`ErrorCode::Other`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "i64", into = "i64")]
pub enum ErrorCode {
    /// `-2`: system error.
    SystemError,
    /// `-1`: system busy; retryable.
    SystemBusy,
    /// `0`: success.
    Ok,
    /// `10001`: appId is missing.
    MissingAppId,
    /// `10002`: appSecret is missing.
    MissingAppSecret,
    /// `10006`: missing scope; the live gateway answers it for a missing or wrong appSecret.
    BadAppSecret,
    /// `10010`: openUserId is missing.
    MissingOpenUserId,
    /// `10012`: permanentCode is missing.
    MissingPermanentCode,
    /// `10014`: corpId is missing.
    MissingCorpId,
    /// `10015`: toUser is missing or empty.
    MissingToUser,
    /// `11008`: openUserId is not a well-formed `FSUID_…` id.
    InvalidOpenUserId,
    /// `11009`: departmentId is missing or not a non-negative integer.
    InvalidDepartmentId,
    /// `11016`: toUser is invalid.
    InvalidToUser,
    /// `11017`: msgType is invalid.
    InvalidMsgType,
    /// `12003`: unsupported message type.
    UnsupportedMsgType,
    /// `12004`: the POST body is empty.
    EmptyBody,
    /// `12005`: the text content is empty.
    EmptyTextContent,
    /// `14001`: call limit exceeded; retryable.
    CallLimitExceeded,
    /// `15002`: invalid parameter.
    InvalidParameter,
    /// `20005`: appAccessToken missing or expired.
    AppTokenExpired,
    /// `20006`: appId or appSecret wrong.
    AppIdOrSecretWrong,
    /// `20012`: no employee of the corp has this openUserId.
    OpenUserIdNotFound,
    /// `20015`: permanentCode wrong.
    PermanentCodeWrong,
    /// `20016`: corpAccessToken missing, expired or wrong (either auth style).
    CorpTokenInvalid,
    /// `20017`: no credentials were sent at all.
    NoCredentials,
    /// `20021`: the app is disabled.
    AppDisabled,
    /// `30002`: the corp's daily call quota is used up; not retryable before the next day.
    DailyQuotaExceeded,
    /// `30003`: the corp has no quota left for this (fxmsg: its media storage quota); not
    /// retryable until media is deleted or the quota raised.
    QuotaExhausted,
    /// `30004`: call frequency exceeded; retryable.
    FrequencyExceeded,
    /// `30007`: the corp has no such department.
    DepartmentNotFound,
    /// `30027`: the employee does not exist.
    EmployeeNotFound,
    /// `50009`: service exception; retryable.
    ServiceException,
    /// Any other code.
    Other(i64),
}

/// The catalogue: code, number, default `errorMessage`.
const TABLE: &[(ErrorCode, i64, &str)] = &[
    (ErrorCode::SystemError, -2, "system error"),
    (ErrorCode::SystemBusy, -1, "system busy"),
    (ErrorCode::Ok, 0, "OK"),
    (ErrorCode::MissingAppId, 10001, "missing appId"),
    (ErrorCode::MissingAppSecret, 10002, "missing appSecret"),
    (ErrorCode::MissingOpenUserId, 10010, "missing openUserId"),
    (ErrorCode::BadAppSecret, 10006, "missing scope"),
    (
        ErrorCode::MissingPermanentCode,
        10012,
        "missing permanentCode",
    ),
    (ErrorCode::MissingCorpId, 10014, "missing corpId"),
    (ErrorCode::MissingToUser, 10015, "missing toUser"),
    (ErrorCode::InvalidOpenUserId, 11008, "invalid openUserId"),
    (
        ErrorCode::InvalidDepartmentId,
        11009,
        "invalid departmentId",
    ),
    (ErrorCode::InvalidToUser, 11016, "invalid toUser"),
    (ErrorCode::InvalidMsgType, 11017, "invalid msgType"),
    (
        ErrorCode::UnsupportedMsgType,
        12003,
        "unsupported message type",
    ),
    (ErrorCode::EmptyBody, 12004, "empty POST body"),
    (ErrorCode::EmptyTextContent, 12005, "empty text content"),
    (ErrorCode::CallLimitExceeded, 14001, "call limit exceeded"),
    (ErrorCode::InvalidParameter, 15002, "invalid parameter"),
    (
        ErrorCode::AppTokenExpired,
        20005,
        "appAccessToken missing or expired",
    ),
    (
        ErrorCode::AppIdOrSecretWrong,
        20006,
        "appId or appSecret wrong",
    ),
    (ErrorCode::OpenUserIdNotFound, 20012, "openUserId not found"),
    (ErrorCode::PermanentCodeWrong, 20015, "permanentCode wrong"),
    (
        ErrorCode::CorpTokenInvalid,
        20016,
        "corpAccessToken missing or expired",
    ),
    (ErrorCode::NoCredentials, 20017, "corpId not found"),
    (ErrorCode::AppDisabled, 20021, "app disabled"),
    (ErrorCode::DailyQuotaExceeded, 30002, "daily quota exceeded"),
    (ErrorCode::QuotaExhausted, 30003, "no quota left"),
    (ErrorCode::FrequencyExceeded, 30004, "frequency exceeded"),
    (
        ErrorCode::DepartmentNotFound,
        30007,
        "department does not exist",
    ),
    (
        ErrorCode::EmployeeNotFound,
        30027,
        "employee does not exist",
    ),
    (ErrorCode::ServiceException, 50009, "service exception"),
];

impl ErrorCode {
    /// The numeric `errorCode`.
    pub fn as_i64(self) -> i64 {
        match self {
            ErrorCode::Other(n) => n,
            known => TABLE
                .iter()
                .find(|(c, ..)| *c == known)
                .map_or(-2, |(_, n, _)| *n),
        }
    }

    /// The default `errorMessage` for this code.
    pub fn message(self) -> &'static str {
        TABLE
            .iter()
            .find(|(c, ..)| *c == self)
            .map_or("error", |(.., m)| m)
    }

    /// Whether a client may retry a call that failed with this code (the same request, later).
    pub fn is_retryable(self) -> bool {
        matches!(
            self,
            ErrorCode::SystemBusy
                | ErrorCode::CallLimitExceeded
                | ErrorCode::FrequencyExceeded
                | ErrorCode::ServiceException
        )
    }
}

impl From<i64> for ErrorCode {
    fn from(n: i64) -> Self {
        TABLE
            .iter()
            .find(|(_, m, _)| *m == n)
            .map_or(ErrorCode::Other(n), |(c, ..)| *c)
    }
}

impl From<ErrorCode> for i64 {
    fn from(code: ErrorCode) -> i64 {
        code.as_i64()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_round_trips_through_its_number() {
        for (code, n, _) in TABLE {
            assert_eq!(code.as_i64(), *n);
            assert_eq!(ErrorCode::from(*n), *code);
        }
        // Every named code is in the table (a missing row would answer -2).
        for (code, n) in [
            (ErrorCode::MissingOpenUserId, 10010),
            (ErrorCode::InvalidOpenUserId, 11008),
            (ErrorCode::InvalidDepartmentId, 11009),
            (ErrorCode::OpenUserIdNotFound, 20012),
            (ErrorCode::DepartmentNotFound, 30007),
            (ErrorCode::EmployeeNotFound, 30027),
        ] {
            assert_eq!(code.as_i64(), n);
        }
        assert_eq!(ErrorCode::from(424242), ErrorCode::Other(424242));
        assert_eq!(ErrorCode::Other(424242).as_i64(), 424242);
    }

    #[test]
    fn only_transient_codes_are_retryable() {
        assert!(ErrorCode::from(-1).is_retryable());
        assert!(ErrorCode::from(50009).is_retryable());
        assert!(!ErrorCode::from(15002).is_retryable());
        assert!(!ErrorCode::from(30002).is_retryable());
    }
}
