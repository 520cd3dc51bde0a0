# Texts of the patient area (en).
patient-findings-title = My findings
patient-findings-empty = No findings have been released to you yet.
patient-findings-caption = Newest first. Findings you have not opened yet are marked "new".
patient-findings-date = Date
patient-findings-finding = Finding
patient-findings-facility = Facility
patient-findings-outside = Values outside the range
patient-findings-none-outside = none
patient-findings-new = new

patient-finding-back-to-patient = Patient
patient-finding-pdf-view = View report (PDF)
patient-finding-pdf-download = Download report (PDF)
patient-finding-no-values = This finding has no structured values; see the PDF.
patient-finding-values-caption = Values of this finding
patient-finding-test = Test
patient-finding-result = Result
patient-finding-unit = Unit
patient-finding-range = Reference range
patient-finding-flag = Flag
patient-finding-outside-range = outside the reference range
patient-finding-flag-legend = Values marked H are above, L below the reference range; A means abnormal. Please discuss your results with your facility.

patient-trend-heading = Your values over time
patient-trend-legend = The shaded band is the reference range. Circles are values within it, triangles values outside it (pointing up: above, down: below). The same values are listed in the table under each chart.
patient-trend-chart-title = { $analyte }: trend of { $count } values
patient-trend-table-caption = { $analyte }: all your values
patient-trend-assessment = Assessment
patient-trend-within-range = within the reference range
patient-trend-this-finding = this finding
