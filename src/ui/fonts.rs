//! Fonts: egui's defaults plus a bundled Khmer font (Noto Sans Khmer, OFL) as
//! a fallback of every family, so Khmer names render everywhere.

use std::sync::Arc;

/// Noto Sans Khmer Regular, from Debian's fonts-noto-core (SIL Open Font License).
pub const KHMER_FONT: &[u8] = include_bytes!("../../assets/fonts/NotoSansKhmer-Regular.ttf");

/// Adds the Khmer font as a fallback to every font family of `ctx`.
pub fn install(ctx: &egui::Context) {
    let mut fonts = egui::FontDefinitions::default();
    fonts.font_data.insert(
        "noto_sans_khmer".to_owned(),
        Arc::new(egui::FontData::from_static(KHMER_FONT)),
    );
    for family in fonts.families.values_mut() {
        family.push("noto_sans_khmer".to_owned());
    }
    ctx.set_fonts(fonts);
}
