"""Validates FHIR resources against FHIR R4's structures.

Reads a JSON array of resources from the file named, parses each with the
model of its resourceType from fhir.resources 6.1.0 (FHIR 4.0.1): unknown
elements, wrong types, malformed dates, missing required elements and
broken choice types ([x]) are refused. Prints one line per failure and a
count; exits 1 if any failed.
"""

import json
import sys

import fhir.resources
from fhir.resources import get_fhir_model_class

if fhir.resources.__fhir_version__ != "4.0.1":
    sys.exit(f"fhir.resources models FHIR {fhir.resources.__fhir_version__}, not R4 (4.0.1)")

with open(sys.argv[1], encoding="utf-8") as f:
    resources = json.load(f)

failed = 0
for i, resource in enumerate(resources):
    kind = resource.get("resourceType", "?")
    try:
        get_fhir_model_class(kind).parse_obj(resource)
    except Exception as e:  # every failure is reported, not only the first
        failed += 1
        print(f"resource {i} ({kind}): {e}")
print(f"validated {len(resources) - failed} of {len(resources)} resources")
sys.exit(1 if failed else 0)
