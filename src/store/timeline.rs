//! A client's single timeline: contacts, arrests, detentions and service
//! events, newest first.

use super::{Store, StoreError};
use crate::domain::*;
use chrono::NaiveDate;
use std::collections::HashMap;
use uuid::Uuid;

/// What a timeline line is about.
#[derive(Debug, Clone, PartialEq)]
pub enum TimelineItem {
    Contact(Saved<Contact>),
    Arrest(Saved<Arrest>),
    Detention {
        detention: Saved<Detention>,
        location: String,
    },
    Enrollment(Saved<Enrollment>),
    ServiceEvent {
        event: Saved<ServiceEvent>,
        service: Service,
    },
    FollowUp(Saved<FollowUp>),
}

/// One dated line of a timeline.
#[derive(Debug, Clone, PartialEq)]
pub struct TimelineEntry {
    pub date: NaiveDate,
    pub item: TimelineItem,
}

impl Store {
    /// Everything recorded about a client, newest first.
    pub fn timeline(&self, client_id: Uuid) -> Result<Vec<TimelineEntry>, StoreError> {
        let mut out = Vec::new();
        for c in self.list_for_client::<Contact>(client_id)? {
            out.push(TimelineEntry {
                date: c.date,
                item: TimelineItem::Contact(c),
            });
        }
        for a in self.list_for_client::<Arrest>(client_id)? {
            out.push(TimelineEntry {
                date: a.date,
                item: TimelineItem::Arrest(a),
            });
        }
        // The places' names in one statement, not one lookup per place.
        let location_names: HashMap<Uuid, String> = self
            .conn()
            .prepare_cached(
                "SELECT DISTINCT l.id, l.name FROM detentions d JOIN locations l ON l.id = d.location_id
                 WHERE d.client_id = ?1 AND d.deleted = 0",
            )?
            .query_map([client_id], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        for d in self.list_for_client::<Detention>(client_id)? {
            let location = match location_names.get(&d.location_id) {
                Some(name) => name.clone(),
                None => self.get::<Location>(d.location_id)?.data.name,
            };
            out.push(TimelineEntry {
                date: d.start,
                item: TimelineItem::Detention {
                    detention: d,
                    location,
                },
            });
        }
        let enrollments = self.list_for_client::<Enrollment>(client_id)?;
        let services: HashMap<Uuid, Service> =
            enrollments.iter().map(|e| (e.id(), e.service)).collect();
        for e in enrollments {
            out.push(TimelineEntry {
                date: e.start,
                item: TimelineItem::Enrollment(e),
            });
        }
        for ev in self.list_for_client::<ServiceEvent>(client_id)? {
            let service = services
                .get(&ev.enrollment_id)
                .copied()
                .unwrap_or(Service::Art);
            out.push(TimelineEntry {
                date: ev.date,
                item: TimelineItem::ServiceEvent { event: ev, service },
            });
        }
        for f in self.list_for_client::<FollowUp>(client_id)? {
            out.push(TimelineEntry {
                date: f.due,
                item: TimelineItem::FollowUp(f),
            });
        }
        out.sort_by_key(|e| std::cmp::Reverse(e.date));
        Ok(out)
    }
}
