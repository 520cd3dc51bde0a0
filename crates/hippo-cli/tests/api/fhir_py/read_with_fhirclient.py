"""Read the demo data through fhirclient (SMART on FHIR's Python client,
PyPI): one Patient by ID, and a DiagnosticReport search followed through
its next links. Prints what it read as JSON for the Rust test to compare
with the JSON API. Arguments: base URL, bearer token, patient ID."""

import json
import sys

from fhirclient import client
from fhirclient.models.diagnosticreport import DiagnosticReport
from fhirclient.models.patient import Patient


def main(base, token, patient_id):
    smart = client.FHIRClient(settings={"app_id": "hippo-interop", "api_base": base})
    # A bearer token obtained elsewhere (Hippo's API login): fhirclient's
    # requests session carries it on every call.
    smart.server.session.headers["Authorization"] = f"Bearer {token}"
    patient = Patient.read(patient_id, smart.server)
    search = DiagnosticReport.where(
        struct={"patient": patient_id, "_sort": "-date", "_count": "2"}
    )
    reports = list(search.perform_resources_iter(smart.server))
    print(
        json.dumps(
            {
                "patient": {
                    "id": patient.id,
                    "family": patient.name[0].family,
                    "given": patient.name[0].given,
                    "birthDate": patient.birthDate.isostring,
                },
                "reports": [
                    {
                        "id": r.id,
                        "status": r.status,
                        "title": r.code.text,
                        "subject": r.subject.reference,
                        "results": len(r.result or []),
                    }
                    for r in reports
                ],
            }
        )
    )


if __name__ == "__main__":
    main(*sys.argv[1:4])
