# Texts of the sessions area (de): eigene Sitzungen, abgelaufene Sitzungen.
sessions-nav = Sitzungen
sessions-title = Ihre Sitzungen
sessions-intro = Hier sind Sie derzeit angemeldet. Beenden Sie jede Sitzung, die Sie nicht kennen, und ändern Sie Ihr Passwort.
sessions-col-device = Gerät
sessions-col-network = Netz
sessions-col-surface = Zugang
sessions-col-created = Angemeldet
sessions-col-last-seen = Zuletzt aktiv
sessions-col-action = Aktion
sessions-current = diese Sitzung
sessions-surface-web = Browser
sessions-surface-api = API
sessions-revoke = Sitzung auf { $device } beenden
sessions-revoke-others = Überall sonst abmelden
sessions-revoked-notice = Die Sitzung wurde beendet.
sessions-expired-notice = Ihre Sitzung ist abgelaufen. Bitte melden Sie sich erneut an.
