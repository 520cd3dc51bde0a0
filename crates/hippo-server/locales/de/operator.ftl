# Texts of the operator area (de).
operator-col-facility = Einrichtung
operator-col-kind = Art
operator-col-since = Seit
operator-col-staff = Mitarbeitende
operator-col-patients = Patientinnen und Patienten
operator-col-status = Status
operator-col-patient-record = Patientendatensatz (ID)
operator-col-accesses = Zugriffe
operator-col-first = Erster
operator-col-last = Letzter
operator-col-actors = Handelnde
operator-col-actor = Handelnde Person
operator-col-time = Zeit
operator-col-action = Aktion
operator-col-route = Route
operator-col-tenant = Mandant
operator-col-outcome = Ergebnis
operator-col-build = Version
operator-col-raised = Ausgelöst
operator-col-rule = Regel
operator-col-count = Anzahl
operator-col-detail = Details
operator-col-incident = Vorfall
operator-col-service = Dienst
operator-col-scope = Geltungsbereich
operator-col-state = Zustand
operator-col-reason = Grund (intern)
operator-col-user-message = Hinweis für Nutzer
operator-col-changed = Geändert
operator-col-requested-by = Angefordert von
operator-col-when = Wann
operator-col-title = Titel
operator-col-detected = Bekannt seit
operator-col-deadline = Meldung an die Behörde bis
operator-col-clock = Verbleibende Zeit
operator-col-affected = Betroffen

operator-kind-lab = Labor
operator-kind-practice = Praxis
operator-kind-test-centre = Testzentrum

operator-tenants-title = Mandanten
operator-tenants-intro = Stammdaten und Anzahlen der Einrichtungen. Namen, Befunde oder Werte von Patientinnen und Patienten sehen Betreiber hier nie.
operator-tenants-active = aktiv
operator-tenants-deleted = gelöscht am { $when }, Datenschlüssel vernichtet

operator-switches-title = Dienstschalter
operator-switches-intro = Ein abgeschalteter Dienst zeigt Nutzern eine Wartungsseite (Web) oder antwortet mit 503 (API) und zeigt Ihren Hinweis für Nutzer, nie den internen Grund. Änderungen wirken innerhalb von Sekunden auf allen Instanzen. Diese Instanz setzt Version { $version } durch.
operator-switches-stale = Sie kann die Schalter seit { $since } nicht lesen und behält den zuletzt bekannten Zustand.
operator-switches-scope-everywhere = überall
operator-switches-scope-tenant = Mandant { $tenant }
operator-switches-on = an
operator-switches-off = aus
operator-switches-changed = { $when } von { $who }
operator-switches-all-on = Alle Dienste sind überall eingeschaltet.
operator-switches-pending = Wartet auf einen zweiten Betreiber
operator-switches-change = Schalter ändern
operator-switches-four-eyes = Vier-Augen-Prinzip: Einen Dienst überall wieder einzuschalten erfordert, dass ein zweiter Betreiber dieselbe Änderung sendet.
operator-switches-tenant-id = Mandanten-ID (leer: überall)
operator-switches-reason-field = Grund (intern, Pflichtfeld)
operator-switches-message-field = Hinweis für Nutzer (optional)
operator-switches-apply = Übernehmen

operator-forensics-title = Wer hat worauf zugegriffen
operator-forensics-intro = Jeder im Audit-Log erfasste Zugriff, nach Patientendatensatz, handelnder Person, Einrichtung, Route und Zeit. Die Einträge nennen nur pseudonyme IDs, nie Namen oder Werte. Jede Suche nennt ihren Zweck und wird selbst protokolliert.
operator-forensics-purpose = Zweck dieser Suche (Pflichtangabe)
operator-forensics-purpose-help = Nennen Sie den Vorfall, dem diese Suche dient, oder einen Grund mit mindestens 10 Zeichen (zum Beispiel Ticketnummer und was Sie prüfen).
operator-forensics-incident = Vorfall-ID
operator-forensics-reason = Grund
operator-forensics-from = Von (RFC 3339)
operator-forensics-to = Bis (RFC 3339)
operator-forensics-actor = ID der handelnden Person
operator-forensics-patient = ID des Patientendatensatzes
operator-forensics-tenant = Mandanten-ID
operator-forensics-routes = Routen (durch Komma getrennt)
operator-forensics-search = Suchen
operator-forensics-blast-radius = Ausmaß
operator-forensics-unauthorised = { $count ->
    [one] Ein Zugriff in dieser Auswahl durch jemanden, der weder das eigene Konto der Patientin bzw. des Patienten noch Personal ihrer Einrichtung war.
   *[other] { $count } Zugriffe in dieser Auswahl durch jemanden, der weder das eigene Konto der Patientin bzw. des Patienten noch Personal ihrer Einrichtung war.
}
operator-forensics-accesses = Zugriffe
operator-forensics-total = { $count ->
    [one] Ein Zugriff insgesamt.
   *[other] { $count } Zugriffe insgesamt.
}
operator-forensics-timeline-title = Zeitleiste der { $count } Zugriffe auf dieser Seite, eine Spur je Aktion
operator-forensics-timeline-caption = Eine Spur je Aktion; gefüllte Punkte wurden beantwortet, hohle abgewiesen. Die Tabelle darunter listet dieselben Zugriffe.
operator-forensics-table-caption = Die Zugriffe der Zeitleiste
operator-forensics-none = Keine Zugriffe in dieser Auswahl.
operator-forensics-next-page = Nächste Seite der Zugriffe

operator-alerts-title = Sicherheitswarnungen
operator-alerts-intro = Ausgelöst von den Anomalieregeln über das Audit-Log: Köder-Patienten berührt, hochgezählte Kennungen, gehäufte abgewiesene Abfragen, eine Person greift auf viele Patienten zu. Eröffnen Sie einen Vorfall, um die 72-Stunden-Frist zu starten.
operator-alerts-none = Keine Warnungen.
operator-alerts-open-incident = Vorfall eröffnen
operator-rule-honeytoken = Köder-Patient berührt
operator-rule-many-patients = Eine Person, viele Patienten
operator-rule-refused-burst = Gehäufte abgewiesene Abfragen
operator-rule-sequential-probing = Hochzählen von Kennungen

operator-incidents-title = Vorfälle
operator-incidents-intro = Art. 33 DSGVO: Die Aufsichtsbehörde ist binnen 72 Stunden, nachdem die Verletzung bekannt wurde, zu benachrichtigen. Die Frist zählt ab diesem Zeitpunkt; Zeiten in Ihrer Zeitzone.
operator-incidents-none = Keine Vorfälle.
operator-incidents-opened = Vorfall eröffnet; die 72-Stunden-Frist läuft.
operator-incidents-left = noch { $hours } Std. { $minutes } Min.
operator-incidents-overdue = seit { $hours } Std. { $minutes } Min. überfällig
operator-incidents-affected = { $patients } Patientendatensätze bei { $tenants } Mandanten
operator-incidents-from-alert = Warnung: { $rule }
operator-incidents-search = Zugriffe durchsuchen
operator-nav-incidents = Vorfälle
