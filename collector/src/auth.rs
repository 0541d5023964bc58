//! API-key authentication and role checks.
//!
//! Keys look like `als_` followed by 64 hex digits (32 random bytes) and arrive as
//! `Authorization: Bearer <key>`, with the scheme name in any case (RFC 7235). Only the
//! SHA-256 hex of the full key text is stored.
//! A key's scopes map to a role: `*` and `manage` give admin, `write` gives member,
//! `audit` gives auditor, and `read` gives viewer. New keys may carry only those five
//! scopes, but a key stored with any other scope still authenticates, as a viewer. Reads
//! need any role, other methods need member or admin, and key management needs admin.
//!
//! With authentication disabled every request acts as the owner of the default tenant.

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::Response;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::ApiError;
use crate::store::{Store, StoreError, DEFAULT_TENANT};
use crate::AppState;

/// Prefix of every key.
pub const KEY_PREFIX: &str = "als_";

/// Permission level of a caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Read only.
    Viewer,
    /// Read and audit.
    Auditor,
    /// Read and write.
    Member,
    /// Everything, including key management.
    Admin,
    /// Everything; used when authentication is disabled.
    Owner,
}

impl Role {
    /// Returns the role that a key with these scopes has.
    pub fn from_scopes(scopes: &[String]) -> Role {
        let has = |scope: &str| scopes.iter().any(|s| s == scope);
        if has("*") || has("manage") {
            Role::Admin
        } else if has("write") {
            Role::Member
        } else if has("audit") {
            Role::Auditor
        } else {
            Role::Viewer
        }
    }

    /// Returns the key scope that grants the role, the reverse of [`Role::from_scopes`].
    pub fn scope(self) -> &'static str {
        match self {
            Role::Viewer => "read",
            Role::Auditor => "audit",
            Role::Member => "write",
            Role::Admin | Role::Owner => "manage",
        }
    }

    /// Returns every scope that grants at least this role, the narrowest first.
    pub fn granting_scopes(self) -> &'static [&'static str] {
        match self {
            Role::Viewer => &["read", "audit", "write", "manage", "*"],
            Role::Auditor => &["audit", "manage", "*"],
            Role::Member => &["write", "manage", "*"],
            Role::Admin | Role::Owner => &["manage", "*"],
        }
    }

    /// Returns true when the role may store data: member, admin and owner.
    pub fn can_write(self) -> bool {
        matches!(self, Role::Member | Role::Admin | Role::Owner)
    }

    fn can_manage(self) -> bool {
        matches!(self, Role::Admin | Role::Owner)
    }
}

/// The authenticated caller, stored in the request extensions for handlers.
#[derive(Debug, Clone)]
pub struct Caller {
    /// Tenant whose data the request reads and writes.
    pub tenant_id: String,
    /// Role of the caller.
    pub role: Role,
    /// Scopes of the caller's key, named in a 403; `*` when authentication is off.
    pub scopes: Vec<String>,
}

/// Errors from creating the first key at start.
#[derive(Debug, thiserror::Error)]
pub enum BootstrapError {
    /// `AGENTLENS_API_KEY` is not `als_` followed by 64 hex digits.
    #[error("AGENTLENS_API_KEY is not a valid key: expected als_ followed by 64 hex digits")]
    InvalidPresetKey,
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// An admin key that [`bootstrap_key`] created and stored.
pub struct NewKey {
    /// Id of the stored key record, which `agentlens keys list` shows.
    pub id: String,
    /// Full key text. Only its hash is stored, so this is the only copy.
    pub secret: String,
}

impl std::fmt::Debug for NewKey {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("NewKey")
            .field("id", &self.id)
            .field("secret", &"<redacted>")
            .finish()
    }
}

/// Returns a new random key.
pub fn generate_key() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("{KEY_PREFIX}{}", hex::encode(bytes))
}

