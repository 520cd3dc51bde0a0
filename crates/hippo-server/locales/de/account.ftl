# Texts of the account area (de).
account-second-factor-title = Zweiter Faktor
account-second-factor-intro = Bitte geben Sie den 6-stelligen Code aus Ihrer Authenticator-App oder einen Ihrer Wiederherstellungscodes ein.
account-second-factor-code = Code
account-second-factor-submit = Bestätigen
account-second-factor-restart = Erneut mit E-Mail-Adresse und Passwort anmelden
account-second-factor-expired = Ihre Anmeldung ist abgelaufen. Bitte geben Sie E-Mail-Adresse und Passwort erneut ein.
account-second-factor-wrong = Der Code ist falsch oder wurde bereits verwendet.
