#!/usr/bin/python3
"""Aureus Sentinel approvals subscriber (Python): reads sentinel.approvals, decodes each Avro record
through the schema registry, and verifies the signed approval per docs/approval-format.md with the
published public keys (the compacted sentinel.signing-keys topic, or the signer's GET /public-key).

    subscriber.py --vectors test/vectors/approvals/vectors.json      # the published test vectors
    subscriber.py --bootstrap 127.0.0.1:19092 \\
        --registry http://127.0.0.1:18081/apis/ccompat/v7 [--prefix TOPIC_PREFIX] [--until-end]

One JSON line per approval on stdout; a summary on stderr. Exit 0 when everything verified,
3 when an approval (or a vector) was refused, 1 on errors. Needs the Debian packages
python3-confluent-kafka, python3-avro and python3-nacl (see docs/subscribers.md).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.request
from typing import Callable, Optional

import aureus_verify as av
from wire import Registry, WireError

ACTION_BRANCHES = {
    "dev.aureus.sentinel.action.TransferAction": "transfer",
    "dev.aureus.sentinel.action.MessageSendAction": "message_send",
    "dev.aureus.sentinel.action.CommandRunAction": "command_run",
    "dev.aureus.sentinel.action.ToolCallAction": "tool_call",
}


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# Test vectors

def run_vectors(path: str) -> int:
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    registries = {name: av.registry_from_jwks(ks) for name, ks in doc["keySets"].items()}
    failures = 0
    for v in doc["vectors"]:
        settings = {**doc["verifier"], **(v.get("verifier") or {})}
        seen = set(v.get("seenApprovalIds") or [])
        event = v["event"]
        inp = av.VerifyInput(
            registry=registries[v["keySet"]], now=v["now"], audience=settings["audience"], action=event["action"],
            intent_id=event["intentId"], decision_id=event["decisionId"], approval_id=event.get("approvalId"),
            issuers=settings.get("issuers"), clock_skew_ms=settings["clockSkewMs"], max_ttl_ms=settings["maxTtlMs"],
            seen=lambda approval_id, seen=seen: approval_id in seen,
        )
        verdict = av.verify_approval_json(inp, v["envelope"])
        expected = v["expected"]
        if expected["ok"]:
            passed = verdict.ok
        else:
            passed = not verdict.ok and verdict.code == expected["code"] and verdict.check == expected["check"]
        if "intermediate" in v and verdict.ok:
            inter = v["intermediate"]
            passed = passed and av.canonicalize(event["action"]) == inter["actionCanonical"] and av.action_digest(event["action"]) == inter["actionDigest"]
        failures += 0 if passed else 1
        print(json.dumps({"vector": v["id"], "passed": passed, "expected": expected, "got": verdict.as_dict()}), flush=True)
    total = len(doc["vectors"])
    log(f"vectors: {total - failures}/{total} passed ({sum(1 for v in doc['vectors'] if v['expected']['ok'])} valid accepted, "
        f"{sum(1 for v in doc['vectors'] if not v['expected']['ok'])} invalid rejected with the expected code)")
    return 0 if failures == 0 else 3


# ---------------------------------------------------------------------------------------------
# Kafka

def _consumer(bootstrap: str, client_id: str):
    from confluent_kafka import Consumer

    return Consumer({
        "bootstrap.servers": bootstrap,
        "client.id": client_id,
        # librdkafka wants a group id, but partitions are assigned by hand (assign()): no group is
        # joined and nothing is committed, so live consumer groups are never disturbed.
        "group.id": f"{client_id}-unjoined",
        "enable.auto.commit": False,
        "enable.auto.offset.store": False,
        "isolation.level": "read_committed",
        "enable.partition.eof": True,
        "auto.offset.reset": "earliest",
    })


def read_topic(bootstrap: str, topic: str, on_message: Callable, *, from_beginning: bool, until_end: bool, timeout: float, stop: Callable[[], bool] = lambda: False) -> None:
    """Reads every partition of `topic` by manual assignment; with until_end, stops at the end offsets seen at start."""
    from confluent_kafka import OFFSET_BEGINNING, OFFSET_END, KafkaError, TopicPartition

    consumer = _consumer(bootstrap, "aureus-python-subscriber")
    try:
        metadata = consumer.list_topics(topic, timeout=10)
        described = metadata.topics.get(topic)
        if described is None or described.error is not None:
            raise RuntimeError(f"topic {topic} not found: {described.error if described else 'no metadata'}")
        partitions = sorted(described.partitions)
        remaining = set()
        for p in partitions:
            low, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
            if high > (low if from_beginning else high):
                remaining.add(p)
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING if from_beginning else OFFSET_END) for p in partitions])
        deadline = time.monotonic() + timeout
        while not stop():
            if until_end and not remaining:
                return
            if time.monotonic() > deadline:
                if until_end:
                    raise TimeoutError(f"did not reach the end of {topic} within {timeout} s")
                return
            message = consumer.poll(0.5)
            if message is None:
                continue
            if message.error() is not None:
                if message.error().code() == KafkaError._PARTITION_EOF:
                    remaining.discard(message.partition())
                    continue
                raise RuntimeError(str(message.error()))
            on_message(message)
    finally:
        consumer.close()


def load_keys_from_topic(bootstrap: str, registry: Registry, topic: str, timeout: float) -> av.KeyRegistry:
    records = []

    def on_message(message) -> None:
        if message.value() is None:
            return  # a tombstone deletes nothing from a key set
        try:
            records.append(av.key_record_from_avro(registry.decode(message.value(), "dev.aureus.sentinel.SigningKeyPublished")))
        except (WireError, av.KeyError_, KeyError) as error:
            log(f"signing-key record at {message.partition()}@{message.offset()} ignored: {error}")

    read_topic(bootstrap, topic, on_message, from_beginning=True, until_end=True, timeout=timeout)
    keys = av.KeyRegistry()
    for record, why in keys.register_all(records):
        log(f"signing key {record.key_id} refused: {why}")
    return keys


def load_keys_from_url(url: str) -> av.KeyRegistry:
    with urllib.request.urlopen(url, timeout=10) as response:
        document = json.loads(response.read().decode("utf-8"))
    keys = av.KeyRegistry()
    for record, why in keys.register_all(av.key_record_from_jwk(j) for j in document["keys"]):
        log(f"signing key {record.key_id} refused: {why}")
    return keys


def action_from_avro(wrapped: dict) -> dict:
    (branch, fields), = wrapped.items()
    if branch not in ACTION_BRANCHES:
        raise WireError(f"unknown action branch {branch}")
    return {"type": ACTION_BRANCHES[branch], **fields}


def run_subscriber(args: argparse.Namespace) -> int:
    registry = Registry(args.registry)
    approvals_topic = args.topic or f"{args.prefix}sentinel.approvals"
    keys_topic = args.keys_topic or f"{args.prefix}sentinel.signing-keys"

    def fresh_keys() -> av.KeyRegistry:
        return load_keys_from_url(args.public_key_url) if args.public_key_url else load_keys_from_topic(args.bootstrap, registry, keys_topic, args.timeout)

    keys = fresh_keys()
    log(f"{len(keys.keys)} signing key(s) loaded from {args.public_key_url or keys_topic}")
    counts = {"valid": 0, "refused": 0, "undecodable": 0, "duplicate": 0}
    seen: dict = {}
    refreshed_for: set = set()

    def on_message(message) -> None:
        nonlocal keys
        where = {"partition": message.partition(), "offset": message.offset()}
        try:
            record = registry.decode(message.value(), "dev.aureus.sentinel.ApprovalSigned")
            action = action_from_avro(record["action"])
            env = record["envelope"]
            envelope = av.Envelope(env["payloadType"], bytes(env["payload"]), [(s["keyid"], bytes(s["sig"])) for s in env["signatures"]])
        except (WireError, KeyError, TypeError, ValueError) as error:
            counts["undecodable"] += 1
            print(json.dumps({**where, "ok": False, "code": "UNDECODABLE", "reason": str(error)}), flush=True)
            return
        now = message.timestamp()[1] if args.at_record_time else int(time.time() * 1000)

        def verify() -> av.Verdict:
            return av.verify_approval(av.VerifyInput(
                registry=keys, now=now, audience=args.audience, action=action, intent_id=record["intentId"],
                decision_id=record["decisionId"], approval_id=record["approvalId"], issuers=args.issuer or None,
                clock_skew_ms=args.clock_skew_ms, max_ttl_ms=args.max_ttl_ms,
                seen=(lambda approval_id: approval_id in seen) if args.enforce_single_use else (lambda _id: False),
            ), envelope)

        verdict = verify()
        keyid = envelope.signatures[0][0] if envelope.signatures else None
        if not verdict.ok and verdict.code == "SNT_APPROVAL_KEY_UNKNOWN" and keyid not in refreshed_for:
            refreshed_for.add(keyid)  # a key published moments ago: read the key set again, once per key id
            keys = fresh_keys()
            verdict = verify()
        duplicate = verdict.ok and record["approvalId"] in seen
        if verdict.ok:
            seen[record["approvalId"]] = envelope.payload
            counts["valid"] += 1
            counts["duplicate"] += 1 if duplicate else 0
        else:
            counts["refused"] += 1
        print(json.dumps({**where, "approvalId": record["approvalId"], "intentId": record["intentId"], **verdict.as_dict(), **({"duplicate": True} if duplicate else {})}), flush=True)

    read_topic(args.bootstrap, approvals_topic, on_message, from_beginning=not args.latest, until_end=args.until_end, timeout=args.timeout,
               stop=lambda: args.max_records is not None and counts["valid"] + counts["refused"] + counts["undecodable"] >= args.max_records)
    redelivered = f", {counts['duplicate']} re-delivered" if counts["duplicate"] else ""
    log(f"approvals: {counts['valid']} verified, {counts['refused']} refused, {counts['undecodable']} undecodable{redelivered}"
        f" (registry calls: {registry.requests})")
    return 0 if counts["refused"] == 0 and counts["undecodable"] == 0 else 3


def main(argv: Optional[list] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--vectors", help="run the published test vectors from this file and exit")
    parser.add_argument("--bootstrap", default="127.0.0.1:19092", help="Kafka bootstrap servers")
    parser.add_argument("--registry", default="http://127.0.0.1:18081/apis/ccompat/v7", help="Confluent-compatible schema registry URL")
    parser.add_argument("--prefix", default="", help="TOPIC_PREFIX of the deployment")
    parser.add_argument("--topic", help="approvals topic (default <prefix>sentinel.approvals)")
    parser.add_argument("--keys-topic", help="signing-keys topic (default <prefix>sentinel.signing-keys)")
    parser.add_argument("--public-key-url", help="take the key set from the signer's GET /public-key instead of the topic")
    parser.add_argument("--audience", default="aureus-executor", help="the audience approvals are addressed to")
    parser.add_argument("--issuer", action="append", help="accepted issuer (repeat); default any")
    parser.add_argument("--clock-skew-ms", type=int, default=av.DEFAULT_CLOCK_SKEW_MS)
    parser.add_argument("--max-ttl-ms", type=int, default=av.DEFAULT_MAX_TTL_MS)
    parser.add_argument("--latest", action="store_true", help="only approvals published from now on")
    parser.add_argument("--until-end", action="store_true", help="stop at the end of the topic (as it was at start)")
    parser.add_argument("--max-records", type=int, help="stop after this many approvals")
    parser.add_argument("--timeout", type=float, default=3600.0, help="seconds before giving up (or stopping, without --until-end)")
    parser.add_argument("--at-record-time", action="store_true", help="audit history: verify as of each record's timestamp, not now")
    parser.add_argument("--enforce-single-use", action="store_true", help="refuse a second approval with an id already seen (SNT_APPROVAL_REPLAYED)")
    args = parser.parse_args(argv)
    if args.vectors:
        return run_vectors(args.vectors)
    return run_subscriber(args)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as error:  # noqa: BLE001 - a CLI reports and exits
        log(f"subscriber: {type(error).__name__}: {error}")
        sys.exit(1)
