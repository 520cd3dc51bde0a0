# Texts of the password area (de): reset and lockout.
password-forgot-link = Passwort vergessen?
password-forgot-title = Passwort zurücksetzen
password-forgot-intro = Geben Sie die E-Mail-Adresse Ihres Kontos ein. Wir senden Ihnen einen Link, mit dem Sie ein neues Passwort festlegen können.
password-forgot-email = E-Mail-Adresse
password-forgot-submit = Link senden
password-forgot-sent = Falls zu dieser Adresse ein Konto besteht, haben wir einen Link dorthin gesendet. Der Link gilt einmal und 30 Minuten lang.
password-back-to-login = Zurück zur Anmeldung
password-reset-title = Neues Passwort festlegen
password-reset-intro = Wählen Sie ein neues Passwort mit mindestens 12 Zeichen. Alle Ihre Sitzungen werden beendet; Ihr zweiter Faktor bleibt bestehen.
password-reset-new = Neues Passwort
password-reset-repeat = Neues Passwort wiederholen
password-reset-submit = Passwort festlegen
password-reset-done = Ihr Passwort wurde geändert, und alle Ihre Sitzungen wurden beendet. Bitte melden Sie sich erneut an.
password-reset-differ = Die beiden Passwörter stimmen nicht überein.
password-reset-too-short = Das Passwort muss mindestens { $min } Zeichen haben.
password-reset-invalid-token = Dieser Link ist unbekannt, wurde bereits verwendet oder ist abgelaufen. Bitte fordern Sie einen neuen an.
# Der Fehlertext des eigenen Fehlercodes (`invalid_reset_token`): bei den
# Texten des Zurücksetzens, da nur dieser Bereich ihn auslöst.
error-invalid_reset_token = Dieser Link ist unbekannt, wurde bereits verwendet oder ist abgelaufen. Bitte fordern Sie einen neuen an.
