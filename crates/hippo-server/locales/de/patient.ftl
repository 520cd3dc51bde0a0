# Texts of the patient area (de).
patient-findings-title = Meine Befunde
patient-findings-empty = Für Sie wurden noch keine Befunde freigegeben.
patient-findings-caption = Neueste zuerst. Befunde, die Sie noch nicht geöffnet haben, sind als „neu“ markiert.
patient-findings-date = Datum
patient-findings-finding = Befund
patient-findings-facility = Einrichtung
patient-findings-outside = Werte außerhalb des Referenzbereichs
patient-findings-none-outside = keine
patient-findings-new = neu

patient-finding-back-to-patient = Patient
patient-finding-pdf-view = Befundbericht ansehen (PDF)
patient-finding-pdf-download = Befundbericht herunterladen (PDF)
patient-finding-no-values = Dieser Befund enthält keine strukturierten Werte; bitte sehen Sie in den PDF-Bericht.
patient-finding-values-caption = Werte dieses Befunds
patient-finding-test = Untersuchung
patient-finding-result = Ergebnis
patient-finding-unit = Einheit
patient-finding-range = Referenzbereich
patient-finding-flag = Kennzeichen
patient-finding-outside-range = außerhalb des Referenzbereichs
patient-finding-flag-legend = Mit H gekennzeichnete Werte liegen über, mit L gekennzeichnete unter dem Referenzbereich; A bedeutet auffällig. Bitte besprechen Sie Ihre Ergebnisse mit Ihrer Einrichtung.

patient-trend-heading = Ihre Werte im Verlauf
patient-trend-legend = Das schattierte Band ist der Referenzbereich. Kreise sind Werte innerhalb, Dreiecke Werte außerhalb davon (Spitze oben: darüber, Spitze unten: darunter). Dieselben Werte stehen in der Tabelle unter jedem Diagramm.
patient-trend-chart-title = { $analyte }: Verlauf von { $count } Werten
patient-trend-table-caption = { $analyte }: alle Ihre Werte
patient-trend-assessment = Bewertung
patient-trend-within-range = im Referenzbereich
patient-trend-this-finding = dieser Befund
