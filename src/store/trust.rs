//! Which laptops this one believes. Each database has its own Ed25519
//! signing key (in `meta`, so inside the encrypted file) and signs every
//! bundle it writes. Each other laptop is known by the public key first
//! seen for its device id, and an admin decides what it may change here:
//!
//! - `pending`: seen (a bundle signed with its key) but not enrolled; its
//!   bundles are refused, and no bundle is sealed for it.
//! - `member`: a field laptop. Its own changes are merged, each checked
//!   against the role its author has on this laptop; changes it relays
//!   from other laptops are left for those laptops or the office to send;
//!   it cannot change users.
//! - `office`: may also relay other laptops' changes and change users
//!   (made by an admin).
//! - `retired`: refused from now on (a lost or seized laptop).

use super::{Scope, Store, StoreError, ms_to_time};
use crate::domain::*;
use crate::sync::SyncError;
use crate::sync::bundle::{DeviceKey, Header, fingerprint};
use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};

pub use crate::sync::policy::Trust;

/// A laptop this one knows of.
#[derive(Debug, Clone, PartialEq)]
pub struct SyncDevice {
    pub device_id: String,
    pub public_key: String,
    /// The key as people compare it (see [`fingerprint`]).
    pub fingerprint: String,
    pub trust: Trust,
    /// This laptop itself (always trusted).
    pub this_laptop: bool,
    pub first_seen: Option<DateTime<Utc>>,
    pub last_seen: Option<DateTime<Utc>>,
    /// When a bundle of it was last merged here.
    pub last_merged: Option<DateTime<Utc>>,
    /// Which clients it holds (for this laptop: as the office set it).
    pub scope: Scope,
}

/// Pending laptops remembered at most (a folder full of strangers' bundles
/// must not grow the list without end, nor hide a real new laptop behind a
/// few hundred strangers: an admin can also enroll a laptop by its key, or
/// forget a pending one).
const MAX_PENDING: i64 = 5_000;

/// Gives the database its signing key if it has none yet.
pub(crate) fn ensure_device_key(conn: &Connection) -> Result<(), StoreError> {
    // Only what is missing is written (an open writes nothing otherwise):
    // its signing key, and its own sealing key (format 5), kept apart.
    let has = |key: &str| -> Result<bool, StoreError> {
        Ok(conn
            .prepare_cached("SELECT 1 FROM meta WHERE key = ?1")?
            .query_row([key], |_| Ok(()))
            .optional()?
            .is_some())
    };
    if !has("device.signing_key")? {
        conn.execute(
            "INSERT OR IGNORE INTO meta(key, value) VALUES ('device.signing_key', ?1)",
            [DeviceKey::generate().secret_hex().as_str()],
        )?;
    }
    if !has("device.sealing_key")? {
        conn.execute(
            "INSERT OR IGNORE INTO meta(key, value) VALUES ('device.sealing_key', ?1)",
            [DeviceKey::new_sealing_hex().as_str()],
        )?;
    }
    Ok(())
}

pub(crate) fn device_key_on(conn: &Connection) -> Result<DeviceKey, StoreError> {
    let text: Option<zeroize::Zeroizing<String>> = conn
        .prepare_cached("SELECT value FROM meta WHERE key = 'device.signing_key'")?
        .query_row([], |r| r.get::<_, String>(0))
        .optional()?
        .map(zeroize::Zeroizing::new);
    let key = text
        .as_deref()
        .and_then(|t| DeviceKey::from_secret_hex(t))
        .ok_or_else(|| StoreError::Damaged("this laptop's signing key is missing".into()))?;
    let sealing: Option<zeroize::Zeroizing<String>> = conn
        .prepare_cached("SELECT value FROM meta WHERE key = 'device.sealing_key'")?
        .query_row([], |r| r.get::<_, String>(0))
        .optional()?
        .map(zeroize::Zeroizing::new);
    Ok(match sealing.as_deref() {
        Some(s) => key
            .with_sealing_hex(s)
            .ok_or_else(|| StoreError::Damaged("this laptop's sealing key is damaged".into()))?,
        None => key,
    })
}

