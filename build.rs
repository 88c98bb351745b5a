//! Windows builds only: the icon and the version resource of `tether.exe`
//! and `tether-window.exe` (what Explorer and the installer show), made
//! with `embed-resource` from `assets/windows/`. Other targets build
//! nothing here.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=assets/windows/tether.ico");
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() != Ok("windows") {
        return;
    }
    let version = std::env::var("CARGO_PKG_VERSION").unwrap_or_default();
    let mut parts: Vec<u16> = version
        .split(['.', '-'])
        .take(3)
        .map(|p| p.parse().unwrap_or(0))
        .collect();
    parts.resize(4, 0);
    let numbers = parts
        .iter()
        .map(u16::to_string)
        .collect::<Vec<_>>()
        .join(",");
    let dir = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default();
    let icon = format!("{dir}/assets/windows/tether.ico").replace('\\', "/");
    let rc = format!(
        r#"1 ICON "{icon}"
1 VERSIONINFO
FILEVERSION {numbers}
PRODUCTVERSION {numbers}
FILEOS 0x40004
FILETYPE 0x1
BEGIN
  BLOCK "StringFileInfo"
  BEGIN
    BLOCK "040904B0"
    BEGIN
      VALUE "CompanyName", "Tether"
      VALUE "FileDescription", "Tether: offline case management for harm-reduction outreach"
      VALUE "FileVersion", "{version}"
      VALUE "InternalName", "tether"
      VALUE "LegalCopyright", "MIT licence"
      VALUE "ProductName", "Tether"
      VALUE "ProductVersion", "{version}"
    END
  END
  BLOCK "VarFileInfo"
  BEGIN
    VALUE "Translation", 0x409, 1200
  END
END
"#
    );
    let out = std::path::Path::new(&std::env::var("OUT_DIR").unwrap_or_default()).join("tether.rc");
    std::fs::write(&out, rc).expect("write the resource script");
    embed_resource::compile(&out, embed_resource::NONE)
        .manifest_optional()
        .expect("compile the Windows resources (mingw-w64's windres)");
}
