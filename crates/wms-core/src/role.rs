//! Roles and the permissions each one holds: the single place where "who may do what" is decided.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A user's role inside one tenant. Exactly one per user.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Packer,
    Supervisor,
    Admin,
}

/// Something a request may want to do. Handlers ask for a permission; they never test roles.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Permission {
    /// Read one's own profile and sessions, revoke one's own sessions, enrol one's own MFA.
    SelfService,
    /// Read work released to packing, pack, dispatch, report problems.
    Pack,
    /// Stock, receiving, adjustments, counts, returns, order exceptions.
    ManageInventory,
    /// Read full recipient details (a PII read, always audited).
    ReadPii,
    /// Users, roles, devices, connections, retention.
    ManageUsers,
    /// Read the audit log and verify its chain.
    ReadAudit,
    /// Export or delete tenant data (data-subject requests).
    ManageData,
    /// Rotate keys, push app updates.
    ManageSystem,
}

impl Permission {
    /// Actions whose abuse cannot be undone: they need an MFA verification younger than
    /// [`crate::totp::STEP_UP_MAX_AGE_SECS`] on top of the role.
    #[must_use]
    pub const fn needs_step_up(self) -> bool {
        matches!(self, Self::ManageData | Self::ManageSystem)
    }
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Packer, Role::Supervisor, Role::Admin];

    #[must_use]
    pub const fn permissions(self) -> &'static [Permission] {
        use Permission::*;
        match self {
            Role::Packer => &[SelfService, Pack],
            Role::Supervisor => &[SelfService, Pack, ManageInventory, ReadPii],
            Role::Admin => &[
                SelfService,
                Pack,
                ManageInventory,
                ReadPii,
                ManageUsers,
                ReadAudit,
                ManageData,
                ManageSystem,
            ],
        }
    }

    #[must_use]
    pub fn allows(self, p: Permission) -> bool {
        self.permissions().contains(&p)
    }

    /// Privileged roles cannot use the API at all until they have enrolled TOTP.
    #[must_use]
    pub const fn requires_mfa(self) -> bool {
        matches!(self, Role::Supervisor | Role::Admin)
    }

    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Role::Packer => "packer",
            Role::Supervisor => "supervisor",
            Role::Admin => "admin",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("unknown role `{0}` (expected packer, supervisor or admin)")]
pub struct UnknownRole(pub String);

impl FromStr for Role {
    type Err = UnknownRole;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "packer" => Ok(Role::Packer),
            "supervisor" => Ok(Role::Supervisor),
            "admin" => Ok(Role::Admin),
            other => Err(UnknownRole(other.to_owned())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Permission::*;

    #[test]
    fn permission_matrix_is_exactly_as_documented() {
        // Written out by hand so that a change to `permissions()` must be deliberate.
        let expected: &[(Role, Permission, bool)] = &[
            (Role::Packer, SelfService, true),
            (Role::Packer, Pack, true),
            (Role::Packer, ManageInventory, false),
            (Role::Packer, ReadPii, false),
            (Role::Packer, ManageUsers, false),
            (Role::Packer, ReadAudit, false),
            (Role::Packer, ManageData, false),
            (Role::Packer, ManageSystem, false),
            (Role::Supervisor, SelfService, true),
            (Role::Supervisor, Pack, true),
            (Role::Supervisor, ManageInventory, true),
            (Role::Supervisor, ReadPii, true),
            (Role::Supervisor, ManageUsers, false),
            (Role::Supervisor, ReadAudit, false),
            (Role::Supervisor, ManageData, false),
            (Role::Supervisor, ManageSystem, false),
            (Role::Admin, SelfService, true),
            (Role::Admin, Pack, true),
            (Role::Admin, ManageInventory, true),
            (Role::Admin, ReadPii, true),
            (Role::Admin, ManageUsers, true),
            (Role::Admin, ReadAudit, true),
            (Role::Admin, ManageData, true),
            (Role::Admin, ManageSystem, true),
        ];
        for (role, perm, allowed) in expected {
            assert_eq!(role.allows(*perm), *allowed, "{role} / {perm:?}");
        }
    }

    #[test]
    fn mfa_is_required_for_privileged_roles_only() {
        assert!(!Role::Packer.requires_mfa());
        assert!(Role::Supervisor.requires_mfa());
        assert!(Role::Admin.requires_mfa());
    }

    #[test]
    fn roles_parse_and_print() {
        for r in Role::ALL {
            assert_eq!(r.as_str().parse::<Role>(), Ok(r));
        }
        assert!("root".parse::<Role>().is_err());
    }
}
