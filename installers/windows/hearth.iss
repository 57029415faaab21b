; Hearth's Windows installer (Inno Setup 6).
;
; Built by installers/build.py, which passes the defines below:
;   ISCC /DAppVersion=0.1.0 /DSourceDir=dist\Hearth /DOutputDir=dist
;        /DOutputBase=Hearth-0.1.0-windows-x86_64-setup /DRepoRoot=. installers\windows\hearth.iss
;
; - Per-user install without admin rights (PrivilegesRequired=lowest): the app goes to
;   %LOCALAPPDATA%\Programs\Hearth, shortcuts to the user's Start menu and desktop.
; - Upgrades install over the previous version; [InstallDelete] first removes the
;   previous version's bundled files (PyInstaller's _internal folder) so no stale
;   library of an older version is left beside the new one.
; - Uninstalling keeps the user's data (%LOCALAPPDATA%\Hearth: conversations, library,
;   adapters, settings, logs; platformdirs' folders for "Hearth") unless the user ticks
;   the box on the uninstaller's first dialog.  A silent uninstall keeps it unless
;   /DELETEUSERDATA=1 is given.

#ifndef AppVersion
  #define AppVersion "0.0.0"
#endif
#ifndef RepoRoot
  #define RepoRoot "..\.."
#endif
#ifndef SourceDir
  #define SourceDir RepoRoot + "\dist\Hearth"
#endif
#ifndef OutputDir
  #define OutputDir RepoRoot + "\dist"
#endif
#ifndef OutputBase
  #define OutputBase "Hearth-" + AppVersion + "-windows-setup"
#endif

#define AppName "Hearth"
#define AppExe "Hearth.exe"

[Setup]
; The AppId identifies Hearth across versions (upgrades, the uninstall entry): never change it.
AppId={{6F0C2A4E-4B1D-4E8B-9C57-2D3A8E1F7B60}
AppName={#AppName}
AppVersion={#AppVersion}
AppVerName={#AppName} {#AppVersion}
AppPublisher=Hearth
AppComments=A private AI assistant that runs on your own computer
VersionInfoVersion={#AppVersion}
DefaultDirName={autopf}\{#AppName}
DefaultGroupName={#AppName}
DisableProgramGroupPage=yes
DisableDirPage=auto
PrivilegesRequired=lowest
UsedUserAreasWarning=no
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
MinVersion=10.0
OutputDir={#OutputDir}
OutputBaseFilename={#OutputBase}
SetupIconFile={#RepoRoot}\resources\icons\hearth.ico
UninstallDisplayIcon={app}\{#AppExe}
UninstallDisplayName={#AppName}
Compression=lzma2
SolidCompression=yes
LZMAUseSeparateProcess=yes
WizardStyle=modern
CloseApplications=yes
RestartApplications=no

[Languages]
Name: "english"; MessagesFile: "compiler:Default.isl"

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked

[InstallDelete]
; The previous version's bundle: everything but Hearth.exe lives in _internal.
Type: filesandordirs; Name: "{app}\_internal"

[Files]
Source: "{#SourceDir}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{autoprograms}\{#AppName}"; Filename: "{app}\{#AppExe}"; Comment: "A private AI assistant on your computer"
Name: "{autodesktop}\{#AppName}"; Filename: "{app}\{#AppExe}"; Tasks: desktopicon

[Run]
Filename: "{app}\{#AppExe}"; Description: "{cm:LaunchProgram,{#AppName}}"; Flags: nowait postinstall skipifsilent

[Code]
var
  DeleteUserData: Boolean;

{ platformdirs' folders for Hearth on Windows (roaming=False): data, config, cache and
  logs all live under %LOCALAPPDATA%\Hearth. }
function UserDataDir(): String;
begin
  Result := ExpandConstant('{localappdata}\Hearth');
end;

function InitializeUninstall(): Boolean;
var
  Form: TSetupForm;
  Note: TNewStaticText;
  Box: TNewCheckBox;
  UninstallButton, CancelButton: TNewButton;
begin
  Result := True;
  DeleteUserData := False;
  if UninstallSilent() then
  begin
    DeleteUserData := ExpandConstant('{param:DELETEUSERDATA|0}') = '1';
    Exit;
  end;
#if Ver >= EncodeVer(6, 6, 0)
  Form := CreateCustomForm(460, 170, True, True);
#else
  Form := CreateCustomForm();
  Form.ClientWidth := ScaleX(460);
  Form.ClientHeight := ScaleY(170);
#endif
  try
    Form.Caption := 'Uninstall {#AppName}';

    Note := TNewStaticText.Create(Form);
    Note.Parent := Form;
    Note.Left := ScaleX(16);
    Note.Top := ScaleY(16);
    Note.Width := Form.ClientWidth - ScaleX(32);
    Note.AutoSize := False;
    Note.WordWrap := True;
    Note.Height := ScaleY(64);
    Note.Caption := '{#AppName} will be removed from this computer. Your conversations, ' +
      'library and settings stay in ' + UserDataDir() + ', so installing {#AppName} ' +
      'again finds them.';

    Box := TNewCheckBox.Create(Form);
    Box.Parent := Form;
    Box.Left := ScaleX(16);
    Box.Top := ScaleY(88);
    Box.Width := Form.ClientWidth - ScaleX(32);
    Box.Height := ScaleY(24);
    Box.Caption := 'Also delete my {#AppName} data (conversations, library, settings)';
    Box.Checked := False;

    UninstallButton := TNewButton.Create(Form);
    UninstallButton.Parent := Form;
    UninstallButton.Width := ScaleX(90);
    UninstallButton.Height := ScaleY(26);
    UninstallButton.Left := Form.ClientWidth - ScaleX(16 + 90 + 8 + 90);
    UninstallButton.Top := Form.ClientHeight - ScaleY(26 + 16);
    UninstallButton.Caption := 'Uninstall';
    UninstallButton.ModalResult := mrOk;
    UninstallButton.Default := True;

    CancelButton := TNewButton.Create(Form);
    CancelButton.Parent := Form;
    CancelButton.Width := ScaleX(90);
    CancelButton.Height := ScaleY(26);
    CancelButton.Left := Form.ClientWidth - ScaleX(16 + 90);
    CancelButton.Top := Form.ClientHeight - ScaleY(26 + 16);
    CancelButton.Caption := 'Cancel';
    CancelButton.ModalResult := mrCancel;
    CancelButton.Cancel := True;

    Form.ActiveControl := CancelButton;
    Result := Form.ShowModal() = mrOk;
    DeleteUserData := Result and Box.Checked;
  finally
    Form.Free();
  end;
end;

procedure CurUninstallStepChanged(CurUninstallStep: TUninstallStep);
begin
  if (CurUninstallStep = usPostUninstall) and DeleteUserData then
  begin
    if DirExists(UserDataDir()) and not DelTree(UserDataDir(), True, True, True) then
      MsgBox('Some of your Hearth data could not be deleted. You can delete the folder ' +
        UserDataDir() + ' yourself.', mbInformation, MB_OK);
  end;
end;
