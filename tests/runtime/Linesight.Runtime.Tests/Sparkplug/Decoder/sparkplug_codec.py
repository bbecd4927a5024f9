"""Sparkplug B codec for the tests, on python3-protobuf and the tests' own copy of the schema.

Usage: sparkplug_codec.py MODULE_DIR decode | sparkplug_codec.py MODULE_DIR encode OUT_FILE

decode: reads lines "<topic> <qos> <retain> <hex payload>" (mosquitto_sub -F '%t %q %r %x') from stdin and
        prints one JSON object per line: topic, qos, retain and the decoded payload (or "error").
encode: reads one JSON payload description from stdin and writes the protobuf bytes to OUT_FILE.
        {"timestamp": ms, "metrics": [{"name"?, "alias"?, "datatype"?, "is_null"?, "<value field>": value}]}
"""
import json
import sys

sys.path.insert(0, sys.argv[1])
import sparkplug_b_pb2  # noqa: E402  (compiled into argv[1] by protoc at test time)


def metric_to_dict(m):
    d = {}
    for field in ("name", "alias", "timestamp", "datatype", "is_historical", "is_transient", "is_null"):
        if m.HasField(field):
            d[field] = getattr(m, field)
    which = m.WhichOneof("value")
    if which is not None:
        d["value_field"] = which
        value = getattr(m, which)
        d["value"] = value.hex() if isinstance(value, bytes) else value if isinstance(value, (bool, int, float, str)) else str(value)
    return d


def decode():
    for line in sys.stdin:
        line = line.rstrip("\n")
        if not line:
            continue
        topic, qos, retain, payload_hex = (line.split(" ", 3) + [""])[:4]
        out = {"topic": topic, "qos": int(qos), "retain": retain == "1"}
        try:
            p = sparkplug_b_pb2.Payload()
            p.ParseFromString(bytes.fromhex(payload_hex))
            payload = {"metrics": [metric_to_dict(m) for m in p.metrics]}
            if p.HasField("timestamp"):
                payload["timestamp"] = p.timestamp
            if p.HasField("seq"):
                payload["seq"] = p.seq
            out["payload"] = payload
        except Exception as e:  # the test reports what could not be decoded
            out["error"] = f"{type(e).__name__}: {e}"
        print(json.dumps(out), flush=True)


def encode():
    spec = json.load(sys.stdin)
    p = sparkplug_b_pb2.Payload()
    if "timestamp" in spec:
        p.timestamp = spec["timestamp"]
    if "seq" in spec:
        p.seq = spec["seq"]
    for ms in spec.get("metrics", []):
        m = p.metrics.add()
        for key, value in ms.items():
            setattr(m, key, value)
    with open(sys.argv[3], "wb") as f:
        f.write(p.SerializeToString())


if __name__ == "__main__":
    {"decode": decode, "encode": encode}[sys.argv[2]]()
