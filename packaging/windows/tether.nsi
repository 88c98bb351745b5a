; Tether's Windows installer (NSIS 3), built by scripts/windows.sh:
;   makensis -DVERSION=0.1.0 -DSTAGE=<folder with the files> -DOUTFILE=<setup.exe> tether.nsi
; Per-user: no administrator rights, installed under %LOCALAPPDATA%\Programs,
; a Start-menu shortcut, an entry in "Apps & features". The uninstaller
; removes the program's own files only, by name: the user's data folder
; (%APPDATA%\Tether, databases, key files and backups) is never touched.

Unicode true
SetCompressor /SOLID lzma

!ifndef VERSION
  !error "VERSION is not defined"
!endif
!ifndef STAGE
  !error "STAGE is not defined"
!endif
!ifndef OUTFILE
  !error "OUTFILE is not defined"
!endif

!define UNINSTALL_KEY "Software\Microsoft\Windows\CurrentVersion\Uninstall\Tether"

Name "Tether ${VERSION}"
OutFile "${OUTFILE}"
RequestExecutionLevel user
InstallDir "$LOCALAPPDATA\Programs\Tether"
InstallDirRegKey HKCU "Software\Tether" "InstallDir"
BrandingText "Tether ${VERSION}"

VIProductVersion "${VERSION}.0"
VIAddVersionKey "ProductName" "Tether"
VIAddVersionKey "FileDescription" "Tether ${VERSION} setup"
VIAddVersionKey "FileVersion" "${VERSION}"
VIAddVersionKey "ProductVersion" "${VERSION}"
VIAddVersionKey "LegalCopyright" "MIT licence"

!include "MUI2.nsh"
!define MUI_ICON "${STAGE}\tether.ico"
!define MUI_UNICON "${STAGE}\tether.ico"
!define MUI_WELCOMEPAGE_TEXT "Tether keeps an outreach team's case records encrypted on this laptop, offline.$\r$\n$\r$\nIt installs for you only, without administrator rights. Your data is kept in your own profile folder and is never removed by the uninstaller.$\r$\n$\r$\nClick Next to continue."
!define MUI_FINISHPAGE_RUN "$INSTDIR\tether-window.exe"
!define MUI_FINISHPAGE_RUN_TEXT "Open Tether now"
!define MUI_FINISHPAGE_SHOWREADME "$INSTDIR\README-Windows.txt"
!define MUI_FINISHPAGE_SHOWREADME_TEXT "Read the first steps (English and Khmer)"
!define MUI_FINISHPAGE_SHOWREADME_NOTCHECKED

!insertmacro MUI_PAGE_WELCOME
!insertmacro MUI_PAGE_DIRECTORY
!insertmacro MUI_PAGE_INSTFILES
!insertmacro MUI_PAGE_FINISH
!insertmacro MUI_UNPAGE_CONFIRM
!insertmacro MUI_UNPAGE_INSTFILES
!insertmacro MUI_LANGUAGE "English"

Section "Tether" main
  SectionIn RO
  SetShellVarContext current
  SetOutPath "$INSTDIR"
  File "${STAGE}\tether.exe"
  File "${STAGE}\tether-window.exe"
  File "${STAGE}\tether.ico"
  File "${STAGE}\README-Windows.txt"
  File "${STAGE}\LICENSE.txt"
  WriteUninstaller "$INSTDIR\Uninstall Tether.exe"

  CreateDirectory "$SMPROGRAMS\Tether"
  CreateShortcut "$SMPROGRAMS\Tether\Tether.lnk" "$INSTDIR\tether-window.exe" "" "$INSTDIR\tether.ico" 0
  CreateShortcut "$SMPROGRAMS\Tether\Uninstall Tether.lnk" "$INSTDIR\Uninstall Tether.exe"

  WriteRegStr HKCU "Software\Tether" "InstallDir" "$INSTDIR"
  WriteRegStr HKCU "${UNINSTALL_KEY}" "DisplayName" "Tether"
  WriteRegStr HKCU "${UNINSTALL_KEY}" "DisplayVersion" "${VERSION}"
  WriteRegStr HKCU "${UNINSTALL_KEY}" "Publisher" "Tether"
  WriteRegStr HKCU "${UNINSTALL_KEY}" "DisplayIcon" "$INSTDIR\tether.ico"
  WriteRegStr HKCU "${UNINSTALL_KEY}" "InstallLocation" "$INSTDIR"
  WriteRegStr HKCU "${UNINSTALL_KEY}" "UninstallString" '"$INSTDIR\Uninstall Tether.exe"'
  WriteRegDWORD HKCU "${UNINSTALL_KEY}" "NoModify" 1
  WriteRegDWORD HKCU "${UNINSTALL_KEY}" "NoRepair" 1
SectionEnd

Section "Uninstall"
  SetShellVarContext current
  ; The program's files, by name. Nothing under %APPDATA%\Tether (the
  ; databases, key files, backups) is removed, and RMDir without /r leaves
  ; the folder if anything else was put in it.
  Delete "$INSTDIR\tether.exe"
  Delete "$INSTDIR\tether-window.exe"
  Delete "$INSTDIR\tether.ico"
  Delete "$INSTDIR\README-Windows.txt"
  Delete "$INSTDIR\LICENSE.txt"
  Delete "$INSTDIR\Uninstall Tether.exe"
  RMDir "$INSTDIR"
  Delete "$SMPROGRAMS\Tether\Tether.lnk"
  Delete "$SMPROGRAMS\Tether\Uninstall Tether.lnk"
  RMDir "$SMPROGRAMS\Tether"
  DeleteRegKey HKCU "${UNINSTALL_KEY}"
  DeleteRegKey HKCU "Software\Tether"
SectionEnd
