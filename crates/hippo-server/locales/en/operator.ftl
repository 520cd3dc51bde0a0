# Texts of the operator area (en).
operator-col-facility = Facility
operator-col-kind = Kind
operator-col-since = Since
operator-col-staff = Staff
operator-col-patients = Patients
operator-col-status = Status
operator-col-patient-record = Patient record (ID)
operator-col-accesses = Accesses
operator-col-first = First
operator-col-last = Last
operator-col-actors = Actors
operator-col-actor = Actor
operator-col-time = Time
operator-col-action = Action
operator-col-route = Route
operator-col-tenant = Tenant
operator-col-outcome = Outcome
operator-col-build = Build
operator-col-raised = Raised
operator-col-rule = Rule
operator-col-count = Count
operator-col-detail = Detail
operator-col-incident = Incident
operator-col-service = Service
operator-col-scope = Scope
operator-col-state = State
operator-col-reason = Reason (internal)
operator-col-user-message = Message for users
operator-col-changed = Changed
operator-col-requested-by = Requested by
operator-col-when = When
operator-col-title = Title
operator-col-detected = Aware since
operator-col-deadline = Notify authority by
operator-col-clock = Time left
operator-col-affected = Affected

operator-kind-lab = Laboratory
operator-kind-practice = Practice
operator-kind-test-centre = Test centre

operator-tenants-title = Tenants
operator-tenants-intro = Facility metadata and head counts. Operators never see patients' names, findings or values here.
operator-tenants-active = active
operator-tenants-deleted = deleted { $when }, data key destroyed

operator-switches-title = Service switches
operator-switches-intro = A service that is off answers users with a maintenance page (web) or 503 (API), showing your message for users, never the internal reason. Changes take effect on every instance within seconds. This instance enforces version { $version }.
operator-switches-stale = It cannot read the switches since { $since } and keeps the last known state.
operator-switches-scope-everywhere = everywhere
operator-switches-scope-tenant = tenant { $tenant }
operator-switches-on = on
operator-switches-off = off
operator-switches-changed = { $when } by { $who }
operator-switches-all-on = Every service is on everywhere.
operator-switches-pending = Waiting for a second operator
operator-switches-change = Change a switch
operator-switches-four-eyes = Four-eyes: turning a service back on everywhere takes a second operator sending the same change.
operator-switches-tenant-id = Tenant ID (empty: everywhere)
operator-switches-reason-field = Reason (internal, required)
operator-switches-message-field = Message for users (optional)
operator-switches-apply = Apply

operator-forensics-title = Who accessed what
operator-forensics-intro = Every access recorded in the audit log, by patient record, actor, facility, route and time. Records name pseudonymous IDs only, never names or values. Every search names its purpose and is itself recorded.
operator-forensics-purpose = Purpose of this search (required)
operator-forensics-purpose-help = Name the incident this search serves, or give a reason of at least 10 characters (for example a ticket number and what you check).
operator-forensics-incident = Incident ID
operator-forensics-reason = Reason
operator-forensics-from = From (RFC 3339)
operator-forensics-to = To (RFC 3339)
operator-forensics-actor = Actor ID
operator-forensics-patient = Patient record ID
operator-forensics-tenant = Tenant ID
operator-forensics-routes = Routes (comma-separated)
operator-forensics-search = Search
operator-forensics-blast-radius = Blast radius
operator-forensics-unauthorised = { $count ->
    [one] One access in this selection by someone who was neither the patient's own account nor staff of the patient's facility.
   *[other] { $count } accesses in this selection by someone who was neither the patient's own account nor staff of the patient's facility.
}
operator-forensics-accesses = Accesses
operator-forensics-total = { $count ->
    [one] One access in total.
   *[other] { $count } accesses in total.
}
operator-forensics-timeline-title = Timeline of the { $count } accesses on this page, one lane per action
operator-forensics-timeline-caption = One lane per action; filled marks were answered, hollow ones refused. The table below lists the same accesses.
operator-forensics-table-caption = The accesses of the timeline
operator-forensics-none = No accesses in this selection.
operator-forensics-next-page = Next page of accesses

operator-alerts-title = Security alerts
operator-alerts-intro = Raised by the anomaly rules over the audit log: decoy patients touched, counted-up identifiers, bursts of refused lookups, one actor touching many patients. Open an incident to start the 72-hour clock.
operator-alerts-none = No alerts.
operator-alerts-open-incident = Open incident
operator-rule-honeytoken = Decoy patient touched
operator-rule-many-patients = One actor, many patients
operator-rule-refused-burst = Burst of refused lookups
operator-rule-sequential-probing = Sequential probing

operator-incidents-title = Incidents
operator-incidents-intro = GDPR Art. 33: the supervisory authority must be notified within 72 hours of becoming aware of a breach. The clock below counts from the time of awareness; times are in your time zone.
operator-incidents-none = No incidents.
operator-incidents-opened = Incident opened; the 72-hour clock is running.
operator-incidents-left = { $hours } h { $minutes } min left
operator-incidents-overdue = overdue by { $hours } h { $minutes } min
operator-incidents-affected = { $patients } patient records in { $tenants } tenants
operator-incidents-from-alert = Alert: { $rule }
operator-incidents-search = Search its accesses
operator-nav-incidents = Incidents
