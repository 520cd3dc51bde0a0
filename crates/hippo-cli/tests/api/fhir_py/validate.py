"""Validate every FHIR resource (one JSON file each) in a directory
against the definitions of fhir.resources (PyPI); exit 1 if any fails.
Run by the Rust test fhir::interop; prints the FHIR version of the
definitions and one line per file.

fhir.resources' models check structure, cardinality and types but not
the codes of required bindings, so those we emit are checked here against
the R4 value sets (they are the same in R4B)."""

import json
import pathlib
import sys

import fhir.resources
from fhir.resources import construct_fhir_element

# (resource type, path of a code) -> the required binding's codes (R4).
REQUIRED = {
    ("Observation", "status"): {"registered", "preliminary", "final", "amended",
                                "corrected", "cancelled", "entered-in-error", "unknown"},
    ("DiagnosticReport", "status"): {"registered", "partial", "preliminary", "final",
                                     "amended", "corrected", "appended", "cancelled",
                                     "entered-in-error", "unknown"},
    ("DocumentReference", "status"): {"current", "superseded", "entered-in-error"},
    ("DocumentReference", "docStatus"): {"preliminary", "final", "amended", "entered-in-error"},
    ("Communication", "status"): {"preparation", "in-progress", "not-done", "on-hold",
                                  "stopped", "completed", "entered-in-error", "unknown"},
    ("Communication", "payload.contentAttachment.contentType"): {"application/pdf", "image/png",
                                                                 "image/jpeg"},
    ("AuditEvent", "action"): {"C", "R", "U", "D", "E"},
    ("AuditEvent", "outcome"): {"0", "4", "8", "12"},
    ("Bundle", "type"): {"searchset"},
    ("CapabilityStatement", "status"): {"draft", "active", "retired", "unknown"},
    ("CapabilityStatement", "kind"): {"instance", "capability", "requirements"},
    ("CapabilityStatement", "fhirVersion"): {"4.0.1"},
    ("Patient", "name.use"): {"usual", "official", "temp", "nickname", "anonymous", "old", "maiden"},
}
ISSUE_SEVERITY = {"fatal", "error", "warning", "information"}
ISSUE_TYPE = {"invalid", "structure", "required", "value", "invariant", "security", "login",
              "unknown", "expired", "forbidden", "suppressed", "processing", "not-supported",
              "duplicate", "multiple-matches", "not-found", "deleted", "too-long",
              "code-invalid", "extension", "too-costly", "business-rule", "conflict",
              "transient", "lock-error", "no-store", "exception", "timeout", "incomplete",
              "throttled", "informational"}
SEARCH_MODE = {"match", "include", "outcome"}
INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"


def values(resource, path):
    items = [resource]
    for part in path.split("."):
        nxt = []
        for item in items:
            value = item.get(part) if isinstance(item, dict) else None
            nxt.extend(value if isinstance(value, list) else [] if value is None else [value])
        items = nxt
    return items


def code_problems(resource):
    kind = resource.get("resourceType")
    problems = []
    for (rtype, path), allowed in REQUIRED.items():
        if rtype == kind:
            problems += [f"{kind}.{path}={v!r}" for v in values(resource, path) if v not in allowed]
    if kind == "OperationOutcome":
        for issue in resource.get("issue", []):
            if issue.get("severity") not in ISSUE_SEVERITY or issue.get("code") not in ISSUE_TYPE:
                problems.append(f"issue {issue!r}")
    if kind == "Observation":
        for coding in values(resource, "interpretation.coding"):
            if coding.get("system") != INTERPRETATION or coding.get("code") not in {"N", "L", "H", "A"}:
                problems.append(f"interpretation {coding!r}")
    if kind == "Bundle":
        for entry in resource.get("entry", []):
            if entry.get("search", {}).get("mode") not in SEARCH_MODE:
                problems.append(f"search mode {entry.get('search')!r}")
            problems += code_problems(entry["resource"])
    return problems


def main(directory):
    print(f"fhir.resources {fhir.resources.__version__}, FHIR {fhir.resources.__fhir_version__}")
    if fhir.resources.__fhir_version__ != "4.0.1":
        # 6.2 and later hold R4B (4.3.0): validating there proves nothing
        # about R4.
        sys.exit(f"these definitions are FHIR {fhir.resources.__fhir_version__}, not R4 (4.0.1)")
    failures = 0
    files = sorted(pathlib.Path(directory).glob("*.json"))
    for path in files:
        data = json.loads(path.read_text(encoding="utf-8"))
        try:
            construct_fhir_element(data["resourceType"], data)
            problems = code_problems(data)
            if problems:
                raise ValueError("codes outside required bindings: " + ", ".join(problems))
            print(f"valid {path.name} {data['resourceType']}")
        except Exception as error:  # any validation error fails the file
            failures += 1
            print(f"INVALID {path.name}: {error}")
    print(f"{len(files)} files, {failures} invalid")
    return 1 if failures or not files else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