impl Store {
    /// This laptop's signing key.
    pub fn device_key(&self) -> Result<DeviceKey, StoreError> {
        device_key_on(self.conn())
    }

    /// This laptop's key as people compare it on two screens.
    pub fn device_fingerprint(&self) -> Result<String, StoreError> {
        Ok(fingerprint(&self.device_key()?.public_hex()))
    }

    /// Whether a laptop of this id has been seen here.
    pub(crate) fn knows_device(&self, device: &str) -> Result<bool, StoreError> {
        Ok(self
            .conn()
            .prepare_cached("SELECT 1 FROM sync_devices WHERE device_id = ?1")?
            .query_row([device], |_| Ok(()))
            .optional()?
            .is_some())
    }

    /// Every laptop this one knows: itself first, then the others by first sight.
    pub fn sync_devices(&self) -> Result<Vec<SyncDevice>, StoreError> {
        let own = self.device_key()?.public_hex();
        let mut out = vec![SyncDevice {
            device_id: self.device_id().to_owned(),
            fingerprint: fingerprint(&own),
            public_key: own,
            trust: Trust::Office,
            this_laptop: true,
            first_seen: None,
            last_seen: None,
            last_merged: None,
            scope: self.own_scope()?,
        }];
        let mut stmt = self.conn().prepare(
            "SELECT d.device_id, d.public_key, d.trust, d.first_seen, d.last_seen, p.last_merged_at, d.scope
             FROM sync_devices d LEFT JOIN sync_peers p ON p.device_id = d.device_id
             ORDER BY d.first_seen, d.device_id",
        )?;
        let rows = stmt.query_map([], |r| {
            let key: String = r.get(1)?;
            let trust: String = r.get(2)?;
            Ok(SyncDevice {
                device_id: r.get(0)?,
                fingerprint: fingerprint(&key),
                public_key: key,
                trust: Trust::parse(&trust).unwrap_or(Trust::Pending),
                this_laptop: false,
                first_seen: Some(ms_to_time(r.get(3)?)),
                last_seen: Some(ms_to_time(r.get(4)?)),
                last_merged: r.get::<_, Option<i64>>(5)?.map(ms_to_time),
                scope: if trust == "office" {
                    Scope::All
                } else {
                    Scope::from_column(r.get::<_, Option<String>>(6)?.as_deref())
                },
            })
        })?;
        for row in rows {
            out.push(row?);
        }
        Ok(out)
    }

