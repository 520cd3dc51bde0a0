# Staff management, API keys and facility settings (tenant admins), and
# the invitation page where new staff set their password.
admin-nav-staff = Staff
admin-nav-api-keys = API keys
admin-nav-settings = Settings

admin-col-name = Name
admin-col-email = E-mail
admin-col-role = Role
admin-col-second-factor = Second factor
admin-col-last-login = Last login
admin-col-state = State
admin-col-actions = Actions
admin-col-key-name = Key name
admin-col-created = Created
admin-col-expires = Expires

admin-yes = yes
admin-no = no
admin-never = never
admin-state-active = active
admin-state-invited = invited, no password yet
admin-state-deactivated = deactivated

admin-role-tenant-admin = Administrator
admin-role-clinician = Clinician
admin-role-assistant = Assistant

admin-staff-title = Staff
admin-staff-you = This is you
admin-staff-role-of = Role of { $name }
admin-staff-change-role = Change role of { $name }
admin-staff-deactivate = Deactivate { $name }
admin-staff-reactivate = Reactivate { $name }
admin-staff-invite = Invite a staff member
admin-staff-invite-intro = The new member receives an e-mail with a link to set their own password. The link works once, for seven days.
admin-staff-invite-submit = Send invitation
admin-staff-invited = The invitation has been sent.

admin-keys-title = API keys
admin-keys-none = No API keys yet.
admin-keys-create = Create an API key
admin-keys-days = Valid for days (at most { $max })
admin-keys-create-submit = Create key
admin-keys-scope = Permissions (SMART scopes; empty: everything a lab system may do)
admin-keys-scope-hint = For example system/DiagnosticReport.write: only deliver findings.
admin-col-key-scope = Permissions
admin-keys-scope-all = everything a lab system may do
admin-keys-created = New key “{ $name }”
admin-keys-shown-once = Copy this key now and store it in the lab system. It is shown only this once; Hippo cannot show it again.
admin-keys-secret = Secret key
admin-keys-valid-until = Valid until { $when }.
admin-keys-back = Back to the API keys
admin-keys-expired = expired
admin-keys-revoked-at = revoked on { $when }
admin-keys-revoke-confirm = Yes, lab systems using this key will be refused
admin-keys-revoke = Revoke key { $name }

admin-settings-title = Facility settings
admin-settings-time-zone = Time zone
admin-settings-time-zone-help = Dates and times on the facility's pages are shown in this time zone.
admin-settings-save = Save
admin-settings-saved = The settings have been saved.

admin-invitation-title = Set your password
admin-invitation-intro = Choose a password of at least { $min } characters. A long sentence you can remember works well.
admin-invitation-password = New password
admin-invitation-repeat = Repeat the password
admin-invitation-submit = Set password
admin-invitation-done = Your password has been set. You can now log in.
admin-invitation-to-login = Go to the login
admin-invitation-invalid = This invitation link does not work: it may have been used already or expired. Please ask your facility's administrator for a new invitation.
