//! Every UI string goes through [`t`]: English is the key, and the table
//! below holds the Khmer. A test scans the UI sources for `t("…")` and fails
//! when a string has no translation.

use std::cell::Cell;
use std::collections::HashMap;
use std::sync::LazyLock;

/// A UI language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    En,
    Km,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Km => "km",
        }
    }

    pub fn from_code(code: &str) -> Lang {
        if code == "km" { Lang::Km } else { Lang::En }
    }
}

thread_local! {
    static LANG: Cell<Lang> = const { Cell::new(Lang::En) };
}

/// Sets the language of the window drawn on this thread.
pub fn set_lang(lang: Lang) {
    LANG.with(|l| l.set(lang));
}

pub fn lang() -> Lang {
    LANG.with(|l| l.get())
}

static KM: LazyLock<HashMap<&'static str, &'static str>> =
    LazyLock::new(|| super::strings_km::KM.iter().copied().collect());

/// The current language's text for an English UI string (English if missing).
pub fn t(en: &'static str) -> &'static str {
    match lang() {
        Lang::En => en,
        Lang::Km => KM.get(en).copied().unwrap_or(en),
    }
}

/// Whether a string has a Khmer translation (for the completeness test).
pub fn has_khmer(en: &str) -> bool {
    KM.get(en).is_some_and(|km| !km.trim().is_empty())
}

/// `t(en)` with `{name}` placeholders filled in.
pub fn tf(en: &'static str, args: &[(&str, &dyn std::fmt::Display)]) -> String {
    let mut text = t(en).to_owned();
    for (name, value) in args {
        text = text.replace(&format!("{{{name}}}"), &value.to_string());
    }
    text
}