    /// Enrolls another laptop (or changes what it may do, or retires it);
    /// admins only, audited. `public_key` (hex) is needed for a laptop not
    /// seen yet, and must match the one seen for one that has been.
    pub fn enroll_device(
        &mut self,
        device_id: &str,
        public_key: Option<&str>,
        trust: Trust,
    ) -> Result<(), StoreError> {
        self.require(Permission::SyncSetup)?;
        let device_id = device_id.trim().to_owned();
        if device_id == self.device_id() {
            return Err(ValidationError::Inconsistent {
                field: "device",
                reason: "that is this laptop".into(),
            }
            .into());
        }
        if let Some(reason) = crate::sync::device_id_problem(&device_id) {
            return Err(ValidationError::Inconsistent {
                field: "device",
                reason: reason.into(),
            }
            .into());
        }
        let given = match public_key {
            Some(k) => {
                let k = k.trim().to_ascii_lowercase();
                if !crate::sync::bundle::is_valid_device_key(&k) {
                    return Err(ValidationError::OutOfRange {
                        field: "key",
                        reason: "a laptop key is 64 hexadecimal characters, as `sync devices` shows it on that laptop".into(),
                    }
                    .into());
                }
                Some(k)
            }
            None => None,
        };
        self.write(|tx, ctx| {
            let seen: Option<(String, String)> = tx
                .query_row(
                    "SELECT public_key, trust FROM sync_devices WHERE device_id = ?1",
                    [&device_id],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            // A key seen only in a bundle nobody enrolled (or a retired
            // laptop's) never stands in the way of the key an admin was
            // shown on the laptop itself: anyone can write a bundle that
            // claims a new laptop's id first.
            let replaceable = seen
                .as_ref()
                .is_some_and(|(_, t)| matches!(Trust::parse(t), Some(Trust::Pending | Trust::Retired) | None));
            let replaced = match (&seen, &given) {
                (Some((old, _)), Some(new)) if replaceable && old != new => Some(old.clone()),
                _ => None,
            };
            let seen = seen.map(|(k, _)| k);
            let key = match (seen, given) {
                (Some(_), Some(given)) if replaceable => given,
                (Some(seen), Some(given)) if seen != given => {
                    return Err(ValidationError::Inconsistent {
                        field: "key",
                        reason: format!(
                            "laptop {device_id} was seen with another key ({}); check which is right",
                            fingerprint(&seen)
                        ),
                    }
                    .into());
                }
                (Some(seen), _) => seen,
                (None, Some(given)) => given,
                (None, None) => {
                    return Err(ValidationError::Inconsistent {
                        field: "key",
                        reason: format!(
                            "laptop {device_id} has not been seen here yet: give its key"
                        ),
                    }
                    .into());
                }
            };
            tx.execute(
                "INSERT INTO sync_devices(device_id, public_key, trust, first_seen, last_seen, changed_by, changed_at)
                 VALUES (?1, ?2, ?3, ?4, ?4, ?5, ?4)
                 ON CONFLICT(device_id) DO UPDATE SET trust = excluded.trust, public_key = excluded.public_key,
                     sealing_key = CASE WHEN excluded.public_key = public_key THEN sealing_key ELSE NULL END,
                     changed_by = excluded.changed_by, changed_at = excluded.changed_at,
                     scope = CASE WHEN excluded.trust = 'office' THEN NULL ELSE scope END",
                params![device_id, key, trust.as_str(), ctx.now, ctx.user_id],
            )?;
            if let Some(old) = &replaced {
                ctx.audit(
                    tx,
                    AuditAction::Update,
                    Some("device"),
                    None,
                    &format!(
                        "laptop {device_id}: the key seen before ({}) replaced by the one given",
                        fingerprint(old)
                    ),
                )?;
            }
            ctx.audit(
                tx,
                AuditAction::Update,
                Some("device"),
                None,
                &format!(
                    "laptop {device_id} (key {}) enrolled as {}",
                    fingerprint(&key),
                    trust.as_str()
                ),
            )
        })
    }

    /// Forgets a laptop seen but not enrolled, or retired (admins,
    /// audited): it leaves the list, and its next bundle lists it again
    /// as pending. An enrolled laptop is retired first.
    pub fn forget_device(&mut self, device_id: &str) -> Result<(), StoreError> {
        self.require(Permission::SyncSetup)?;
        let trust: Option<String> = self
            .conn()
            .query_row(
                "SELECT trust FROM sync_devices WHERE device_id = ?1",
                [device_id],
                |r| r.get(0),
            )
            .optional()?;
        match trust.as_deref().map(Trust::parse) {
            None => {
                return Err(ValidationError::Inconsistent {
                    field: "device",
                    reason: format!("no laptop {device_id} is known here"),
                }
                .into());
            }
            Some(Some(Trust::Member | Trust::Office)) => {
                return Err(ValidationError::Inconsistent {
                    field: "device",
                    reason: format!(
                        "laptop {device_id} is enrolled: retire it first (sync enroll --as retired)"
                    ),
                }
                .into());
            }
            Some(_) => {}
        }
        self.write(|tx, ctx| {
            tx.execute("DELETE FROM sync_devices WHERE device_id = ?1", [device_id])?;
            ctx.audit(
                tx,
                AuditAction::Update,
                Some("device"),
                None,
                &format!("laptop {device_id} forgotten"),
            )
        })
    }

    /// How far ahead of this laptop's clock a synced change may be dated.
    pub fn sync_clock_margin_hours(&self) -> i64 {
        super::queries::setting_on(self.conn(), super::settings::SYNC_CLOCK_MARGIN_HOURS)
    }

    /// Sets the clock margin (admins; 1 hour to 30 days), audited.
    pub fn set_sync_clock_margin_hours(&mut self, hours: i64) -> Result<(), StoreError> {
        self.require(Permission::SyncSetup)?;
        if !(1..=720).contains(&hours) {
            return Err(ValidationError::OutOfRange {
                field: "clock_margin_hours",
                reason: format!("{hours} is not between 1 and 720 hours"),
            }
            .into());
        }
        self.write(|tx, ctx| {
            tx.execute(
                "INSERT INTO meta(key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                params![
                    format!("setting.{}", super::settings::SYNC_CLOCK_MARGIN_HOURS.0),
                    hours.to_string()
                ],
            )?;
            ctx.audit(
                tx,
                AuditAction::Update,
                Some("setting"),
                None,
                &format!("sync clock margin={hours}h"),
            )
        })
    }

