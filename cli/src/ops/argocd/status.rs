//! ArgoCD's status words, typed: an Application's sync status, its last
//! operation's phase and a resource's health, spelled as ArgoCD's API
//! spells them (`pkg/apis/application/v1alpha1` `SyncStatusCode`, and
//! gitops-engine's `common.OperationPhase` and `health.HealthStatusCode`;
//! the Application CRD in `contracts/crds/` gives them as examples). A word this version does not know is kept as
//! written (`Other`), so a newer ArgoCD never fails a command that only
//! reports it.

use std::fmt;

/// One status enum: its variants' names are ArgoCD's spellings (the one
/// place they are written), plus `Other` for any spelling not listed.
macro_rules! status_word {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $v:ident),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub enum $name {
            $($(#[$vm])* $v,)+
            /// A spelling this version does not know, as ArgoCD wrote it.
            Other(String),
        }

        impl $name {
            /// ArgoCD's spelling.
            pub fn as_str(&self) -> &str {
                match self {
                    $(Self::$v => stringify!($v),)+
                    Self::Other(s) => s,
                }
            }

            /// The status ArgoCD spelled `s` (never fails: see `Other`).
            pub fn parse(s: &str) -> Self {
                match s {
                    $(stringify!($v) => Self::$v,)+
                    other => Self::Other(other.to_string()),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str> as serde::Deserialize>::deserialize(d)?;
                Ok(Self::parse(&s))
            }
        }
    };
}

status_word! {
    /// Whether an Application's live state is what git says (`status.sync.status`).
    SyncStatus {
        Synced,
        OutOfSync,
        /// Not compared (yet), or the comparison failed.
        Unknown,
    }
}

status_word! {
    /// ArgoCD's health of an Application or one of its resources
    /// (`status.health.status`; for an ExternalSecret, whether it synced its Secret).
    HealthStatus {
        Healthy,
        Progressing,
        Degraded,
        Suspended,
        Missing,
        Unknown,
    }
}

status_word! {
    /// The phase of an Application's last operation (`status.operationState.phase`).
    OperationPhase {
        Running,
        Terminating,
        Failed,
        Error,
        Succeeded,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argocd_spellings_round_trip_and_an_unknown_one_is_kept() {
        for s in ["Synced", "OutOfSync", "Unknown"] {
            assert_eq!(SyncStatus::parse(s).to_string(), s);
            assert!(!matches!(SyncStatus::parse(s), SyncStatus::Other(_)), "{s}");
        }
        for s in ["Healthy", "Progressing", "Degraded", "Suspended", "Missing", "Unknown"] {
            assert!(!matches!(HealthStatus::parse(s), HealthStatus::Other(_)), "{s}");
        }
        let h: HealthStatus = serde_json::from_str(r#""Dormant""#).unwrap();
        assert_eq!(h, HealthStatus::Other("Dormant".into()));
        assert_eq!(serde_json::to_string(&h).unwrap(), r#""Dormant""#);
        assert_eq!(serde_json::to_string(&SyncStatus::OutOfSync).unwrap(), r#""OutOfSync""#);
    }
}