/// Returns the SHA-256 hex of the full key text, as stored.
pub fn hash_key(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

/// Returns true when `key` has the format of a key.
pub fn is_well_formed(key: &str) -> bool {
    key.strip_prefix(KEY_PREFIX)
        .is_some_and(|hex| hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Makes sure an admin key exists.
///
/// A `preset` key (from `AGENTLENS_API_KEY`) is stored and logged unless its hash is
/// already stored. A stored preset key that was revoked stays revoked, with a warning.
/// Without one, a new admin key is created when no active key exists, and returned so the
/// caller can show it once. A caller that cannot show it should revoke it by its id.
///
/// # Errors
///
/// Returns [`BootstrapError`] for a malformed preset key or a storage failure.
pub async fn bootstrap_key(
    store: &Store,
    preset: Option<&str>,
) -> Result<Option<NewKey>, BootstrapError> {
    if let Some(key) = preset {
        if !is_well_formed(key) {
            return Err(BootstrapError::InvalidPresetKey);
        }
        if !store.api_key_exists(hash_key(key)).await? {
            let active = store.count_active_api_keys().await?;
            let name = "AGENTLENS_API_KEY".to_owned();
            let record = store
                .insert_api_key(hash_key(key), name, vec!["*".into()], DEFAULT_TENANT)
                .await?;
            tracing::info!(
                key.id = %record.id,
                keys.other_active = active,
                "stored the admin key from AGENTLENS_API_KEY; keys stored before it stay active \
                 until `agentlens keys revoke` revokes them"
            );
        } else if store.active_api_key(hash_key(key)).await?.is_none() {
            tracing::warn!(
                "the key in AGENTLENS_API_KEY is revoked, so requests that send it get 401; \
                 set AGENTLENS_API_KEY to a new key or unset it"
            );
        }
        return Ok(None);
    }

    if store.count_active_api_keys().await? > 0 {
        return Ok(None);
    }
    let secret = generate_key();
    let name = "initial admin key".to_owned();
    let record = store
        .insert_api_key(hash_key(&secret), name, vec!["*".into()], DEFAULT_TENANT)
        .await?;
    Ok(Some(NewKey {
        id: record.id,
        secret,
    }))
}

/// Authenticates the request and checks that its role may use the method.
///
/// # Errors
///
/// Returns 401 without a valid active key (429 when the client's address sent too many
/// such requests), and 403 when the role lacks write access.
pub async fn require_key(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let header = request.headers().get(header::AUTHORIZATION).cloned();
    let caller = caller(&state, header)
        .await
        .map_err(|error| count_if_rejected(&state, &request, error))?;

    let reads = matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    if !reads && !caller.role.can_write() {
        return Err(ApiError::Forbidden {
            required: Role::Member,
            current: caller.role,
            scopes: caller.scopes,
        });
    }
    request.extensions_mut().insert(caller);
    Ok(next.run(request).await)
}

/// Authenticates the request and lets every role through, whatever the method. It guards
/// POST routes that compute a result and store nothing, such as `POST /api/pricing/quote`,
/// and runs before [`require_admin`] on the key routes, so that a 403 there names admin
/// as the required role.
///
/// # Errors
///
/// Returns 401 without a valid active key.
pub async fn require_read_key(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let header = request.headers().get(header::AUTHORIZATION).cloned();
    let caller = caller(&state, header)
        .await
        .map_err(|error| count_if_rejected(&state, &request, error))?;
    request.extensions_mut().insert(caller);
    Ok(next.run(request).await)
}

/// Counts a 401 in the rate limit of rejected requests, which turns it into a 429 once the
/// client's address has sent too many. Other errors pass unchanged.
fn count_if_rejected(state: &AppState, request: &Request, error: ApiError) -> ApiError {
    match error {
        ApiError::MissingCredential | ApiError::InvalidCredential => {
            crate::rate_limit::count_rejected(state, request).unwrap_or(error)
        }
        other => other,
    }
}

/// Returns the caller of a request with the `Authorization` header `header`: the owner of
/// the default tenant when authentication is off, and the key's tenant and role otherwise.
async fn caller(state: &AppState, header: Option<HeaderValue>) -> Result<Caller, ApiError> {
    if !state.auth_enabled {
        return Ok(Caller {
            tenant_id: DEFAULT_TENANT.to_owned(),
            role: Role::Owner,
            scopes: vec!["*".to_owned()],
        });
    }
    authenticate(&state.store, header).await
}

/// Rejects callers that may not manage keys; runs after [`require_read_key`].
///
/// # Errors
///
/// Returns 403 for roles below admin.
pub async fn require_admin(request: Request, next: Next) -> Result<Response, ApiError> {
    let (role, scopes) = request
        .extensions()
        .get::<Caller>()
        .map_or((Role::Viewer, Vec::new()), |caller| {
            (caller.role, caller.scopes.clone())
        });
    if !role.can_manage() {
        return Err(ApiError::Forbidden {
            required: Role::Admin,
            current: role,
            scopes,
        });
    }
    Ok(next.run(request).await)
}

async fn authenticate(store: &Store, header: Option<HeaderValue>) -> Result<Caller, ApiError> {
    let header = header.ok_or(ApiError::MissingCredential)?;
    let token = header
        .to_str()
        .ok()
        .and_then(bearer_token)
        .ok_or(ApiError::MissingCredential)?;
    if !is_well_formed(token) {
        return Err(ApiError::InvalidCredential);
    }

    let record = store.active_api_key(hash_key(token)).await?;
    let record = record.ok_or(ApiError::InvalidCredential)?;
    Ok(Caller {
        role: Role::from_scopes(&record.scopes),
        tenant_id: record.tenant_id,
        scopes: record.scopes,
    })
}

/// Builds the hint of a 403: the scopes that grant `required`, the scopes the key has,
/// and the command that creates a key with the narrowest granting scope.
pub(crate) fn forbidden_hint(required: Role, scopes: &[String]) -> String {
    let granting = required.granting_scopes();
    let held = if scopes.is_empty() {
        "no scopes".to_owned()
    } else {
        format!("the scopes {}", scopes.join(", "))
    };
    format!(
        "this request needs a key with one of the scopes {}, but this key has {held}. \
         Use such a key, or create one with `agentlens keys create --scopes {}`",
        granting.join(", "),
        granting[0]
    )
}

/// Returns the credential of a `Bearer` authorization value. The scheme name matches in
/// any case, as RFC 7235 section 2.1 requires.
pub(crate) fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim_start().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_grants_its_role() {
        for role in [Role::Viewer, Role::Auditor, Role::Member, Role::Admin] {
            assert_eq!(Role::from_scopes(&[role.scope().to_owned()]), role);
        }
        assert_eq!(Role::Owner.scope(), "manage");
    }

    #[test]
    fn granting_scopes_reach_their_role() {
        for role in [Role::Viewer, Role::Auditor, Role::Member, Role::Admin] {
            for scope in role.granting_scopes() {
                let granted = Role::from_scopes(&[(*scope).to_owned()]);
                let reaches = match role {
                    Role::Member => granted.can_write(),
                    Role::Admin => granted.can_manage(),
                    Role::Auditor => matches!(granted, Role::Auditor | Role::Admin),
                    _ => true,
                };
                assert!(reaches, "{scope} grants {granted:?}, below {role:?}");
            }
        }
    }

    #[test]
    fn forbidden_hint_names_needed_and_held_scopes() {
        let hint = forbidden_hint(Role::Member, &["read".to_owned()]);

        assert!(
            hint.contains("one of the scopes write, manage, *"),
            "{hint}"
        );
        assert!(hint.contains("this key has the scopes read"), "{hint}");
        assert!(hint.contains("--scopes write"), "{hint}");
    }

    #[test]
    fn generated_key_is_well_formed() {
        let key = generate_key();
        assert_eq!(key.len(), 68);
        assert!(is_well_formed(&key));
    }

    #[test]
    fn malformed_keys_are_rejected() {
        assert!(!is_well_formed("als_1234"));
        assert!(!is_well_formed(&format!("xyz_{}", "a".repeat(64))));
        assert!(!is_well_formed(&format!("als_{}", "g".repeat(64))));
    }

    #[test]
    fn scopes_map_to_roles() {
        let role = |scopes: &[&str]| {
            Role::from_scopes(&scopes.iter().map(|s| s.to_string()).collect::<Vec<_>>())
        };
        assert_eq!(role(&["*"]), Role::Admin);
        assert_eq!(role(&["write"]), Role::Member);
        assert_eq!(role(&["audit"]), Role::Auditor);
        assert_eq!(role(&["events:write"]), Role::Viewer);
    }

    #[test]
    fn bearer_scheme_matches_in_any_case() {
        for value in ["Bearer k", "bearer k", "BEARER k", "bEaReR  k "] {
            assert_eq!(bearer_token(value), Some("k"), "{value:?}");
        }
        assert_eq!(bearer_token("Basic k"), None);
        assert_eq!(bearer_token("Bearerk"), None);
    }

    #[test]
    fn hash_is_sha256_hex_of_full_key() {
        assert_eq!(
            hash_key("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