    /// Who sent an opened bundle, as this laptop believes: its trust, or
    /// the refusal. A laptop seen for the first time is remembered as
    /// pending (so an admin can enroll it) and refused.
    pub(crate) fn sender_trust(&mut self, header: &Header) -> Result<Trust, StoreError> {
        let device = header.device.clone();
        let signer = header.signer.trim().to_ascii_lowercase();
        if device == self.device_id() {
            return if signer == self.device_key()?.public_hex() {
                Ok(Trust::Office)
            } else {
                Err(SyncError::KeyMismatch {
                    device,
                    fingerprint: fingerprint(&signer),
                }
                .into())
            };
        }
        if crate::sync::device_id_problem(&device).is_some()
            || !crate::sync::bundle::is_valid_device_key(&signer)
        {
            return Err(SyncError::Damaged("its device id or key is not valid".into()).into());
        }
        let known: Option<(String, String)> = self
            .conn()
            .prepare_cached("SELECT public_key, trust FROM sync_devices WHERE device_id = ?1")?
            .query_row([&device], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        let refusal = match &known {
            Some((key, _)) if *key != signer => Some(SyncError::KeyMismatch {
                device: device.clone(),
                fingerprint: fingerprint(&signer),
            }),
            Some((_, trust)) => match Trust::parse(trust) {
                Some(Trust::Member) | Some(Trust::Office) => None,
                Some(Trust::Retired) => Some(SyncError::Retired {
                    device: device.clone(),
                }),
                _ => Some(SyncError::NotEnrolled {
                    device: device.clone(),
                    fingerprint: fingerprint(&signer),
                }),
            },
            None => Some(SyncError::NotEnrolled {
                device: device.clone(),
                fingerprint: fingerprint(&signer),
            }),
        };
        let now = self.now_ms();
        match (&known, &refusal) {
            (None, _) => {
                let pending: i64 = self.conn().query_row(
                    "SELECT count(*) FROM sync_devices WHERE trust = 'pending'",
                    [],
                    |r| r.get(0),
                )?;
                if pending < MAX_PENDING {
                    let fp = fingerprint(&signer);
                    self.write(|tx, ctx| {
                        tx.execute(
                            "INSERT OR IGNORE INTO sync_devices(device_id, public_key, trust, first_seen, last_seen)
                             VALUES (?1, ?2, 'pending', ?3, ?3)",
                            params![device, signer, now],
                        )?;
                        ctx.audit(
                            tx,
                            AuditAction::Sync,
                            Some("device"),
                            None,
                            &format!("bundle from laptop {device} (key {fp}) refused: not enrolled"),
                        )
                    })?;
                }
            }
            (Some(_), None) => {
                // Its sealing key, in its own signed words (checked against
                // the key enrolled for it): bundles for it are sealed to it.
                let sealer = header
                    .sealer
                    .as_deref()
                    .filter(|k| crate::sync::seal::is_valid_sealing_key(k))
                    .map(str::to_ascii_lowercase);
                self.conn().execute(
                    "UPDATE sync_devices SET last_seen = ?2, sealing_key = coalesce(?3, sealing_key) WHERE device_id = ?1",
                    params![device, now, sealer],
                )?;
            }
            (Some(_), Some(_)) => {}
        }
        match refusal {
            Some(e) => Err(e.into()),
            None => Ok(known
                .and_then(|(_, t)| Trust::parse(&t))
                .unwrap_or(Trust::Pending)),
        }
    }
}
