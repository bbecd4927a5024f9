#!/usr/bin/python3
"""Independent check of what the published binary put on MQTT (run by smoke-test.sh).

Reads mosquitto_sub -v output (topic, space, payload per line), validates every message against the
JSON Schemas in docs/schemas with python3-jsonschema, and checks each result's label against the
ground truth in models/samples/labels/orientation.tsv. Prints one TAP-style line per check.
"""
import json
import sys

import jsonschema

messages_file, results_expected, root = sys.argv[1], int(sys.argv[2]), sys.argv[3]
schemas = {name: json.load(open(f"{root}/docs/schemas/{name}.v1.schema.json")) for name in ("result", "status")}
truth = dict(
    line.rstrip("\n").split("\t")
    for line in open(f"{root}/models/samples/labels/orientation.tsv")
    if line.strip() and not line.startswith("#")
)

failures = 0


def check(ok, name):
    global failures
    print(("ok - " if ok else "not ok - ") + name)
    failures += 0 if ok else 1


results, statuses = [], []
for line in open(messages_file):
    topic, _, payload = line.rstrip("\n").partition(" ")
    doc = json.loads(payload)
    kind = "result" if topic.endswith("/result") else "status"
    try:
        jsonschema.validate(doc, schemas[kind], format_checker=jsonschema.FormatChecker())
        valid = True
    except jsonschema.ValidationError as e:
        valid = False
        print(f"# {topic}: {e.message}")
    (results if kind == "result" else statuses).append((topic, doc, valid))

check(len(results) >= results_expected, f"received {len(results)} results (expected at least {results_expected})")
check(all(v for _, _, v in results), "every result message validates against docs/schemas/result.v1.schema.json")
check(all(v for _, _, v in statuses), "every status message validates against docs/schemas/status.v1.schema.json")
wrong = [(d["sourceItem"], d["result"]["label"]) for _, d, _ in results if truth.get(d["sourceItem"]) != d["result"]["label"]]
check(not wrong, f"upright labels come back as 0 and upside-down ones as 180 ({len(results) - len(wrong)}/{len(results)} right{': wrong ' + str(wrong[:3]) if wrong else ''})")
upright = sum(1 for _, d, _ in results if truth.get(d["sourceItem"]) == "0")
check(0 < upright < len(results), f"both orientations were seen ({upright} upright, {len(results) - upright} upside down)")
seqs = [d["seq"] for _, d, _ in results]
check(seqs == list(range(seqs[0], seqs[0] + len(seqs))), "result sequence numbers rise by one with no gap")
check(statuses and statuses[0][1]["state"] == "online", "first status message is 'online'")
sys.exit(1 if failures else 0)
