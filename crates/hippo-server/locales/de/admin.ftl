# Mitarbeiterverwaltung, API-Schlüssel und Einstellungen der Einrichtung
# (Administratoren) und die Einladungsseite, auf der neue Mitarbeitende
# ihr Passwort festlegen.
admin-nav-staff = Mitarbeitende
admin-nav-api-keys = API-Schlüssel
admin-nav-settings = Einstellungen

admin-col-name = Name
admin-col-email = E-Mail
admin-col-role = Rolle
admin-col-second-factor = Zweiter Faktor
admin-col-last-login = Letzte Anmeldung
admin-col-state = Status
admin-col-actions = Aktionen
admin-col-key-name = Name des Schlüssels
admin-col-created = Erstellt
admin-col-expires = Gültig bis

admin-yes = ja
admin-no = nein
admin-never = noch nie
admin-state-active = aktiv
admin-state-invited = eingeladen, noch kein Passwort
admin-state-deactivated = deaktiviert

admin-role-tenant-admin = Administration
admin-role-clinician = Ärztin/Arzt
admin-role-assistant = Praxisteam (MFA)

admin-staff-title = Mitarbeitende
admin-staff-you = Das sind Sie
admin-staff-role-of = Rolle von { $name }
admin-staff-change-role = Rolle von { $name } ändern
admin-staff-deactivate = { $name } deaktivieren
admin-staff-reactivate = { $name } wieder aktivieren
admin-staff-invite = Mitarbeiterin oder Mitarbeiter einladen
admin-staff-invite-intro = Die neue Person erhält eine E-Mail mit einem Link, über den sie ihr Passwort selbst festlegt. Der Link gilt einmal und sieben Tage lang.
admin-staff-invite-submit = Einladung senden
admin-staff-invited = Die Einladung wurde versandt.

admin-keys-title = API-Schlüssel
admin-keys-none = Noch keine API-Schlüssel.
admin-keys-create = API-Schlüssel erstellen
admin-keys-days = Gültig für Tage (höchstens { $max })
admin-keys-create-submit = Schlüssel erstellen
admin-keys-scope = Berechtigungen (SMART-Scopes, leer: alles, was ein Laborsystem darf)
admin-keys-scope-hint = Zum Beispiel system/DiagnosticReport.write: nur Befunde einliefern.
admin-col-key-scope = Berechtigungen
admin-keys-scope-all = alles, was ein Laborsystem darf
admin-keys-created = Neuer Schlüssel „{ $name }“
admin-keys-shown-once = Kopieren Sie diesen Schlüssel jetzt und hinterlegen Sie ihn im Laborsystem. Er wird nur dieses eine Mal angezeigt; Hippo kann ihn nicht erneut anzeigen.
admin-keys-secret = Geheimer Schlüssel
admin-keys-valid-until = Gültig bis { $when }.
admin-keys-back = Zurück zu den API-Schlüsseln
admin-keys-expired = abgelaufen
admin-keys-revoked-at = widerrufen am { $when }
admin-keys-revoke-confirm = Ja, Laborsysteme mit diesem Schlüssel werden abgewiesen
admin-keys-revoke = Schlüssel { $name } widerrufen

admin-settings-title = Einstellungen der Einrichtung
admin-settings-time-zone = Zeitzone
admin-settings-time-zone-help = Datum und Uhrzeit werden auf den Seiten der Einrichtung in dieser Zeitzone angezeigt.
admin-settings-save = Speichern
admin-settings-saved = Die Einstellungen wurden gespeichert.

admin-invitation-title = Passwort festlegen
admin-invitation-intro = Wählen Sie ein Passwort mit mindestens { $min } Zeichen. Gut geeignet ist ein langer Satz, den Sie sich merken können.
admin-invitation-password = Neues Passwort
admin-invitation-repeat = Passwort wiederholen
admin-invitation-submit = Passwort festlegen
admin-invitation-done = Ihr Passwort ist festgelegt. Sie können sich jetzt anmelden.
admin-invitation-to-login = Zur Anmeldung
admin-invitation-invalid = Dieser Einladungslink funktioniert nicht: Er wurde vielleicht schon verwendet oder ist abgelaufen. Bitten Sie die Administration Ihrer Einrichtung um eine neue Einladung.
