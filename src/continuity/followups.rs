//! The follow-ups the rules open and close, and the words of their
//! reasons (saved in English, shown in the user's language).

use super::*;

/// The reason of the follow-up a stay with methadone or ART opens, with its
/// place: saved in English (exports, other laptops) and shown in the
/// user's language by matching it back ([`fill`], [`unfill`]).
pub const REASON_DETENTION_VISIT: &str =
    "Visit in detention at {place}; negotiate access to methadone / ART";
/// The reason of the follow-up a release opens, with the days allowed.
pub const REASON_RELINK: &str = "Re-link to methadone / ART within {days} days of release";
/// Every reason the rules write.
pub const RULE_REASONS: &[&str] = &[REASON_DETENTION_VISIT, REASON_RELINK];

/// A reason template with its `{name}` placeholders filled in.
pub fn fill(template: &str, args: &[(&str, &dyn std::fmt::Display)]) -> String {
    let mut text = template.to_owned();
    for (name, value) in args {
        text = text.replace(&format!("{{{name}}}"), &value.to_string());
    }
    text
}

/// The values a text filled from `template` was given, by placeholder, or
/// `None` when the text is not one (e.g. a reason someone has edited).
pub fn unfill(template: &str, text: &str) -> Option<Vec<(String, String)>> {
    // The template cut into literal pieces and the names between them.
    let mut pieces = Vec::new();
    let mut names = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let close = open + rest[open..].find('}')?;
        pieces.push(&rest[..open]);
        names.push(&rest[open + 1..close]);
        rest = &rest[close + 1..];
    }
    pieces.push(rest);
    let mut text = text.strip_prefix(pieces[0])?;
    let mut out = Vec::new();
    for (name, next) in names.iter().zip(&pieces[1..]) {
        // The value runs to the next literal piece (the last one: to the end).
        let end = if next.is_empty() {
            text.len()
        } else {
            text.find(next)?
        };
        out.push(((*name).to_owned(), text[..end].to_owned()));
        text = &text[end + next.len()..];
    }
    text.is_empty().then_some(out)
}

/// Rule names of the follow-ups the rules open.
pub const RULE_DETENTION_VISIT: &str = "detention_visit";
pub const RULE_RELINK: &str = "relink";

/// What the rules do to follow-ups; the store applies it in the write's
/// own transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FollowUpChange {
    /// Open a follow-up for `rule` on `source` (a stay), unless one is open
    /// or was removed by hand.
    Open {
        rule: &'static str,
        source: Uuid,
        due: NaiveDate,
        reason: String,
    },
    /// Close the open follow-ups for `rule` on `source`.
    Close {
        rule: &'static str,
        source: Uuid,
        on: NaiveDate,
        outcome: String,
    },
}

/// An open rule follow-up as the rules see it: its rule, its stay, and
/// that stay's dates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenRuleFollowUp {
    pub rule: String,
    pub source: Uuid,
    pub stay_start: NaiveDate,
    pub stay_end: Option<NaiveDate>,
}

/// What happened, with the facts the follow-up rules need.
#[derive(Debug, Clone)]
pub enum FollowUpEvent<'a> {
    /// A stay written (new or corrected): its place's name, whether the
    /// client had methadone or ART when it started, and (once it has
    /// ended) when it ended.
    Stay {
        id: Uuid,
        stay: &'a crate::domain::Detention,
        place: &'a str,
        treated_at_start: bool,
        treated_at_end: Option<bool>,
        /// Days after a release by which to re-link (a threshold).
        relink_days: i64,
    },
    /// A service event of a service, with the client's open rule follow-ups.
    ServiceEvent {
        kind: ServiceEventKind,
        service: Service,
        date: NaiveDate,
        open: &'a [OpenRuleFollowUp],
    },
    /// A contact, with the client's open rule follow-ups.
    Contact {
        kind: ContactKind,
        date: NaiveDate,
        open: &'a [OpenRuleFollowUp],
    },
}

/// Whether an event of this kind can change a follow-up at all (so the
/// store gathers facts only for those).
pub fn may_change_followups(event: FollowUpKind) -> bool {
    match event {
        FollowUpKind::ServiceEvent(kind) => {
            matches!(kind, ServiceEventKind::Dose | ServiceEventKind::Refill)
        }
        FollowUpKind::Contact(kind) => kind == ContactKind::DetentionVisit,
    }
}

/// The kinds of record [`may_change_followups`] is asked about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FollowUpKind {
    ServiceEvent(ServiceEventKind),
    Contact(ContactKind),
}

/// The follow-ups an event opens or closes:
/// - a stay that starts while the client has methadone or ART opens a
///   visit (due the day it starts); its end closes that visit, and a
///   release (not a transfer) while treated opens a re-linkage, due
///   `relink_days` after (a threshold);
/// - a methadone or ART dose or refill closes the re-linkage of a release
///   on or before it, and the visit of a stay that started on or before it
///   (the service reached the client);
/// - a detention visit closes the visit follow-ups of stays that started
///   on or before it.
pub fn followup_changes(event: &FollowUpEvent<'_>) -> Vec<FollowUpChange> {
    let mut out = Vec::new();
    match event {
        FollowUpEvent::Stay {
            id,
            stay,
            place,
            treated_at_start,
            treated_at_end,
            relink_days,
        } => {
            if *treated_at_start {
                out.push(FollowUpChange::Open {
                    rule: RULE_DETENTION_VISIT,
                    source: *id,
                    due: stay.start,
                    reason: fill(REASON_DETENTION_VISIT, &[("place", place)]),
                });
            }
            if let (Some(end), Some(reason)) = (stay.end, stay.release_reason) {
                out.push(FollowUpChange::Close {
                    rule: RULE_DETENTION_VISIT,
                    source: *id,
                    on: end,
                    outcome: "stay ended".into(),
                });
                if reason.is_release() && *treated_at_end == Some(true) {
                    out.push(FollowUpChange::Open {
                        rule: RULE_RELINK,
                        source: *id,
                        due: crate::domain::add_days(end, *relink_days),
                        reason: fill(REASON_RELINK, &[("days", relink_days)]),
                    });
                }
            }
        }
        FollowUpEvent::ServiceEvent {
            kind,
            service,
            date,
            open,
        } => {
            let counts = may_change_followups(FollowUpKind::ServiceEvent(*kind))
                && matches!(service, Service::Methadone | Service::Art);
            if counts {
                let what = format!("{} {} recorded", service.as_str(), kind.as_str());
                for f in open.iter() {
                    let (rule, reached) = match f.rule.as_str() {
                        RULE_RELINK => (RULE_RELINK, f.stay_end.is_some_and(|end| *date >= end)),
                        RULE_DETENTION_VISIT => (RULE_DETENTION_VISIT, *date >= f.stay_start),
                        _ => continue,
                    };
                    if reached {
                        out.push(FollowUpChange::Close {
                            rule,
                            source: f.source,
                            on: *date,
                            outcome: what.clone(),
                        });
                    }
                }
            }
        }
        FollowUpEvent::Contact { kind, date, open } => {
            if may_change_followups(FollowUpKind::Contact(*kind)) {
                for f in open.iter() {
                    if f.rule == RULE_DETENTION_VISIT && f.stay_start <= *date {
                        out.push(FollowUpChange::Close {
                            rule: RULE_DETENTION_VISIT,
                            source: f.source,
                            on: *date,
                            outcome: "visited in detention".into(),
                        });
                    }
                }
            }
        }
    }
    out
}
